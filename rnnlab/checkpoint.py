"""Checkpoints: orbax `CheckpointManager` around the train state, data state and metadata.

Each checkpoint step holds three items (`args=ocp.args.Composite(...)`):

    state  the train state pytree (params, optimizer state, step, RNG, LM carry)
    data   the grain iterator's state (JSON), so a resumed run sees the same batches
    meta   the model spec and loop bookkeeping (best dev metric so far), JSON

One manager keeps the latest few (resume), another the one with the best dev metric
(model selection); where they live in a run's folder is rnnlab.runs's business. Saving
is synchronous: a run that is told to stop (SIGTERM) has its checkpoint on disk before
it exits.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp
from etils import epath

ITEMS = ("state", "data", "meta")


def _manager(directory: str, max_to_keep: int) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False
    )
    return ocp.CheckpointManager(os.path.abspath(directory), options=options, item_names=ITEMS)


class Checkpointer:
    """The latest checkpoints (for resuming) and the best one (for evaluation)."""

    def __init__(self, latest_dir: str, best_dir: str, max_to_keep: int = 2):
        self.latest = _manager(latest_dir, max_to_keep)
        self.best = _manager(best_dir, 1)

    def save(self, state: dict, data: dict, meta: dict, *, best: bool = False) -> None:
        step = int(state["step"])
        manager = self.best if best else self.latest
        if manager.latest_step() == step:
            return
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=ocp.args.JsonSave(data),
            meta=ocp.args.JsonSave(meta),
        )
        manager.save(step, args=args, force=True)
        manager.wait_until_finished()

    def restore(self, like_state: dict, *, best: bool = False) -> tuple[dict, dict, dict] | None:
        """(state, data, meta) of the latest (or best) checkpoint; None if there is none.

        `like_state` gives the tree structure, shapes and dtypes to restore into.
        """
        manager = self.best if best else self.latest
        step = manager.latest_step()
        if step is None:
            return None
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like_state)
        out = manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract),
                data=ocp.args.JsonRestore(),
                meta=ocp.args.JsonRestore(),
            ),
        )
        return out["state"], out["data"], out["meta"]

    def close(self) -> None:
        self.latest.close()
        self.best.close()


def latest_step(directory: str) -> int | None:
    return _manager(directory, 1).latest_step()


def load_meta(directory: str) -> dict[str, Any] | None:
    """The metadata of the newest checkpoint in `directory` (None: there is none)."""
    manager = _manager(directory, 1)
    step = manager.latest_step()
    if step is None:
        return None
    return manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]


def load_params(directory: str):
    """The model parameters of the newest checkpoint in `directory`, on one local device,
    whatever mesh or number of processes the run was trained on."""
    directory = os.path.abspath(directory)
    manager = _manager(directory, 1)
    step = manager.latest_step()
    if step is None:
        raise FileNotFoundError(f"no checkpoint in {directory}")
    saved = ocp.StandardCheckpointHandler().metadata(epath.Path(directory) / str(step) / "state")
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    abstract = jax.tree.map(
        lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
        saved.tree,
        is_leaf=lambda m: hasattr(m, "shape"),
    )
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
    return manager.restore(step, args=args)["state"]["params"]
