"""`recurrent.run` and friends against independent references.

Float64 throughout (numbers compared to 1e-10 or tighter), except where float32 is the
point (fast path vs reference in the dtype users train in).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpy_refs
import pytest

from rnnlab import cells, recurrent

NAMES = ["elman", "lstm", "gru"]
H, D = 5, 4
FD_EPS = 1e-6  # central differences in float64: error ~ eps² + 1e-16/eps


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def make(name, seed=0, dtype=jnp.float64):
    cell = cells.make(name, H)
    params = cell.init(jax.random.key(seed), D)
    params["b_G"] = 0.5 * jax.random.normal(jax.random.key(seed + 7), params["b_G"].shape)
    return cell, jax.tree.map(lambda a: a.astype(dtype), params)


def random_mask(rng, B, T):
    """Rows of every kind: full, right-padded, left-padded, holes, empty."""
    mask = np.zeros((B, T), bool)
    for b in range(B):
        kind = (
            ["full", "right", "left", "holes", "empty"][b % 5]
            if b < 5
            else rng.choice(["right", "left", "holes"])
        )
        n = rng.integers(1, T)
        if kind == "full":
            mask[b] = True
        elif kind == "right":
            mask[b, :n] = True
        elif kind == "left":
            mask[b, T - n :] = True
        elif kind == "holes":
            mask[b] = rng.random(T) < 0.6
    return mask


def random_carry(cell, B, rng):
    return jax.tree.map(
        lambda a: jnp.asarray(rng.normal(size=(B, *a.shape))), cell.initial_carry(jnp.float64)
    )


def per_example(carry_B, b):
    return jax.tree.map(lambda a: a[b], carry_B)


def assert_tree_close(got, want, **tol):
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), **tol)


# --------------------------------------------------------------------------- forward values


@pytest.mark.parametrize("impl", recurrent.IMPLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_run_equals_per_sequence_unpadded_numpy(name, reverse, impl):
    """Masks of every pattern, reverse or not, any carry0: same as each sequence alone."""
    rng = np.random.default_rng(hash((name, reverse, impl)) % 2**32)
    cell, params = make(name)
    for trial in range(4):
        B, T = 7, int(rng.integers(3, 10))
        xs = rng.normal(size=(B, T, D))
        mask = random_mask(rng, B, T)
        carry0 = random_carry(cell, B, rng) if trial % 2 else None
        got_final, got_hs = recurrent.run(
            cell, params, jnp.asarray(xs), jnp.asarray(mask), carry0, reverse=reverse, impl=impl
        )
        c0 = [
            per_example(carry0, b) if carry0 is not None else cell.initial_carry(jnp.float64)
            for b in range(B)
        ]
        want_final, want_hs = numpy_refs.run_padded(name, params, xs, mask, c0, reverse)
        np.testing.assert_allclose(got_hs, want_hs, rtol=1e-12, atol=1e-12)
        assert np.all(np.asarray(got_hs)[~mask] == 0.0)
        for b in range(B):
            assert_tree_close(per_example(got_final, b), want_final[b], rtol=1e-12, atol=1e-12)


def test_mask_may_be_float_or_int_or_none():
    cell, params = make("lstm")
    xs = jax.random.normal(jax.random.key(0), (3, 6, D))
    mask = np.array([[1, 1, 1, 0, 0, 0], [1] * 6, [0, 1, 0, 1, 0, 1]])
    ref = recurrent.run(cell, params, xs, jnp.asarray(mask, bool))
    for m in (mask.astype(np.int32), mask.astype(np.float32)):
        assert_tree_close(recurrent.run(cell, params, xs, jnp.asarray(m)), ref, rtol=0, atol=0)
    assert_tree_close(
        recurrent.run(cell, params, xs, None),
        recurrent.run(cell, params, xs, jnp.ones((3, 6))),
        rtol=0,
        atol=0,
    )


def test_bad_shapes_give_clear_errors():
    cell, params = make("gru")
    xs = jnp.zeros((2, 5, D))
    with pytest.raises(ValueError, match=r"mask_BxT must have shape \(2, 5\)"):
        recurrent.run(cell, params, xs, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match=r"xs_BxTxD must have shape \[B, T, D\]"):
        recurrent.run(cell, params, xs[0], jnp.ones((5,)))
    with pytest.raises(ValueError, match="unknown impl"):
        recurrent.run(cell, params, xs, None, impl="cudnn")


# --------------------------------------------------------------------------- gradients


@functools.cache
def loss_fns(cell, impl, reverse):
    """(loss, value_and_grad), jitted once per (cell, impl, reverse).

    loss = Σ w_hs·tanh(hs) + Σ w_final·final_carry: touches every output and the carry.
    """

    def loss(params, xs, mask, carry0, w_hs, w_final):
        final, hs = recurrent.run(cell, params, xs, mask, carry0, reverse=reverse, impl=impl)
        final_terms = sum(
            jnp.sum(w * c) for w, c in zip(w_final, jax.tree.leaves(final), strict=True)
        )
        return jnp.sum(w_hs * jnp.tanh(hs)) + final_terms

    return jax.jit(loss), jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 3)))


def random_weights(cell, rng, B, T, dtype=np.float64):
    w_final = [rng.normal(size=(B, H)).astype(dtype) for _ in jax.tree.leaves(cell.initial_carry())]
    return rng.normal(size=(B, T, H)).astype(dtype), w_final


@pytest.mark.parametrize("impl", recurrent.IMPLS)
@pytest.mark.parametrize("name", NAMES)
def test_gradients_match_central_finite_differences(name, impl):
    rng = np.random.default_rng(1)
    cell, params = make(name)
    B, T = 3, 6
    xs = jnp.asarray(rng.normal(size=(B, T, D)))
    mask = jnp.asarray(random_mask(rng, B, T))
    carry0 = random_carry(cell, B, rng)
    weights = random_weights(cell, rng, B, T)
    for reverse in (False, True):
        loss, value_and_grad = loss_fns(cell, impl, reverse)
        _, grads = value_and_grad(params, xs, mask, carry0, *weights)
        point = (params, xs, carry0)
        for _ in range(3):  # random directions in (params, xs, carry0)
            v = jax.tree.map(lambda a: jnp.asarray(rng.normal(size=a.shape)), grads)
            plus = jax.tree.map(lambda a, d: a + FD_EPS * d, point, v)
            minus = jax.tree.map(lambda a, d: a - FD_EPS * d, point, v)
            numeric = (
                loss(plus[0], plus[1], mask, plus[2], *weights)
                - loss(minus[0], minus[1], mask, minus[2], *weights)
            ) / (2 * FD_EPS)
            analytic = sum(
                jnp.vdot(g, d)
                for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(v), strict=True)
            )
            np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@functools.cache
def unpadded_reference(name, reverse):
    """A padded batch, and each of its sequences run ALONE without padding (vmap path):
    the data, the summed loss, the summed parameter gradients and each row's input
    gradients. Shared by both impls' tests (it does not depend on padding or impl)."""
    rng = np.random.default_rng(2)
    cell, params = make(name)
    B, T = 8, 7  # rows 0-4: full, right, left, holes, empty; rows 5-7: random patterns
    mask = random_mask(rng, B, T)
    xs = rng.normal(size=(B, T, D))
    w_hs, w_final = random_weights(cell, rng, B, T)
    _, value_and_grad = loss_fns(cell, "vmap", reverse)
    total, grads_params, grads_xs = 0.0, jax.tree.map(jnp.zeros_like, params), []
    for b in range(B):
        idx = np.flatnonzero(mask[b])
        v, (g_p, g_x, _) = value_and_grad(
            params,
            jnp.asarray(xs[b : b + 1, idx]),
            jnp.ones((1, len(idx)), bool),
            None,
            w_hs[b : b + 1, idx],
            [w[b : b + 1] for w in w_final],
        )
        total += v
        grads_params = jax.tree.map(jnp.add, grads_params, g_p)
        grads_xs.append(g_x[0])
    data = (cell, params, mask, xs, w_hs, w_final)
    return data, total, grads_params, grads_xs


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("impl", recurrent.IMPLS)
@pytest.mark.parametrize("name", NAMES)
def test_padding_changes_no_loss_and_no_gradient(name, impl, reverse):
    """Loss and every gradient equal the sum over sequences run alone, without padding;
    gradients with respect to padded inputs are exactly zero (even with nan padding)."""
    (cell, params, mask, xs, w_hs, w_final), want_val, want_gp, want_gxs = unpadded_reference(
        name, reverse
    )
    xs_nan = jnp.asarray(np.where(mask[..., None], xs, np.nan))  # padding is never read
    _, value_and_grad = loss_fns(cell, impl, reverse)
    val, (g_params, g_xs, _) = value_and_grad(
        params, xs_nan, jnp.asarray(mask), None, w_hs, w_final
    )
    assert np.all(np.asarray(g_xs)[~mask] == 0.0)
    for b, want_gx in enumerate(want_gxs):
        np.testing.assert_allclose(g_xs[b, mask[b]], want_gx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(val, want_val, rtol=1e-12)
    assert_tree_close(g_params, want_gp, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- fast == reference


@pytest.mark.parametrize("name", NAMES)
def test_hoisted_equals_vmap_reference_float32_values_and_grads(name):
    rng = np.random.default_rng(3)
    cell, params = make(name, dtype=jnp.float32)
    B, T = 8, 12
    xs = jnp.asarray(rng.normal(size=(B, T, D)), jnp.float32)
    mask = jnp.asarray(random_mask(rng, B, T))
    weights = random_weights(cell, rng, B, T, np.float32)
    for reverse in (False, True):
        out = {}
        for impl in recurrent.IMPLS:
            out[impl] = (
                recurrent.run(cell, params, xs, mask, reverse=reverse, impl=impl),
                loss_fns(cell, impl, reverse)[1](params, xs, mask, None, *weights),
            )
        assert jax.tree.leaves(out["hoisted"])[0].dtype == jnp.float32
        assert_tree_close(out["hoisted"], out["vmap"], rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("unroll", [1, 3, True])
def test_jit_eager_and_unroll_agree(unroll):
    rng = np.random.default_rng(4)
    cell, params = make("lstm")
    xs = jnp.asarray(rng.normal(size=(4, 7, D)))
    mask = jnp.asarray(random_mask(rng, 4, 7))
    ref = recurrent.run(cell, params, xs, mask, impl="vmap")
    for impl in recurrent.IMPLS:
        f = functools.partial(recurrent.run, cell, impl=impl, unroll=unroll)
        jitted = jax.jit(f)(params, xs, mask)
        with jax.disable_jit():
            eager = f(params, xs, mask)
        assert_tree_close(jitted, ref, rtol=1e-12, atol=1e-12)
        assert_tree_close(eager, ref, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- bidirectional


@pytest.mark.parametrize("name", NAMES)
def test_bidirectional_is_aligned_concatenation_of_per_sequence_runs(name):
    rng = np.random.default_rng(5)
    cell = cells.make(name, H)
    params = jax.tree.map(
        lambda a: a.astype(jnp.float64), recurrent.init_bidirectional(cell, jax.random.key(1), D)
    )
    B, T = 6, 8
    xs, mask = rng.normal(size=(B, T, D)), random_mask(rng, B, T)
    (fw, bw), hs = recurrent.run_bidirectional(cell, params, jnp.asarray(xs), jnp.asarray(mask))
    assert hs.shape == (B, T, 2 * H)
    c0 = [cell.initial_carry(jnp.float64)] * B
    want_fw, hs_fw = numpy_refs.run_padded(name, params["fw"], xs, mask, c0)
    want_bw, hs_bw = numpy_refs.run_padded(name, params["bw"], xs, mask, c0, reverse=True)
    np.testing.assert_allclose(hs, np.concatenate([hs_fw, hs_bw], -1), rtol=1e-12, atol=1e-12)
    for b in range(B):
        assert_tree_close(per_example(fw, b), want_fw[b], rtol=1e-12, atol=1e-12)
        assert_tree_close(per_example(bw, b), want_bw[b], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- layers


def test_layers_compose_runs_and_dropout_is_keyed():
    rng = np.random.default_rng(6)
    cell = cells.gru(H)
    layers = recurrent.init_layers(cell, jax.random.key(0), D, 3)
    xs, mask = jnp.asarray(rng.normal(size=(3, 5, D))), jnp.asarray(random_mask(rng, 3, 5))
    carries, hs = recurrent.run_layers(cell, layers, xs, mask)
    want = xs
    for layer, params in enumerate(layers):
        carry, want = recurrent.run(cell, params, want, mask)
        assert_tree_close(carries[layer], carry, rtol=0, atol=0)
    assert_tree_close(hs, want, rtol=0, atol=0)

    key = jax.random.key(9)
    a = recurrent.run_layers(cell, layers, xs, mask, dropout_rate=0.5, dropout_key=key)[1]
    b = recurrent.run_layers(cell, layers, xs, mask, dropout_rate=0.5, dropout_key=key)[1]
    c = recurrent.run_layers(
        cell, layers, xs, mask, dropout_rate=0.5, dropout_key=jax.random.key(10)
    )[1]
    assert_tree_close(a, b, rtol=0, atol=0)
    assert not np.allclose(a, c) and not np.allclose(a, hs)
    assert np.all(np.asarray(a)[~np.asarray(mask)] == 0.0)
    with pytest.raises(ValueError, match="dropout_key"):
        recurrent.run_layers(cell, layers, xs, mask, dropout_rate=0.5)


def test_dropout_keeps_expectation():
    xs = jnp.ones((200, 100))
    ys = recurrent.dropout(jax.random.key(0), 0.3, xs)
    kept = np.asarray(ys != 0)
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(np.asarray(ys)[kept], 1 / 0.7)


def test_bidirectional_layers_feed_concatenated_states():
    cell = cells.lstm(H)
    layers = recurrent.init_layers(cell, jax.random.key(0), D, 2, bidirectional=True)
    assert layers[1]["fw"]["W_DxG"].shape == (2 * H, 4 * H)
    xs = jax.random.normal(jax.random.key(1), (2, 6, D))
    carries, hs = recurrent.run_layers(cell, layers, xs, None, bidirectional=True)
    _, want = recurrent.run_bidirectional(
        cell, layers[1], recurrent.run_bidirectional(cell, layers[0], xs, None)[1], None
    )
    assert_tree_close(hs, want, rtol=0, atol=0)
    assert len(carries) == 2 and len(carries[0]) == 2


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_layer_states_at_every_step(name, bidirectional):
    """return_states: per-step h is each layer's output, the carry at each sequence's last
    real step (first, for backward units) is its final carry, masked steps are zero; the
    carries and outputs are those of the default path."""
    rng = np.random.default_rng(11)
    cell = cells.make(name, H)
    layers = recurrent.init_layers(cell, jax.random.key(0), D, 2, bidirectional)
    B, T = 7, 6
    xs, mask = jnp.asarray(rng.normal(size=(B, T, D))), random_mask(rng, B, T)
    carry0 = [
        (random_carry(cell, B, rng), random_carry(cell, B, rng))
        if bidirectional
        else random_carry(cell, B, rng)
        for _ in layers
    ]
    kwargs = dict(bidirectional=bidirectional)
    carries, hs, states = recurrent.run_layers(
        cell, layers, xs, mask, carry0, return_states=True, **kwargs
    )
    want_carries, want_hs = recurrent.run_layers(cell, layers, xs, mask, carry0, **kwargs)
    assert_tree_close((carries, hs), (want_carries, want_hs), rtol=1e-12, atol=1e-12)
    layer_fn = recurrent.run_bidirectional if bidirectional else recurrent.run
    inputs = xs
    for params, c0, carry, steps in zip(layers, carry0, carries, states, strict=True):
        _, outputs = layer_fn(cell, params, inputs, mask, c0)
        np.testing.assert_allclose(cells.carry_output(steps), outputs, rtol=1e-12, atol=1e-12)
        # Each direction's final carry, and which real step it is the carry after.
        finals = [(carry[0], -1), (carry[1], 0)] if bidirectional else [(carry, -1)]
        for d, (final, which) in enumerate(finals):
            for b in np.flatnonzero(mask.any(1)):
                t = np.flatnonzero(mask[b])[which]
                got = [a[b, t, d * H : (d + 1) * H] for a in jax.tree.leaves(steps)]
                assert_tree_close(got, per_example(final, b), rtol=1e-12, atol=1e-12)
        for leaf in jax.tree.leaves(steps):
            assert leaf.shape == (B, T, H * len(finals))
            assert np.all(np.asarray(leaf)[~mask] == 0.0)
        inputs = outputs
    with pytest.raises(ValueError, match="return_states"):
        recurrent.run_layers(cell, layers, xs, mask, return_states=True, impl="cudnn_lstm")


# --------------------------------------------------------------------------- truncated BPTT


def _manual_truncated(cell, params, xs, mask, K):
    """Independent TBPTT: a Python loop of single steps, stop_gradient every K steps."""
    B, T, _ = xs.shape
    carry = recurrent.initial_carry_batch(cell, B, xs.dtype)
    step_B = jax.vmap(cell.step, in_axes=(None, 0, 0))
    hs = []
    for t in range(T):
        if t > 0 and t % K == 0:
            carry = jax.lax.stop_gradient(carry)
        new, h = step_B(params, carry, xs[:, t])
        m = mask[:, t][:, None]
        carry = jax.tree.map(lambda n, o, m=m: jnp.where(m, n, o), new, carry)
        hs.append(jnp.where(m, h, 0.0))
    return carry, jnp.stack(hs, 1)


@pytest.mark.parametrize("name", NAMES)
def test_truncated_bptt_values_and_gradients(name):
    rng = np.random.default_rng(7)
    cell, params = make(name)
    B, T = 3, 11
    xs = jnp.asarray(rng.normal(size=(B, T, D)))
    mask = jnp.asarray(random_mask(rng, B, T))
    w = jnp.asarray(rng.normal(size=(B, T, H)))

    def grad_of(run_fn):
        return jax.jit(jax.grad(lambda p, x: jnp.sum(w * run_fn(p, x)[1]), argnums=(0, 1)))

    g_full = grad_of(lambda p, x: recurrent.run(cell, p, x, mask))(params, xs)
    for K in (3, T + 5):  # T % 3 != 0: a short last segment; T + 5: one segment
        # Forward values equal one long run.
        assert_tree_close(
            recurrent.run_truncated(cell, params, xs, mask, K),
            recurrent.run(cell, params, xs, mask),
            rtol=1e-12,
            atol=1e-12,
        )
        g_trunc = grad_of(lambda p, x, K=K: recurrent.run_truncated(cell, p, x, mask, K))(
            params, xs
        )
        g_manual = grad_of(lambda p, x, K=K: _manual_truncated(cell, p, x, mask, K))(params, xs)
        assert_tree_close(g_trunc, g_manual, rtol=1e-10, atol=1e-12)
        if K >= T:  # one segment is full BPTT
            assert_tree_close(g_trunc, g_full, rtol=1e-10, atol=1e-12)
        else:  # truncation really changes the gradient
            assert not np.allclose(g_trunc[0]["U_HxG"], g_full[0]["U_HxG"])

    # A loss on the last segment sends no gradient to inputs of earlier segments.
    K = 4

    def last_step_loss(x):
        return jnp.sum(recurrent.run_truncated(cell, params, x, None, K)[1][:, -1])

    g = jax.grad(last_step_loss)(xs)
    assert np.all(np.asarray(g)[:, : (T - 1) // K * K] == 0.0)
    assert np.any(np.asarray(g)[:, (T - 1) // K * K :] != 0.0)


def test_stream_windows_with_carried_state_equal_one_long_run():
    """Zaremba-style stream: window i's final carry, stop_gradient-ed, starts window i+1."""
    rng = np.random.default_rng(8)
    cell, params = make("lstm")
    B, T, K = 4, 20, 5
    xs = jnp.asarray(rng.normal(size=(B, T, D)))
    want_final, want_hs = recurrent.run(cell, params, xs, None)
    carry, hs = None, []
    for start in range(0, T, K):
        carry0 = None if carry is None else jax.lax.stop_gradient(carry)
        carry, h = jax.jit(recurrent.run, static_argnums=0)(
            cell, params, xs[:, start : start + K], None, carry0
        )
        hs.append(h)
    assert_tree_close(jnp.concatenate(hs, 1), want_hs, rtol=1e-12, atol=1e-12)
    assert_tree_close(carry, want_final, rtol=1e-12, atol=1e-12)
