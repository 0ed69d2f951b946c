"""Gradient norms through time against an independent computation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import cells, recurrent
from rnnlab.analysis import gradients


@pytest.mark.parametrize("name", ["elman", "lstm", "gru"])
def test_hidden_gradient_norms_match_restart_from_each_step(name):
    """∂L/∂h_t equals the gradient w.r.t. h in carry0 of a run restarted after step t."""
    with jax.enable_x64(True):
        cell = cells.make(name, 4)
        params = jax.tree.map(lambda a: a.astype(jnp.float64), cell.init(jax.random.key(0), 3))
        B, T = 2, 6
        xs = jax.random.normal(jax.random.key(1), (B, T, 3), jnp.float64)
        mask = jnp.array([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1]], bool)
        w_H = jax.random.normal(jax.random.key(2), (4,), jnp.float64)

        def loss_fn(h_BxH):
            return jnp.tanh(h_BxH) @ w_H

        got = gradients.hidden_gradient_norms(cell, params, xs, mask, loss_fn)
        carries = []  # the carry after each step, from the ordinary run
        carry = recurrent.initial_carry_batch(cell, B, jnp.float64)
        for t in range(T):
            carry, _ = recurrent.run(cell, params, xs[:, t : t + 1], mask[:, t : t + 1], carry)
            carries.append(carry)
        for t in range(T):

            def rest_loss(h_BxH, t=t):
                leaves = jax.tree.leaves(carries[t])
                carry0 = jax.tree.unflatten(jax.tree.structure(carries[t]), [h_BxH, *leaves[1:]])
                final, _ = recurrent.run(cell, params, xs[:, t + 1 :], mask[:, t + 1 :], carry0)
                return jnp.sum(loss_fn(cells.carry_output(final)))

            want = jnp.linalg.norm(jax.grad(rest_loss)(cells.carry_output(carries[t])), axis=-1)
            want = jnp.where(mask[:, t], want, 0.0)
            np.testing.assert_allclose(got[:, t], want, rtol=1e-10, atol=1e-14)


def test_norms_by_distance_counts_from_each_last_real_step():
    norms = jnp.array([[1.0, 2.0, 3.0, 0.0], [4.0, 5.0, 6.0, 7.0]])
    mask = jnp.array([[1, 1, 1, 0], [1, 1, 1, 1]])
    got = gradients.norms_by_distance(norms, mask)
    np.testing.assert_allclose(got, [(3 + 7) / 2, (2 + 6) / 2, (1 + 5) / 2, 4.0])


def test_elman_gradient_vanishes_faster_than_lstm():
    """The lecture's claim, on fresh cells with the same inputs: the ratio of the gradient
    norm 30 steps back to 1 step back is far smaller for a saturating Elman RNN."""
    xs = jax.random.normal(jax.random.key(0), (4, 32, 16))
    ratios = {}
    for name in ("elman", "lstm"):
        cell = cells.make(name, 32)
        params = cell.init(jax.random.key(1), 16)
        norms = gradients.hidden_gradient_norms(cell, params, xs, None, lambda h: h.sum(-1))
        by_dist = gradients.norms_by_distance(norms)
        ratios[name] = float(by_dist[30] / by_dist[1])
    assert ratios["elman"] < 1e-2 * ratios["lstm"], ratios


def test_cli_measures_and_plots(tmp_path):
    from experiments import gradients_through_time as cli

    by_cell = cli.measure(["elman", "lstm"], hidden=8, embed=4, length=12, batch=2, seed=0)
    assert set(by_cell) == {"elman", "lstm"} and by_cell["lstm"].shape == (12,)
    assert np.all(np.isfinite(by_cell["elman"])) and np.all(by_cell["elman"] > 0)
    cli.plot(by_cell, tmp_path / "g.png", "test")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
