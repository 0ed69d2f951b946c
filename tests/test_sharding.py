"""Meshes and shardings on 8 simulated CPU devices (set in conftest.py)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import PartitionSpec as P

from rnnlab import cells, recurrent, sharding


def test_make_mesh_shapes_and_errors():
    # One CPU host: simulated devices share the cores, so the default is one device.
    assert dict(sharding.make_mesh().shape) == {"data": 1, "fsdp": 1}
    assert dict(sharding.make_mesh((8,)).shape) == {"data": 8, "fsdp": 1}
    assert dict(sharding.make_mesh((2, 4)).shape) == {"data": 2, "fsdp": 4}
    assert dict(sharding.make_mesh((-1, 2)).shape) == {"data": 4, "fsdp": 2}
    assert dict(sharding.make_mesh((1,), devices=jax.devices()[:1]).shape) == {
        "data": 1,
        "fsdp": 1,
    }
    with pytest.raises(ValueError, match="does not use the 8 devices"):
        sharding.make_mesh((3, 2))
    with pytest.raises(ValueError, match="at most 2 axes"):
        sharding.make_mesh((2, 2, 2))


def test_leaf_spec_splits_only_large_matrices_on_a_divisible_axis():
    assert sharding.leaf_spec((1000, 64), fsdp=1, min_size=0) == P()
    assert sharding.leaf_spec((1000, 64), fsdp=4, min_size=0) == P("fsdp", None)
    assert sharding.leaf_spec((1002, 64), fsdp=4, min_size=0) == P(None, "fsdp")
    assert sharding.leaf_spec((1002, 63), fsdp=4, min_size=0) == P()
    assert sharding.leaf_spec((4096,), fsdp=4, min_size=0) == P()  # vectors stay whole
    assert sharding.leaf_spec((64, 64), fsdp=4, min_size=10_000) == P()


def test_global_batch_rejects_uneven_split():
    mesh = sharding.make_mesh((8,))
    with pytest.raises(ValueError, match="multiple of 8"):
        sharding.global_batch({"x": np.zeros((12, 3))}, mesh)
    with pytest.raises(ValueError, match="disagree"):
        sharding.global_batch({"x": np.zeros((8, 3)), "y": np.zeros((16,))}, mesh)


V, E, H, B, T = 64, 16, 32, 16, 7


def _lm_loss(params, batch, cell):
    xs = params["embed_VxE"][batch["inputs_BxT"]]
    _, hs = recurrent.run_layers(cell, params["rnn"], xs, batch["mask_BxT"])
    logits = hs @ params["out_HxV"]
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, batch["targets_BxT"])
    return jnp.sum(nll * batch["mask_BxT"]) / jnp.sum(batch["mask_BxT"])


def _train(mesh, steps=4):
    """A few Adam steps of a 2-layer LSTM LM, jit-compiled with the mesh's shardings."""
    cell = cells.lstm(H)
    k = jax.random.split(jax.random.key(0), 3)
    params = {
        "embed_VxE": jax.random.normal(k[0], (V, E)),
        "rnn": recurrent.init_layers(cell, k[1], E, 2),
        "out_HxV": jax.random.normal(k[2], (H, V)) / H**0.5,
    }
    optimizer = optax.adam(1e-2)
    state = {"params": params, "opt_state": optimizer.init(params)}
    state_sh = sharding.state_shardings(state, mesh, fsdp_min_size=1024)
    state = jax.device_put(state, state_sh)

    def step(state, batch):
        loss, grads = jax.value_and_grad(_lm_loss)(state["params"], batch, cell)
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        return {
            "params": optax.apply_updates(state["params"], updates),
            "opt_state": opt_state,
        }, loss

    step = jax.jit(step, in_shardings=(state_sh, sharding.batch_sharding(mesh)),
                   out_shardings=(state_sh, None), donate_argnums=0)  # fmt: skip
    rng, losses = np.random.default_rng(0), []
    for _ in range(steps):
        tokens = rng.integers(1, V, (B, T + 1))
        mask = np.arange(T)[None] < rng.integers(2, T + 1, (B, 1))
        batch = {"inputs_BxT": tokens[:, :-1], "targets_BxT": tokens[:, 1:], "mask_BxT": mask}
        state, loss = step(state, sharding.global_batch(batch, mesh))
        losses.append(float(loss))
    return losses, state


@functools.cache
def _single_device_run():
    return _train(sharding.make_mesh((1,), devices=jax.devices()[:1]))


@pytest.mark.parametrize("mesh_shape", [(8,), (2, 4)])
def test_sharded_training_equals_single_device(mesh_shape):
    want_losses, want_state = _single_device_run()
    mesh = sharding.make_mesh(mesh_shape)
    losses, state = _train(mesh)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-5)
    for got, want in zip(jax.tree.leaves(state), jax.tree.leaves(want_state), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=2e-5)
    embed = state["params"]["embed_VxE"]
    if mesh.shape["fsdp"] > 1:  # really split: each device holds a quarter of the rows
        assert embed.sharding.spec == P("fsdp", None)
        assert {s.data.shape for s in embed.addressable_shards} == {(V // 4, E)}
        mu = state["opt_state"][0].mu["embed_VxE"]
        assert mu.sharding.spec == P("fsdp", None)
    else:
        assert embed.sharding.is_fully_replicated
