"""Cells against independent references (float64), and their initialisation."""

import jax
import jax.numpy as jnp
import numpy as np
import numpy_refs
import pytest
from jax.experimental import rnn as jax_rnn

from rnnlab import cells, recurrent

H, D, T = 6, 5, 9


def _params64(cell, seed):
    params = cell.init(jax.random.key(seed), D)
    # Random biases too, so a bias-layout mistake cannot hide behind zero init.
    params["b_G"] = jax.random.normal(jax.random.key(seed + 1), params["b_G"].shape)
    return jax.tree.map(lambda a: a.astype(jnp.float64), params)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


@pytest.mark.parametrize("name", ["elman", "lstm", "gru"])
def test_step_by_step_matches_numpy_reference(name):
    cell = cells.make(name, H)
    params = _params64(cell, 0)
    xs_TxD = np.random.default_rng(0).normal(size=(T, D))
    carry = jax.tree.map(lambda a: a + 0.3, cell.initial_carry(jnp.float64))
    want_final, want_hs = numpy_refs.SEQ_REFS[name](params, xs_TxD, carry)
    for t in range(T):
        carry, h_H = cell.step(params, carry, jnp.asarray(xs_TxD[t]))
        np.testing.assert_allclose(h_H, want_hs[t], rtol=1e-12, atol=1e-12)
    for got, want in zip(jax.tree.leaves(carry), jax.tree.leaves(want_final), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_matches_jax_experimental_lstm_ref(bidirectional):
    """jax.experimental.rnn.lstm_ref is PyTorch/cuDNN's LSTM written in JAX by others."""
    B, L = 3, 2
    cell = cells.lstm(H)
    layers = recurrent.init_layers(cell, jax.random.key(1), D, L, bidirectional)
    layers = jax.tree.map(lambda a: a.astype(jnp.float64), layers)
    directions = [
        p for layer in layers for p in ((layer["fw"], layer["bw"]) if bidirectional else (layer,))
    ]
    # cuDNN layout: W_ih [4H, D], gate order i, f, g, o; two biases (we put ours in b_ih).
    W_ih = {i: p["W_DxG"].T for i, p in enumerate(directions)}
    W_hh = {i: p["U_HxG"].T for i, p in enumerate(directions)}
    b_ih = {i: p["b_G"] + 0.1 * i for i, p in enumerate(directions)}
    b_hh = {i: jnp.zeros_like(p["b_G"]) for i, p in enumerate(directions)}
    for i, p in enumerate(directions):
        p["b_G"] = b_ih[i]
    xs = jax.random.normal(jax.random.key(2), (B, T, D), jnp.float64)
    lengths = jnp.array([T, 4, 7], jnp.int32)  # lstm_ref handles right padding only
    zeros = jnp.zeros((len(directions), B, H), jnp.float64)
    want_hs, want_h, want_c = jax_rnn.lstm_ref(
        xs, zeros, zeros, W_ih, W_hh, b_ih, b_hh, lengths, D, H, L, 0.0, bidirectional
    )
    mask = jnp.arange(T)[None, :] < lengths[:, None]
    carries, hs = recurrent.run_layers(cell, layers, xs, mask, bidirectional=bidirectional)
    np.testing.assert_allclose(hs, want_hs * mask[..., None], atol=1e-12)
    final = [c for layer in carries for c in (layer if bidirectional else (layer,))]
    np.testing.assert_allclose(jnp.stack([h for h, _ in final]), want_h, atol=1e-12)
    np.testing.assert_allclose(jnp.stack([c for _, c in final]), want_c, atol=1e-12)


def test_init_orthogonal_blocks_forget_bias_and_determinism():
    for name, gates in [("elman", 1), ("lstm", 4), ("gru", 3)]:
        cell = cells.make(name, H)
        params = cell.init(jax.random.key(3), D)
        assert params["W_DxG"].shape == (D, gates * H)
        assert params["U_HxG"].shape == (H, gates * H)
        for U in np.split(np.asarray(params["U_HxG"], np.float64), gates, axis=1):
            np.testing.assert_allclose(U.T @ U, np.eye(H), atol=1e-5)
        same = cell.init(jax.random.key(3), D)
        jax.tree.map(np.testing.assert_array_equal, params, same)
    b = cells.lstm(H).init(jax.random.key(0), D)["b_G"]
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)
    np.testing.assert_array_equal(jnp.concatenate([b[:H], b[2 * H :]]), 0.0)


def test_user_defined_cell_with_three_functions_runs():
    """A cell is just init / initial_carry / step; the vmap path needs nothing more."""

    def init(key, input_size):
        return {"a_D": jax.random.normal(key, (input_size,))}

    def step(params, h, x_D):
        h = 0.5 * h + jnp.dot(params["a_D"], x_D)
        return h, h

    leaky = cells.Cell(1, init, lambda dtype=jnp.float32: jnp.zeros((1,), dtype), step)
    assert not leaky.can_hoist
    params = leaky.init(jax.random.key(0), D)
    xs = jax.random.normal(jax.random.key(1), (2, T, D))
    _, hs = recurrent.run(leaky, params, xs, jnp.ones((2, T)))
    want, h = [], 0.0
    for t in range(T):
        h = 0.5 * h + xs[0, t] @ params["a_D"]
        want.append(h)
    np.testing.assert_allclose(hs[0, :, 0], want, rtol=1e-10)
    with pytest.raises(ValueError, match="hoisted"):
        recurrent.run(leaky, params, xs, None, impl="hoisted")


def test_bad_cell_arguments_give_clear_errors():
    with pytest.raises(ValueError, match="unknown cell 'lsmt'"):
        cells.make("lsmt", 4)
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        cells.lstm(0)
    with pytest.raises(ValueError, match="input_size must be a positive int"):
        cells.gru(4).init(jax.random.key(0), -3)
