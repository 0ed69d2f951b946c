"""Gradients through time: how much does a loss at step T care about the state at step t?

    norms_BxT = hidden_gradient_norms(cell, params, xs_BxTxD, mask_BxT, loss_fn)

‖∂ loss / ∂ h_t‖ for every step t, where the loss is a function of the final hidden
state (e.g. a classifier's, or the next-word loss at the last step). Plotted against
T − t on a log scale it shows the vanishing gradient of an Elman RNN and how the LSTM's
additive cell state avoids it (the lecture's argument, measured).

The trick: a zero perturbation δ_t is added to h_t at every step; ∂ loss / ∂ δ_t at
δ = 0 is ∂ loss / ∂ h_t. It is done by wrapping the cell (so any cell works) and running
the ordinary masked `recurrent.run` on the inputs with δ appended.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from rnnlab import cells, recurrent


def _perturbed(cell: cells.Cell) -> cells.Cell:
    """The same cell, reading [x_D, δ_H] and adding δ to the new hidden state."""

    def step(params, carry, x_and_delta):
        x_D, delta_H = jnp.split(x_and_delta, [x_and_delta.shape[-1] - cell.hidden_size])
        carry, h_H = cell.step(params, carry, x_D)
        h_leaf, *rest = jax.tree.leaves(carry)
        carry = jax.tree.unflatten(jax.tree.structure(carry), [h_leaf + delta_H, *rest])
        return carry, h_H + delta_H

    return cells.Cell(cell.hidden_size, cell.init, cell.initial_carry, step, name=cell.name)


def hidden_gradient_norms(
    cell: cells.Cell,
    params: cells.Params,
    xs_BxTxD: jax.Array,
    mask_BxT: jax.Array | None,
    loss_fn: Callable[[jax.Array], jax.Array],
) -> jax.Array:
    """‖∂ loss_fn(h_final_BxH) / ∂ h_t‖ per example and step; zero at masked steps.

    `loss_fn` maps the final hidden states [B, H] to per-example losses [B]; examples are
    independent, so one backward pass of their sum gives every example's gradients.
    """
    B, T, _ = xs_BxTxD.shape
    H = cell.hidden_size

    def total_loss(delta_BxTxH):
        xs = jnp.concatenate([xs_BxTxD, delta_BxTxH], axis=-1)
        final, _ = recurrent.run(_perturbed(cell), params, xs, mask_BxT, impl="vmap")
        return jnp.sum(loss_fn(cells.carry_output(final)))

    grads_BxTxH = jax.grad(total_loss)(jnp.zeros((B, T, H), xs_BxTxD.dtype))
    return jnp.linalg.norm(grads_BxTxH, axis=-1)


def norms_by_distance(norms_BxT: jax.Array, mask_BxT: jax.Array | None = None) -> jax.Array:
    """Mean gradient norm by distance T − t from each sequence's last real step (index 0)."""
    B, T = norms_BxT.shape
    mask = jnp.ones((B, T), bool) if mask_BxT is None else mask_BxT.astype(bool)
    last_B = T - 1 - jnp.argmax(mask[:, ::-1], axis=1)
    dist_BxT = last_B[:, None] - jnp.arange(T)[None, :]
    valid = mask & (dist_BxT >= 0)
    sums = jnp.zeros(T).at[jnp.where(valid, dist_BxT, 0)].add(jnp.where(valid, norms_BxT, 0.0))
    counts = jnp.zeros(T).at[jnp.where(valid, dist_BxT, 0)].add(valid)
    return jnp.where(counts > 0, sums / jnp.maximum(counts, 1), jnp.nan)
