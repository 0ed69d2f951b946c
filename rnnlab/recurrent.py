"""Run a cell over time (`jax.lax.scan`) and over a batch (`jax.vmap`), with masks.

    final_carry, hs_BxTxH = run(cell, params, xs_BxTxD, mask_BxT, carry0=None, reverse=False)

Mask semantics (pinned down by tests/test_recurrent.py): `mask_BxT` is an explicit 0/1
or bool array; at a masked step the carry passes through unchanged and the output is
zero. Any padding pattern works (right, left, holes), so `final_carry` is the carry after
each sequence's last real step, and padding changes no output, loss or gradient.
`reverse=True` visits each sequence's real steps from last to first and writes every
output back at its own position.

Two formulations compute the same numbers:
- "vmap": the reference. A per-example `lax.scan` of `cell.step`, vmapped over the batch.
- "hoisted" (default when the cell provides `project`/`recur`): the input projection of
  all T steps is one [T·B, D] × [D, G·H] matmul outside the scan; inside the scan only
  the recurrent half runs, vmapped over the batch (XLA turns it into a batched matmul).

Optional levers (keyword-only, each checked against the reference in tests/test_levers.py):
- `unroll=K`: steps per `lax.scan` iteration. The default (None) is 4 on a GPU, where
  it beat 1 on every benchmark shape (1.1–1.4× on an H100), and 1 elsewhere (no gain on
  CPU, longer compiles; see benchmarks/README.md).
- `compute_dtype=jnp.bfloat16`: mixed precision. Weight matrices are cast for the
  matmuls; parameters (and their gradients), biases, gates and carries keep their dtype.
- `remat_chunk=K`: `jax.checkpoint` over chunks of K time steps. The backward pass stores
  only the carries at chunk boundaries and recomputes each chunk's steps, trading about
  one extra forward pass for memory that no longer grows with T·(gate activations).
- `impl="cudnn_lstm"`: `jax.experimental.rnn.lstm` (cuDNN) on a CUDA GPU, LSTM cells
  in float32 only; its sequence lengths allow right padding only.

Truncated BPTT: `run_truncated` runs a long sequence in segments of K steps, cutting the
gradient (not the values) at each boundary. For a stream LM, carry state across batches
by passing the previous batch's final carry through `jax.lax.stop_gradient` as `carry0`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from rnnlab import cells
from rnnlab.cells import Cell, Params

PyTree = Any
IMPLS = ("hoisted", "vmap")
GPU_IMPLS = ("cudnn_lstm",)


def initial_carry_batch(cell: Cell, batch_size: int, dtype=jnp.float32) -> PyTree:
    """The cell's initial carry, broadcast to a leading batch axis."""
    return jax.tree.map(
        lambda a: jnp.broadcast_to(a, (batch_size, *a.shape)), cell.initial_carry(dtype)
    )


def _check(xs_BxTxD: jax.Array, mask_BxT: jax.Array | None) -> jax.Array:
    """Validates shapes; returns the mask as bool (all-true when None)."""
    if xs_BxTxD.ndim != 3:
        raise ValueError(f"xs_BxTxD must have shape [B, T, D], got {xs_BxTxD.shape}")
    B, T, _ = xs_BxTxD.shape
    if mask_BxT is None:
        return jnp.ones((B, T), bool)
    if mask_BxT.shape != (B, T):
        raise ValueError(f"mask_BxT must have shape {(B, T)} to match xs, got {mask_BxT.shape}")
    return mask_BxT.astype(bool)


def _masked(update, params: Params, carry: PyTree, u: jax.Array, real: jax.Array):
    """One example, one step of `update`; a masked step keeps the carry, outputs zero.

    `jnp.where` (not multiplication by the mask) makes the gradient into a padded step
    exactly zero, even where the padded input holds inf or nan.
    """
    new_carry, h_H = update(params, carry, u)
    return _where_real(real, new_carry, carry), jnp.where(real, h_H, jnp.zeros_like(h_H))


