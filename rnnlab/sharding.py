"""Device meshes and shardings: one code path for 1 CPU, 8 GPUs or a TPU pod slice.

A mesh has two axes, `data` and `fsdp`. The batch (and a stream LM's carry, which has
one row per batch row) is split over all devices; parameters are replicated, except
that with `fsdp > 1` every large matrix — and its optimizer moments, which have the same
shape — is split along `fsdp` (FSDP/ZeRO-3 style; XLA inserts the all-gathers). The
train step is `jax.jit` with these shardings in and out (the successor of `pjit`).

Multi-host: `initialize_distributed` calls `jax.distributed.initialize()` (auto-detected
on Cloud TPU and SLURM, or with an explicit coordinator); each process then feeds only its
rows of every global batch, assembled by `jax.make_array_from_process_local_data`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXES = ("data", "fsdp")
BATCH_AXES = AXES  # the batch is split over every device of the mesh


def initialize_distributed(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> None:
    """Joins a multi-process run. With no arguments JAX auto-detects the cluster (Cloud
    TPU pod slices, SLURM, Open MPI); elsewhere give the coordinator's host:port, the
    number of processes and this process's id."""
    jax.distributed.initialize(
        coordinator_address=coordinator_address or None,
        num_processes=num_processes,
        process_id=process_id,
    )


def default_devices() -> list:
    """Every device, except on a single CPU host: there simulated devices share the same
    cores, so data parallelism over them costs collectives and gains nothing."""
    if jax.default_backend() == "cpu" and jax.process_count() == 1:
        return jax.devices()[:1]
    return jax.devices()


def make_mesh(mesh_shape: Sequence[int] | None = None, devices=None) -> Mesh:
    """A (data, fsdp) mesh. `mesh_shape`: () or None = `default_devices()` on `data`;
    (n,) = n-way data parallel; (d, f) = d-way data × f-way FSDP. Sizes may be -1 (the
    rest). With a shape, `devices` defaults to every device."""
    if devices is None:
        devices = jax.devices() if mesh_shape else default_devices()
    n = len(devices)
    shape = list(mesh_shape or (n,))
    if len(shape) == 1:
        shape.append(1)
    if len(shape) != 2:
        raise ValueError(f"mesh_shape has at most 2 axes {AXES}, got {tuple(mesh_shape)}")
    if shape.count(-1) > 1:
        raise ValueError(f"at most one mesh axis may be -1, got {tuple(mesh_shape)}")
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape[shape.index(-1)] = n // known if known and n % known == 0 else 0
    if math.prod(shape) != n or min(shape) < 1:
        raise ValueError(f"mesh_shape {tuple(mesh_shape)} does not use the {n} devices exactly")
    auto = (jax.sharding.AxisType.Auto,) * 2  # compiler-chosen sharding of intermediates
    return jax.make_mesh(tuple(shape), AXES, axis_types=auto, devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) axis split over every device; the rest replicated."""
    return NamedSharding(mesh, P(BATCH_AXES))


def leaf_spec(shape: Sequence[int], fsdp: int, min_size: int) -> P:
    """Replicated, unless FSDP is on and the array is a large matrix: then its largest
    axis that `fsdp` divides is split along `fsdp`."""
    if fsdp <= 1 or len(shape) < 2 or math.prod(shape) < min_size:
        return P()
    for axis in sorted(range(len(shape)), key=lambda a: -shape[a]):
        if shape[axis] % fsdp == 0:
            return P(*[("fsdp" if a == axis else None) for a in range(len(shape))])
    return P()


def state_shardings(state: Mapping[str, Any], mesh: Mesh, fsdp_min_size: int = 2**14):
    """NamedShardings for a train-state dict: `carry` (stream LMs) like the batch, the
    rest by `leaf_spec` (so Adam's moments follow their parameters)."""
    fsdp = mesh.shape["fsdp"]

    def rule(path, leaf):
        if path and getattr(path[0], "key", None) == "carry":
            return batch_sharding(mesh)
        return NamedSharding(mesh, leaf_spec(np.shape(leaf), fsdp, fsdp_min_size))

    return jax.tree_util.tree_map_with_path(rule, state)


def global_batch(local_batch: Mapping[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
    """This process's rows of a global batch -> global arrays sharded over the mesh."""
    sharding = batch_sharding(mesh)
    rows = {v.shape[0] for v in local_batch.values()}
    if len(rows) != 1:
        raise ValueError(f"batch arrays disagree on the number of rows: {sorted(rows)}")
    (local_rows,) = rows
    per_device = local_rows * jax.process_count() / mesh.size
    if per_device != int(per_device):
        raise ValueError(
            f"a global batch of {local_rows * jax.process_count()} rows cannot be split "
            f"evenly over {mesh.size} devices; make the batch size a multiple of {mesh.size}"
        )
    return {
        k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
        for k, v in local_batch.items()
    }
