"""Recurrent cells as pure per-example functions.

A cell is three pure functions (the core contract):

    params = cell.init(key, input_size)           # a pytree of arrays
    carry = cell.initial_carry()                  # ONE example's carry
    carry, h_H = cell.step(params, carry, x_D)    # ONE example, ONE time step

Batching (`jax.vmap`) and time (`jax.lax.scan`) are added by `rnnlab.recurrent`.
Every step here is "take input, update state"; by convention the first leaf of a carry
is the hidden state h (an LSTM carries `(h, c)`).

The built-in cells also split `step` into `project` (the input half, which does not
depend on the carry) and `recur` (the rest). `step` is *defined* as
`recur(params, carry, project(params, x_D))`, so the fast path in `rnnlab.recurrent`,
which runs `project` once over all time steps as one big matmul, does the same
arithmetic as the per-step reference. A user-defined cell needs only the three contract
functions: `Cell(hidden_size, init, initial_carry, step)`.

Where the recurrent matrix enters only as `z = gx + h @ U_HxG` (Elman, LSTM; not the
GRU, whose reset gate acts before the matmul), the cell also gives `activate(carry, z)`,
the elementwise rest, and `recur` is derived from it. That lets `rnnlab.recurrent` take
the gradient of U as one big matmul after the backward loop (as cuDNN does) instead of a
rank-B update at every step.

Gates are fused: one `[D, G·H]` input matrix and one `[H, G·H]` recurrent matrix per cell
(G = 4 for the LSTM in the order i, f, g, o; G = 3 for the GRU in the order r, z, n).

Every matmul runs in the dtype of its weight matrix and returns the promoted dtype of
its operands (`matmul`): with bfloat16 matrices and a float32 carry, the matmuls are
bfloat16 while gates, carries and biases stay float32 (mixed precision, see
`recurrent.run(..., compute_dtype=...)`). When the dtypes agree it is plain `x @ W`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

PyTree = Any
Params = dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class Cell:
    """A recurrent cell: pure functions plus the hidden size.

    `project`/`recur` are optional; when both are given, `step` may be omitted and is
    derived from them (and `rnnlab.recurrent.run` can hoist `project` out of the scan).
    """

    hidden_size: int
    init: Callable[[jax.Array, int], Params]
    initial_carry: Callable[..., PyTree]
    step: Callable[[Params, PyTree, jax.Array], tuple[PyTree, jax.Array]] | None = None
    project: Callable[[Params, jax.Array], jax.Array] | None = None
    recur: Callable[[Params, PyTree, jax.Array], tuple[PyTree, jax.Array]] | None = None
    name: str = "custom"
    # recur(params, carry, gx) == activate(carry, gx + matmul(h, params["U_HxG"])), h the
    # carry's first leaf. Clear it when replacing `recur` by something else.
    activate: Callable[[PyTree, jax.Array], tuple[PyTree, jax.Array]] | None = None

    def __post_init__(self):
        if not isinstance(self.hidden_size, int) or self.hidden_size <= 0:
            raise ValueError(
                f"{self.name}: hidden_size must be a positive int, got {self.hidden_size!r}"
            )
        if self.activate is not None and self.recur is None:
            object.__setattr__(self, "recur", _additive_recur(self.activate))
        if (self.project is None) != (self.recur is None):
            raise ValueError(f"{self.name}: give both `project` and `recur`, or neither")
        if self.step is None:
            if self.project is None:
                raise ValueError(f"{self.name}: give `step`, or `project` and `recur`")
            project, recur = self.project, self.recur

            def step(params, carry, x_D):
                return recur(params, carry, project(params, x_D))

            object.__setattr__(self, "step", step)

    @property
    def can_hoist(self) -> bool:
        """Whether the input projection can be hoisted out of the time loop."""
        return self.project is not None


def _additive_recur(activate):
    def recur(params, carry, gx_G):
        return activate(carry, gx_G + matmul(carry_output(carry), params["U_HxG"]))

    return recur


def carry_output(carry: PyTree) -> jax.Array:
    """The hidden state h of a carry (by convention its first leaf)."""
    return jax.tree.leaves(carry)[0]


# --------------------------------------------------------------------------- init


def _orthogonal_blocks(key, hidden_size: int, num_gates: int, dtype) -> jax.Array:
    """[H, G·H]: an independent orthogonal H×H block per gate (Saxe et al. 2014)."""
    init = jax.nn.initializers.orthogonal()
    keys = jax.random.split(key, num_gates)
    return jnp.concatenate([init(k, (hidden_size, hidden_size), dtype) for k in keys], axis=1)


def _gated_init(
    hidden_size: int, num_gates: int, bias_G: Callable[[Any], jax.Array], param_dtype
) -> Callable[[jax.Array, int], Params]:
    """Fused-gate parameters: W [D, G·H] (Glorot), U [H, G·H] (orthogonal), b [G·H]."""

    def init(key: jax.Array, input_size: int) -> Params:
        if not isinstance(input_size, int) or input_size <= 0:
            raise ValueError(f"input_size must be a positive int, got {input_size!r}")
        k_w, k_u = jax.random.split(key)
        G = num_gates * hidden_size
        W = jax.nn.initializers.glorot_uniform()(k_w, (input_size, G), param_dtype)
        return {
            "W_DxG": W,
            "U_HxG": _orthogonal_blocks(k_u, hidden_size, num_gates, param_dtype),
            "b_G": bias_G(param_dtype),
        }

    return init


def matmul(x: jax.Array, W: jax.Array) -> jax.Array:
    """x @ W computed in W's dtype, returned in the promoted dtype of x and W."""
    out_dtype = jnp.promote_types(x.dtype, W.dtype)
    return jnp.matmul(x.astype(W.dtype), W).astype(out_dtype)


