"""The DyNet-style Builder computes what `recurrent.run` computes, one step at a time."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import builder, cells, recurrent


@pytest.mark.parametrize("name", ["elman", "lstm", "gru"])
def test_builder_states_equal_run_step_by_step(name):
    cell = cells.make(name, 6)
    params = cell.init(jax.random.key(0), 3)
    xs_TxD = jax.random.normal(jax.random.key(1), (8, 3))
    final, hs = recurrent.run(cell, params, xs_TxD[None], None, impl="vmap")
    s = builder.Builder(cell, params).initial_state()
    np.testing.assert_array_equal(s.output(), jnp.zeros(6))
    for t in range(8):
        s = s.add_input(xs_TxD[t])
        np.testing.assert_allclose(s.output(), hs[0, t], rtol=1e-6, atol=1e-6)
    for got, want in zip(jax.tree.leaves(s.carry), jax.tree.leaves(final), strict=True):
        np.testing.assert_allclose(got, want[0], rtol=1e-6, atol=1e-6)
    outs = builder.Builder(cell, params).initial_state().transduce(xs_TxD)
    np.testing.assert_allclose(jnp.stack(outs), hs[0], rtol=1e-6, atol=1e-6)


def test_states_are_immutable_and_can_branch():
    cell = cells.lstm(4)
    b = builder.Builder(cell, cell.init(jax.random.key(0), 2))
    s0 = b.initial_state().add_input(jnp.ones(2))
    before = s0.output()
    left, right = s0.add_input(jnp.zeros(2)), s0.add_input(jnp.full(2, 3.0))
    np.testing.assert_array_equal(s0.output(), before)
    assert not np.allclose(left.output(), right.output())
    again = s0.add_input(jnp.zeros(2))
    np.testing.assert_array_equal(again.output(), left.output())


def test_initial_state_from_given_carry():
    cell = cells.lstm(4)
    b = builder.Builder(cell, cell.init(jax.random.key(0), 2))
    carry0 = (jnp.full(4, 0.5), jnp.full(4, -1.0))
    s = b.initial_state(carry0)
    np.testing.assert_array_equal(s.output(), carry0[0])
    _, hs = recurrent.run(
        cell, b.params, jnp.ones((1, 1, 2)), None, jax.tree.map(lambda a: a[None], carry0)
    )
    np.testing.assert_allclose(s.add_input(jnp.ones(2)).output(), hs[0, 0], rtol=1e-6)