def _where_real(real: jax.Array, new: PyTree, old: PyTree) -> PyTree:
    """`new` at real steps (rows), `old` at masked ones; two trees of one structure."""
    return jax.tree.map(lambda n, o: jnp.where(real, n, o), new, old)


def default_unroll() -> int:
    """Steps per scan iteration when the caller gives none: 4 on GPU, else 1."""
    return 4 if jax.default_backend() == "gpu" else 1


def _scan(body, carry, xs, reverse: bool, unroll, remat_chunk: int | None):
    """`lax.scan` of `body` over the leading (time) axis of `xs` (see `_in_chunks`)."""

    def scan(carry, xs):
        return jax.lax.scan(body, carry, xs, reverse=reverse, unroll=unroll)

    return _in_chunks(scan, carry, xs, reverse, remat_chunk)


def _in_chunks(scan, carry, xs, reverse: bool, remat_chunk: int | None):
    """`scan(carry, xs)`, a scan over the leading (time) axis of `xs`.

    With `remat_chunk=K`, an outer scan over ceil(T/K) chunks of a checkpointed `scan`
    of K steps: the backward pass keeps one carry per chunk and recomputes the rest.
    T is padded to a multiple of K with all-zero steps, which must be masked steps (a
    zero mask), so they pass the carry through in either direction.
    """
    if remat_chunk is None:
        return scan(carry, xs)
    if remat_chunk < 1:
        raise ValueError(f"remat_chunk must be >= 1, got {remat_chunk}")
    T = jax.tree.leaves(xs)[0].shape[0]
    K = remat_chunk
    N = -(-T // K)

    def chunked(a):
        a = jnp.pad(a, [(0, N * K - T)] + [(0, 0)] * (a.ndim - 1))
        return a.reshape(N, K, *a.shape[1:])

    chunk = jax.checkpoint(scan)
    carry, ys_NxK = jax.lax.scan(chunk, carry, jax.tree.map(chunked, xs), reverse=reverse)
    return carry, jax.tree.map(lambda a: a.reshape(N * K, *a.shape[2:])[:T], ys_NxK)


def _run_vmap(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, scan_kwargs):
    def one_example(xs_TxD, mask_T, carry):
        def body(carry, x_and_real):
            return _masked(cell.step, params, carry, *x_and_real)

        return _scan(body, carry, (xs_TxD, mask_T), reverse, **scan_kwargs)

    return jax.vmap(one_example)(xs_BxTxD, mask_BxT, carry0)


def _run_hoisted(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, scan_kwargs):
    gx_TxBxG = cell.project(params, jnp.swapaxes(xs_BxTxD, 0, 1))
    if cell.activate is not None:
        activate, unroll, U_HxG = cell.activate, scan_kwargs["unroll"], params["U_HxG"]

        def scan(carry, xs):
            gx_TxBxG, real_TxB = xs
            return _additive_scan(activate, reverse, unroll, U_HxG, carry, gx_TxBxG, real_TxB)

        xs = (gx_TxBxG, mask_BxT.T)
        carry, hs_TxBxH = _in_chunks(scan, carry0, xs, reverse, scan_kwargs["remat_chunk"])
        return carry, jnp.swapaxes(hs_TxBxH, 0, 1)
    recur_B = jax.vmap(functools.partial(_masked, cell.recur, params))

    def body(carry_B, gx_and_real):
        return recur_B(carry_B, *gx_and_real)

    carry, hs_TxBxH = _scan(body, carry0, (gx_TxBxG, mask_BxT.T), reverse, **scan_kwargs)
    return carry, jnp.swapaxes(hs_TxBxH, 0, 1)


# ------------------------------------------ additive cells: U's gradient after the loop
#
# For z = gx + h @ U (Elman, LSTM), autodiff of the scan adds the rank-B update
# h_tᵀ dz_t to dU at every step: a pass over the whole [H, G·H] matrix per step, which is
# memory-bound. This custom VJP keeps every dz_t instead and forms dU as one
# [H, T·B] x [T·B, G·H] matmul after the backward loop (cuDNN and PyTorch do the same).
# Values and the other gradients are the same computation as the plain hoisted path;
# dU differs only by summation order (tests/test_levers.py, tests/test_recurrent.py).


def _additive_step(activate, U_HxG, carry_B, gx_BxG, real_B):
    """One batched step: (new carry, output, pre-activation z). Masked rows keep the
    carry and output zero."""
    z_BxG = gx_BxG + cells.matmul(cells.carry_output(carry_B), U_HxG)
    new_carry_B, h_BxH = jax.vmap(activate)(carry_B, z_BxG)
    real_Bx1 = real_B[:, None]
    h_BxH = jnp.where(real_Bx1, h_BxH, jnp.zeros_like(h_BxH))
    return _where_real(real_Bx1, new_carry_B, carry_B), h_BxH, z_BxG


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _additive_scan(activate, reverse, unroll, U_HxG, carry0, gx_TxBxG, real_TxB):
    def body(carry_B, gx_and_real):
        carry_B, h_BxH, _ = _additive_step(activate, U_HxG, carry_B, *gx_and_real)
        return carry_B, h_BxH

    return jax.lax.scan(body, carry0, (gx_TxBxG, real_TxB), reverse=reverse, unroll=unroll)


def _additive_scan_fwd(activate, reverse, unroll, U_HxG, carry0, gx_TxBxG, real_TxB):
    def body(carry_B, gx_and_real):
        new_carry_B, h_BxH, z_BxG = _additive_step(activate, U_HxG, carry_B, *gx_and_real)
        return new_carry_B, (h_BxH, carry_B, z_BxG)

    xs = (gx_TxBxG, real_TxB)
    carry, (hs_TxBxH, carries_T, z_TxBxG) = jax.lax.scan(
        body, carry0, xs, reverse=reverse, unroll=unroll
    )
    return (carry, hs_TxBxH), (U_HxG, carries_T, z_TxBxG, real_TxB)


def _additive_scan_bwd(activate, reverse, unroll, residuals, cotangents):
    U_HxG, carries_T, z_TxBxG, real_TxB = residuals
    d_carry, d_hs_TxBxH = cotangents
    U_GxH = U_HxG.T

    def body(d_carry_B, step):
        carry_B, z_BxG, real_B, d_h_BxH = step
        _, activate_vjp = jax.vjp(jax.vmap(activate), carry_B, z_BxG)
        d_prev_B, d_z_BxG = activate_vjp((d_carry_B, d_h_BxH))
        real_Bx1 = real_B[:, None]
        d_z_BxG = jnp.where(real_Bx1, d_z_BxG, jnp.zeros_like(d_z_BxG))
        leaves, treedef = jax.tree.flatten(d_prev_B)  # h, the first leaf, also fed z
        leaves[0] = leaves[0] + cells.matmul(d_z_BxG, U_GxH)
        d_prev_B = jax.tree.unflatten(treedef, leaves)
        return _where_real(real_Bx1, d_prev_B, d_carry_B), d_z_BxG

    steps = (carries_T, z_TxBxG, real_TxB, d_hs_TxBxH)
    d_carry0, d_z_TxBxG = jax.lax.scan(body, d_carry, steps, reverse=not reverse, unroll=unroll)
    h_TxBxH = cells.carry_output(carries_T).astype(U_HxG.dtype)
    accumulate = jnp.promote_types(U_HxG.dtype, jnp.float32)  # bf16 U: f32 sums
    d_U_HxG = jnp.einsum(
        "tbh,tbg->hg", h_TxBxH, d_z_TxBxG.astype(U_HxG.dtype), preferred_element_type=accumulate
    ).astype(U_HxG.dtype)
    return d_U_HxG, d_carry0, d_z_TxBxG, None


_additive_scan.defvjp(_additive_scan_fwd, _additive_scan_bwd)


def _right_padded_lengths(mask_BxT: jax.Array) -> jax.Array:
    """Sequence lengths; raises when a concrete mask is not right padding."""
    lengths_B = jnp.sum(mask_BxT, axis=1, dtype=jnp.int32)
    if not isinstance(mask_BxT, jax.core.Tracer):
        prefix_BxT = jnp.arange(mask_BxT.shape[1])[None, :] < lengths_B[:, None]
        if not bool(jnp.all(prefix_BxT == mask_BxT)):
            raise ValueError(
                "impl='cudnn_lstm' takes sequence lengths: mask_BxT must be right padding "
                "(each row 1…1 0…0); use impl='hoisted' for left padding or holes"
            )
    return lengths_B


def _run_cudnn_lstm(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, lstm_fn):
    """One LSTM layer through `lstm_fn` (`jax.experimental.rnn.lstm`: cuDNN's layout).

    cuDNN packs W_ih [4H, D], W_hh [4H, H], b_ih, b_hh in the gate order i, f, g, o,
    the same order as `cells.lstm`. `reverse` runs each sequence's real steps backwards
    by reversing them in place (an index map that is its own inverse).
    """
    B, T, D = xs_BxTxD.shape
    H = cell.hidden_size
    lengths_B = _right_padded_lengths(mask_BxT)
    if reverse:
        t_BxT = jnp.broadcast_to(jnp.arange(T), (B, T))
        idx_BxT = jnp.where(mask_BxT, lengths_B[:, None] - 1 - t_BxT, t_BxT)
        xs_BxTxD = jnp.take_along_axis(xs_BxTxD, idx_BxT[..., None], axis=1)
    weights = jnp.concatenate(
        [
            params["W_DxG"].T.ravel(),
            params["U_HxG"].T.ravel(),
            params["b_G"],
            jnp.zeros_like(params["b_G"]),
        ]
    )
    h0_BxH, c0_BxH = carry0
    hs_BxTxH, h_1xBxH, c_1xBxH = lstm_fn(
        xs_BxTxD, h0_BxH[None], c0_BxH[None], weights, lengths_B, D, H, 1, 0.0, False
    )
    if reverse:
        hs_BxTxH = jnp.take_along_axis(hs_BxTxH, idx_BxT[..., None], axis=1)
    # An empty sequence keeps carry0 (whatever cuDNN does with a zero length).
    empty_Bx1 = (lengths_B == 0)[:, None]
    carry = (jnp.where(empty_Bx1, h0_BxH, h_1xBxH[0]), jnp.where(empty_Bx1, c0_BxH, c_1xBxH[0]))
    return carry, jnp.where(mask_BxT[..., None], hs_BxTxH, jnp.zeros_like(hs_BxTxH))


def _cudnn_lstm_fn(cell: Cell, xs_BxTxD: jax.Array, compute_dtype, remat_chunk):
    """`jax.experimental.rnn.lstm`, after checking that this call can use it."""
    if cell.name != "lstm":
        raise ValueError(f"impl='cudnn_lstm' runs LSTM cells only, got a {cell.name} cell")
    if xs_BxTxD.dtype != jnp.float32 or compute_dtype is not None or remat_chunk is not None:
        raise ValueError(
            "impl='cudnn_lstm' is float32 only, without compute_dtype or remat_chunk; "
            f"got xs of dtype {xs_BxTxD.dtype}"
        )
    if jax.default_backend() != "gpu":
        raise ValueError(
            "impl='cudnn_lstm' needs a CUDA GPU (jax.experimental.rnn); the default "
            f"backend is {jax.default_backend()!r}: use impl='hoisted'"
        )
    from jax.experimental import rnn as jax_rnn

    return jax_rnn.lstm


def run(
    cell: Cell,
    params: Params,
    xs_BxTxD: jax.Array,
    mask_BxT: jax.Array | None,
    carry0: PyTree | None = None,
    reverse: bool = False,
    *,
    impl: str | None = None,
    unroll: int | bool | None = None,
    compute_dtype: Any = None,
    remat_chunk: int | None = None,
) -> tuple[PyTree, jax.Array]:
    """Runs `cell` over a batch of padded sequences.

    Args:
      mask_BxT: 1/True at real steps; None means every step is real.
      carry0: a batched carry (leading axis B); None starts from `cell.initial_carry()`.
      reverse: visit real steps from last to first (outputs stay at their positions).
      impl: "hoisted", "vmap" or "cudnn_lstm" (see module docstring); None picks
        "hoisted" when the cell can hoist its input projection.
      unroll: passed to `lax.scan` (steps per loop iteration); None: `default_unroll()`.
      compute_dtype: e.g. jnp.bfloat16: the dtype of every matmul (mixed precision).
      remat_chunk: recompute the backward pass in chunks of this many steps.

    Returns:
      (final_carry, hs_BxTxH), with zeros in hs at masked steps.
    """
    mask_BxT = _check(xs_BxTxD, mask_BxT)
    # Padding is never read: with garbage (even nan) at masked steps, every value and
    # gradient stays the same, and the gradient into padded inputs is exactly zero.
    xs_BxTxD = jnp.where(mask_BxT[..., None], xs_BxTxD, jnp.zeros_like(xs_BxTxD))
    if carry0 is None:
        carry0 = initial_carry_batch(cell, xs_BxTxD.shape[0], xs_BxTxD.dtype)
    impl = impl or ("hoisted" if cell.can_hoist else "vmap")
    if impl == "cudnn_lstm":
        lstm_fn = _cudnn_lstm_fn(cell, xs_BxTxD, compute_dtype, remat_chunk)
        return _run_cudnn_lstm(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, lstm_fn)
    if compute_dtype is not None:
        # Matrices only: biases stay in the carry's precision (they are added, not multiplied).
        params = jax.tree.map(lambda a: a.astype(compute_dtype) if a.ndim >= 2 else a, params)
    unroll = default_unroll() if unroll is None else unroll
    scan_kwargs = {"unroll": unroll, "remat_chunk": remat_chunk}
    if impl == "hoisted":
        if not cell.can_hoist:
            raise ValueError(f"impl='hoisted' needs a cell with project/recur; {cell.name} has not")
        return _run_hoisted(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, scan_kwargs)
    if impl == "vmap":
        return _run_vmap(cell, params, xs_BxTxD, mask_BxT, carry0, reverse, scan_kwargs)
    raise ValueError(f"unknown impl {impl!r}; expected one of {IMPLS + GPU_IMPLS}")


# --------------------------------------------------------------------------- bidirectional


def init_bidirectional(cell: Cell, key: jax.Array, input_size: int) -> dict[str, Params]:
    k_fw, k_bw = jax.random.split(key)
    return {"fw": cell.init(k_fw, input_size), "bw": cell.init(k_bw, input_size)}


def run_bidirectional(
    cell: Cell,
    params: dict[str, Params],
    xs_BxTxD: jax.Array,
    mask_BxT: jax.Array | None,
    carry0: tuple[PyTree, PyTree] | None = None,
    **run_kwargs,
) -> tuple[tuple[PyTree, PyTree], jax.Array]:
    """A forward and a backward run, outputs concatenated position by position.

    Returns ((carry_fw, carry_bw), hs_BxTx2H): `carry_fw` is the state after each
    sequence's last real step and `carry_bw` after its first, so concatenating their
    hidden states gives the course's sentence representation.
    """
    carry0_fw, carry0_bw = (None, None) if carry0 is None else carry0
    carry_fw, hs_fw = run(cell, params["fw"], xs_BxTxD, mask_BxT, carry0_fw, **run_kwargs)
    carry_bw, hs_bw = run(
        cell, params["bw"], xs_BxTxD, mask_BxT, carry0_bw, reverse=True, **run_kwargs
    )
    return (carry_fw, carry_bw), jnp.concatenate([hs_fw, hs_bw], axis=-1)


# --------------------------------------------------------------------------- layers


def init_layers(
    cell: Cell, key: jax.Array, input_size: int, num_layers: int, bidirectional: bool = False
) -> list:
    """Parameters of a stack of `num_layers` layers of `cell` (a list, one entry a layer)."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    keys = jax.random.split(key, num_layers)
    width = 2 * cell.hidden_size if bidirectional else cell.hidden_size
    sizes = [input_size] + [width] * (num_layers - 1)
    init = functools.partial(init_bidirectional, cell) if bidirectional else cell.init
    return [init(k, d) for k, d in zip(keys, sizes, strict=True)]


def dropout(key: jax.Array, rate: float, xs: jax.Array) -> jax.Array:
    """Inverted dropout: zero a fraction `rate`, scale the rest by 1/(1 − rate)."""
    if rate == 0.0:
        return xs
    keep = jax.random.bernoulli(key, 1.0 - rate, xs.shape)
    return jnp.where(keep, xs / (1.0 - rate), jnp.zeros_like(xs))


def run_layers(
    cell: Cell,
    layer_params: Sequence,
    xs_BxTxD: jax.Array,
    mask_BxT: jax.Array | None,
    carry0: Sequence | None = None,
    *,
    bidirectional: bool = False,
    dropout_rate: float = 0.0,
    dropout_key: jax.Array | None = None,
    return_states: bool = False,
    segment_length: int = 0,
    **run_kwargs,
) -> tuple[list, jax.Array] | tuple[list, jax.Array, list]:
    """A stack of recurrent layers with dropout *between* layers (not after the last).

    Returns (one final carry per layer, hs_BxTxH of the top layer). Dropout needs an
    explicit `dropout_key`; pass `dropout_rate=0` for evaluation. `segment_length` K > 0
    runs every layer with `run_truncated` (unidirectional only): the same values, the
    gradient cut every K steps counted from step 0.

    `return_states=True` adds a third item for analysis (an LSTM's c as well as h): one
    carry per layer holding that layer's carry at every step, leaves [B, T, H] (zero at
    masked steps; [B, T, 2H] when bidirectional, forward units first).
    """
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    if dropout_rate > 0.0 and dropout_key is None:
        raise ValueError("dropout_rate > 0 needs an explicit dropout_key")
    layer_fn = run_bidirectional if bidirectional else run
    if segment_length:
        if bidirectional:
            raise ValueError("segment_length (truncated BPTT) needs unidirectional layers")

        def layer_fn(cell, params, xs_BxTxD, mask_BxT, carry0, **kwargs):
            return run_truncated(cell, params, xs_BxTxD, mask_BxT, segment_length, carry0, **kwargs)

    carry0 = [None] * len(layer_params) if carry0 is None else carry0
    carries, states, hs = [], [], xs_BxTxD
    for layer, (params, c0) in enumerate(zip(layer_params, carry0, strict=True)):
        if layer > 0 and dropout_rate > 0.0:
            hs = dropout(jax.random.fold_in(dropout_key, layer), dropout_rate, hs)
        if return_states:
            carry, hs, steps = _run_with_states(
                cell, params, hs, mask_BxT, c0, bidirectional, run_kwargs
            )
            states.append(steps)
        else:
            carry, hs = layer_fn(cell, params, hs, mask_BxT, c0, **run_kwargs)
        carries.append(carry)
    return (carries, hs, states) if return_states else (carries, hs)


def _run_with_states(cell: Cell, params, xs_BxTxD, mask_BxT, carry0, bidirectional, run_kwargs):
    """(final carry, hs_BxTxH, carry at every step) of one layer. The cell is wrapped to
    output its output and every carry leaf side by side, so one run gives both (and a
    hoistable cell stays hoisted)."""
    if run_kwargs.get("impl") == "cudnn_lstm":
        raise ValueError("return_states needs impl='hoisted' or 'vmap' (cuDNN gives no carries)")
    leaves, treedef = jax.tree.flatten(cell.initial_carry())
    if any(leaf.ndim != 1 for leaf in leaves):
        raise ValueError(f"{cell.name}: return_states needs carry leaves that are vectors")

    def emit(update):
        def wrapped(params, carry, u):
            carry, h = update(params, carry, u)
            return carry, jnp.concatenate([h, *jax.tree.leaves(carry)], axis=-1)

        return wrapped

    if cell.can_hoist:  # `step` is re-derived from the wrapped `recur`
        emitting = dataclasses.replace(cell, recur=emit(cell.recur), step=None, activate=None)
    else:
        emitting = dataclasses.replace(cell, step=emit(cell.step))
    layer_fn = run_bidirectional if bidirectional else run
    carry, out_BxTxE = layer_fn(emitting, params, xs_BxTxD, mask_BxT, carry0, **run_kwargs)
    directions = jnp.split(out_BxTxE, 2, axis=-1) if bidirectional else [out_BxTxE]
    sizes = [leaf.shape[0] for leaf in leaves]
    h_size = directions[0].shape[-1] - sum(sizes)
    cuts = list(itertools.accumulate([h_size, *sizes[:-1]]))
    pieces = [jnp.split(d, cuts, axis=-1) for d in directions]  # per direction: h, *leaves
    hs_BxTxH, *steps = (jnp.concatenate(p, axis=-1) for p in zip(*pieces, strict=True))
    return carry, hs_BxTxH, jax.tree.unflatten(treedef, steps)


# --------------------------------------------------------------------------- truncated BPTT


def run_truncated(
    cell: Cell,
    params: Params,
    xs_BxTxD: jax.Array,
    mask_BxT: jax.Array | None,
    segment_length: int,
    carry0: PyTree | None = None,
    **run_kwargs,
) -> tuple[PyTree, jax.Array]:
    """`run` in segments of K steps, with `stop_gradient` on the carry between segments.

    Forward values equal one long `run`; the gradient of a loss at step t flows back only
    to the start of t's segment (and, for the first segment, into `carry0`). T need not
    be a multiple of K: the last segment is padded with masked steps.
    """
    mask_BxT = _check(xs_BxTxD, mask_BxT)
    if run_kwargs.get("reverse"):
        raise ValueError("run_truncated runs forward in time; reverse is not supported")
    if segment_length < 1:
        raise ValueError(f"segment_length must be >= 1, got {segment_length}")
    B, T, D = xs_BxTxD.shape
    K = segment_length
    N = -(-T // K)
    pad = N * K - T
    xs_NxBxKxD = jnp.pad(xs_BxTxD, ((0, 0), (0, pad), (0, 0))).reshape(B, N, K, D).swapaxes(0, 1)
    mask_NxBxK = jnp.pad(mask_BxT, ((0, 0), (0, pad))).reshape(B, N, K).swapaxes(0, 1)
    if carry0 is None:
        carry0 = initial_carry_batch(cell, B, xs_BxTxD.dtype)

    def segment(carry, inputs):
        n, xs_BxKxD, mask_BxK = inputs
        # Values pass unchanged; the gradient is cut at every boundary but the first.
        carry = jax.tree.map(lambda c: jnp.where(n == 0, c, jax.lax.stop_gradient(c)), carry)
        return run(cell, params, xs_BxKxD, mask_BxK, carry, **run_kwargs)

    carry, hs_NxBxKxH = jax.lax.scan(segment, carry0, (jnp.arange(N), xs_NxBxKxD, mask_NxBxK))
    hs_BxTxH = hs_NxBxKxH.swapaxes(0, 1).reshape(B, N * K, -1)[:, :T]
    return carry, hs_BxTxH