def _project(params: Params, xs_xD: jax.Array) -> jax.Array:
    """x @ W + b for any leading shape (one step, or all steps of a batch at once)."""
    return matmul(xs_xD, params["W_DxG"]) + params["b_G"]


def _zeros_carry(hidden_size: int, num_states: int) -> Callable[..., PyTree]:
    def initial_carry(dtype=jnp.float32) -> PyTree:
        zeros_H = jnp.zeros((hidden_size,), dtype)
        return zeros_H if num_states == 1 else (zeros_H,) * num_states

    return initial_carry


# --------------------------------------------------------------------------- cells


def elman(hidden_size: int, param_dtype=jnp.float32) -> Cell:
    """Elman (simple) RNN: h' = tanh(W x + U h + b)."""

    def activate(h_H, z_H):
        h_H = jnp.tanh(z_H)
        return h_H, h_H

    return Cell(
        hidden_size=hidden_size,
        init=_gated_init(hidden_size, 1, lambda dt: jnp.zeros((hidden_size,), dt), param_dtype),
        initial_carry=_zeros_carry(hidden_size, 1),
        project=_project,
        activate=activate,
        name="elman",
    )


def lstm(hidden_size: int, param_dtype=jnp.float32) -> Cell:
    """LSTM (Hochreiter & Schmidhuber 1997, with forget gate; no peepholes).

    Gates i, f, g, o; c' = f·c + i·g; h' = o·tanh(c'). The forget-gate bias starts at 1 so
    that early in training the cell remembers by default (Jozefowicz et al. 2015).
    """
    H = hidden_size

    def bias_G(dtype):
        return jnp.zeros((4 * H,), dtype).at[H : 2 * H].set(1.0)

    def activate(carry, z_G):
        _, c_H = carry
        i, f, g, o = jnp.split(z_G, 4, axis=-1)
        c_H = jax.nn.sigmoid(f) * c_H + jax.nn.sigmoid(i) * jnp.tanh(g)
        h_H = jax.nn.sigmoid(o) * jnp.tanh(c_H)
        return (h_H, c_H), h_H

    return Cell(
        hidden_size=H,
        init=_gated_init(H, 4, bias_G, param_dtype),
        initial_carry=_zeros_carry(H, 2),
        project=_project,
        activate=activate,
        name="lstm",
    )


def gru(hidden_size: int, param_dtype=jnp.float32) -> Cell:
    """GRU as in Cho et al. (2014): the reset gate acts on h *before* the recurrent matmul.

    r = σ(W_r x + U_r h + b_r), z = σ(W_z x + U_z h + b_z),
    n = tanh(W_n x + U_n (r·h) + b_n), h' = z·h + (1 − z)·n.
    (cuDNN/PyTorch apply r after the matmul instead; that is a different model.)
    """
    H = hidden_size

    def recur(params, h_H, gx_G):
        U_HxG = params["U_HxG"]
        rz_2H = jax.nn.sigmoid(gx_G[..., : 2 * H] + matmul(h_H, U_HxG[:, : 2 * H]))
        r_H, z_H = rz_2H[..., :H], rz_2H[..., H:]
        n_H = jnp.tanh(gx_G[..., 2 * H :] + matmul(r_H * h_H, U_HxG[:, 2 * H :]))
        h_H = z_H * h_H + (1.0 - z_H) * n_H
        return h_H, h_H

    return Cell(
        hidden_size=H,
        init=_gated_init(H, 3, lambda dt: jnp.zeros((3 * H,), dt), param_dtype),
        initial_carry=_zeros_carry(H, 1),
        project=_project,
        recur=recur,
        name="gru",
    )


CELLS: dict[str, Callable[..., Cell]] = {"elman": elman, "rnn": elman, "lstm": lstm, "gru": gru}


def make(name: str, hidden_size: int, **kwargs) -> Cell:
    """A cell by name (for configs): 'elman' (alias 'rnn'), 'lstm' or 'gru'."""
    try:
        factory = CELLS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown cell {name!r}; expected one of {sorted(CELLS)}") from None
    return factory(hidden_size, **kwargs)
