"""The optional speed levers of `recurrent.run` against the reference path.

Exact levers (remat, unroll, the cuDNN adapter) are compared in float64 to 1e-12;
mixed precision (bfloat16 matmuls) against float32 with a tolerance derived from
bfloat16's 8-bit mantissa (see `test_bf16_matmuls_track_float32`).
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import rnn as jax_rnn
from test_recurrent import assert_tree_close, random_mask

from rnnlab import cells, recurrent

H, D = 6, 5


def setup(name, B, T, dtype, seed=0, mask=None):
    rng = np.random.default_rng(seed)
    cell = cells.make(name, H)
    params = cell.init(jax.random.key(seed), D)
    params["b_G"] = 0.5 * jax.random.normal(jax.random.key(seed + 1), params["b_G"].shape)
    params = jax.tree.map(lambda a: a.astype(dtype), params)
    xs = jnp.asarray(rng.normal(size=(B, T, D)), dtype)
    mask = jnp.asarray(random_mask(rng, B, T) if mask is None else mask)
    carry0 = jax.tree.map(
        lambda a: jnp.asarray(rng.normal(size=(B, *a.shape)), dtype), cell.initial_carry()
    )
    w_BxTxH = jnp.asarray(rng.normal(size=(B, T, H)), dtype)
    return cell, params, xs, mask, carry0, w_BxTxH


@functools.cache
def value_and_grad(cell, reverse, **run_kwargs):
    """jit(value_and_grad) of a loss touching every output and the final carry."""

    def loss(params, xs, mask, carry0, w_BxTxH):
        final, hs = recurrent.run(cell, params, xs, mask, carry0, reverse=reverse, **run_kwargs)
        carry_term = sum(jnp.sum(jnp.sin(c)) for c in jax.tree.leaves(final))
        return jnp.sum(w_BxTxH * jnp.tanh(hs)) + carry_term, (final, hs)

    return jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 3), has_aux=True))


# --------------------------------------------------------------------------- remat, unroll


@pytest.mark.parametrize("name", ["elman", "lstm"])
def test_additive_path_matches_autodiff_of_the_generic_path(name):
    """The custom VJP (U's gradient as one matmul after the loop) against autodiff of the
    same cell without `activate`, in float64: values and every gradient (params, inputs,
    initial carry), masks with holes, both directions, with unroll and remat."""
    with jax.enable_x64(True):
        cell, *args = setup(name, B=6, T=11, dtype=jnp.float64)
        generic = dataclasses.replace(cell, activate=None)
        assert cell.activate is not None
        for reverse, run_kwargs in [
            (False, {}),
            (True, {}),
            (False, {"unroll": 3}),
            (True, {"remat_chunk": 4, "unroll": 2}),
        ]:
            want = value_and_grad(generic, reverse, impl="hoisted", **run_kwargs)(*args)
            got = value_and_grad(cell, reverse, impl="hoisted", **run_kwargs)(*args)
            assert_tree_close(got, want, rtol=1e-12, atol=1e-12)


def test_default_unroll_is_chosen_by_backend(monkeypatch):
    """unroll=None means 4 on a GPU (measured faster there) and 1 elsewhere, and it is
    what reaches lax.scan."""
    cell, params, xs, mask, _, _ = setup("lstm", B=2, T=9, dtype=jnp.float32)

    def traced():  # a new function each time: make_jaxpr caches traces by function
        return str(jax.make_jaxpr(functools.partial(recurrent.run, cell))(params, xs, mask))

    assert "unroll=1" in traced()
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert recurrent.default_unroll() == 4
    assert "unroll=4" in traced()


@pytest.mark.parametrize("name, impl", [("lstm", "hoisted"), ("gru", "vmap")])
def test_remat_chunks_are_exact(name, impl):
    """Chunked checkpointing recomputes the same arithmetic: float64 values and gradients
    equal the plain scan, for a chunk that does not divide T (with unroll) and a chunk
    longer than T, masks with holes, in both directions."""
    with jax.enable_x64(True):
        cell, *args = setup(name, B=6, T=11, dtype=jnp.float64)
        for reverse, remat_chunk, unroll in [(False, 4, 2), (True, 4, 2), (False, 16, 1)]:
            (_, want_out), want_grads = value_and_grad(cell, reverse, impl=impl)(*args)
            (_, got_out), got_grads = value_and_grad(
                cell, reverse, impl=impl, remat_chunk=remat_chunk, unroll=unroll
            )(*args)
            assert_tree_close(got_out, want_out, rtol=1e-12, atol=1e-12)
            assert_tree_close(got_grads, want_grads, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("generic, most", [(True, 0.5), (False, 0.75)])
def test_remat_saves_memory_in_the_backward_pass(generic, most):
    """XLA's temporary memory of the LSTM's gradient, T=512, on both hoisted paths.
    Remat removes the per-step residuals; what stays is per sequence (inputs, gate
    gradients), a larger share on the additive path, whose residuals are smaller."""
    cell = cells.lstm(32)
    if generic:
        cell = dataclasses.replace(cell, activate=None)
    params = cell.init(jax.random.key(0), 16)
    xs = jnp.ones((8, 512, 16))

    def temp_bytes(cell, **run_kwargs):
        grad = jax.grad(lambda p: jnp.sum(recurrent.run(cell, p, xs, None, **run_kwargs)[1]))
        return jax.jit(grad).lower(params).compile().memory_analysis().temp_size_in_bytes

    assert temp_bytes(cell, remat_chunk=32) < most * temp_bytes(cell)
    if not generic:  # the additive path keeps less than autodiff of the generic one
        assert temp_bytes(cell) < 0.8 * temp_bytes(dataclasses.replace(cell, activate=None))


def test_bad_remat_chunk_is_a_clear_error():
    cell, params, xs, mask, *_ = setup("elman", B=2, T=4, dtype=jnp.float32)
    with pytest.raises(ValueError, match="remat_chunk must be >= 1"):
        recurrent.run(cell, params, xs, mask, remat_chunk=0)


# --------------------------------------------------------------------------- mixed precision


def test_same_compute_dtype_is_a_no_op():
    with jax.enable_x64(True):
        cell, *args = setup("lstm", B=5, T=7, dtype=jnp.float64)
        want = value_and_grad(cell, False)(*args)
        got = value_and_grad(cell, False, compute_dtype=jnp.float64)(*args)
        assert_tree_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize(
    "name, impl", [("elman", "hoisted"), ("lstm", "hoisted"), ("gru", "hoisted"), ("lstm", "vmap")]
)
def test_bf16_matmuls_track_float32(name, impl):
    """bfloat16 rounds each matmul operand to a relative 2⁻⁹ ≈ 0.002; with O(1)
    activations, sums of D + H = 11 products and 9 steps of (contracting) recurrence the
    error stays ~1e-2 absolute. A bug (wrong gate, dropped bias, unmasked step) moves
    values by O(1). Parameters, carries, outputs and gradients stay float32, masked
    outputs are exactly zero and padded inputs get exactly zero gradient."""
    cell, params, xs, mask, carry0, w = setup(name, B=7, T=9, dtype=jnp.float32, seed=3)
    xs_nan = jnp.where(mask[..., None], xs, jnp.nan)
    for reverse in (False, True):
        (loss32, (final32, hs32)), grads32 = value_and_grad(cell, reverse, impl=impl)(
            params, xs, mask, carry0, w
        )
        (loss16, (final16, hs16)), grads16 = value_and_grad(
            cell, reverse, impl=impl, compute_dtype=jnp.bfloat16
        )(params, xs_nan, mask, carry0, w)
        for leaf in jax.tree.leaves((final16, hs16, grads16)):
            assert leaf.dtype == jnp.float32
        assert np.all(np.asarray(hs16)[~np.asarray(mask)] == 0.0)
        assert np.all(np.asarray(grads16[1])[~np.asarray(mask)] == 0.0)
        assert_tree_close((final16, hs16), (final32, hs32), rtol=0, atol=3e-2)
        np.testing.assert_allclose(loss16, loss32, rtol=2e-2)
        for g16, g32 in zip(jax.tree.leaves(grads16), jax.tree.leaves(grads32), strict=True):
            scale = float(jnp.max(jnp.abs(g32)))
            np.testing.assert_allclose(g16, g32, rtol=0, atol=3e-2 * scale)


def test_matmul_runs_in_the_weights_dtype():
    x = jnp.full((3,), 1.0 + 2.0**-12, jnp.float32)  # not representable in bfloat16
    W = jnp.ones((3, 2), jnp.bfloat16)
    y = cells.matmul(x, W)
    assert y.dtype == jnp.float32
    np.testing.assert_array_equal(y, 3.0)  # x was rounded to bfloat16 before the product
    np.testing.assert_array_equal(cells.matmul(x, W.astype(jnp.float32)), x @ jnp.ones((3, 2)))


# --------------------------------------------------------------------------- cuDNN adapter


def lstm_ref_flat(x, h_0, c_0, weights, seq_lengths, input_size, hidden_size, *rest):
    """`jax.experimental.rnn.lstm`'s signature over `lstm_ref` (runs on CPU)."""
    W_ih, W_hh, b_ih, b_hh = jax_rnn.unpack_lstm_weights(weights, input_size, hidden_size, 1, False)
    return jax_rnn.lstm_ref(
        x, h_0, c_0, W_ih, W_hh, b_ih, b_hh, seq_lengths, input_size, hidden_size, *rest
    )


def right_padded_mask(B, T, seed=0):
    lengths = np.random.default_rng(seed).integers(1, T + 1, B)
    lengths[:2] = [T, 0]  # one full row, one empty row
    return np.arange(T)[None, :] < lengths[:, None]


def test_cudnn_adapter_packs_weights_and_reverses_like_the_reference():
    """The cuDNN path's packing, reverse and masking, run through lstm_ref on CPU:
    float64 values and gradients (weights, inputs, carry0) equal impl='hoisted'."""
    with jax.enable_x64(True):
        cell, *args = setup("lstm", B=6, T=8, dtype=jnp.float64, mask=right_padded_mask(6, 8))

        def run_adapter(cell, params, xs, mask, carry0, reverse=False):
            mask = recurrent._check(xs, mask)
            return recurrent._run_cudnn_lstm(cell, params, xs, mask, carry0, reverse, lstm_ref_flat)

        def loss(run_fn, reverse, params, xs, mask, carry0, w_BxTxH):
            final, hs = run_fn(cell, params, xs, mask, carry0, reverse=reverse)
            return jnp.sum(w_BxTxH * hs) + sum(jnp.sum(jnp.sin(c)) for c in final)

        for reverse in (False, True):
            want, got = (
                jax.value_and_grad(functools.partial(loss, f, reverse), argnums=(0, 1, 3))(*args)
                for f in (recurrent.run, run_adapter)
            )
            assert_tree_close(got, want, rtol=1e-12, atol=1e-12)


def test_cudnn_impl_errors_are_clear():
    cell, params, xs, mask, carry0, _ = setup("lstm", B=3, T=5, dtype=jnp.float32)
    holes = jnp.asarray([[1, 0, 1, 1, 0], [1] * 5, [0] * 5], bool)
    with pytest.raises(ValueError, match="right padding"):
        recurrent._run_cudnn_lstm(cell, params, xs, holes, carry0, False, lstm_ref_flat)
    gru, gru_params, *_ = setup("gru", B=3, T=5, dtype=jnp.float32)
    with pytest.raises(ValueError, match="LSTM cells only"):
        recurrent.run(gru, gru_params, xs, None, impl="cudnn_lstm")
    with pytest.raises(ValueError, match="float32 only"):
        recurrent.run(cell, params, xs, None, impl="cudnn_lstm", compute_dtype=jnp.bfloat16)
    if jax.default_backend() != "gpu":
        with pytest.raises(ValueError, match="needs a CUDA GPU"):
            recurrent.run(cell, params, xs, None, impl="cudnn_lstm")


@pytest.mark.skipif(jax.default_backend() != "gpu", reason="cuDNN needs a CUDA GPU")
def test_cudnn_lstm_matches_hoisted_on_gpu():
    """Parity of the real cuDNN kernel, full-fp32 matmuls on both sides (TF32 off)."""
    cell, *args = setup("lstm", B=16, T=20, dtype=jnp.float32, mask=right_padded_mask(16, 20))
    with jax.default_matmul_precision("highest"):
        for reverse in (False, True):
            want = value_and_grad(cell, reverse)(*args)
            got = value_and_grad(cell, reverse, impl="cudnn_lstm")(*args)
            assert_tree_close(got, want, rtol=1e-4, atol=1e-4)
