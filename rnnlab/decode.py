"""Greedy and beam-search decoding of any autoregressive decoder, under `jax.jit`.

    tokens_BxN, lengths_B, scores_B = greedy(step, carry0, bos_B, eos_id=2, max_len=N)
    tokens_BxKxN, lengths_BxK, scores_BxK = beam_search(step, carry0, bos_B, beam_size=K,
                                                       eos_id=2, max_len=N)
    step = ensemble(step_a, step_b)     # carry: (carry_a, carry_b); mean of probabilities

The decoder is a pure step function `carry, logits_BxV = step(carry, tokens_B)`. `carry`
is any pytree whose leaves ALL have the batch as leading axis and keep their shapes: the
decoder state, and for attention the encoder states `memory_BxSxH` and source mask
`mask_BxS`, which `step` reads and passes through. Beam search runs `step` on B*K rows
(row b*K + k is beam k of example b) and reorders the carry by back-pointer each step,
except the leaves `step` returns as the very objects it got (`return (state, memory),
logits`): those are the same for all beams of a row, and copying them would double the
cost of decoding with attention.

Bind the arrays `step` reads as arguments, not closures: `jax.tree_util.Partial(fn,
params)` calls `fn(params, carry, tokens_B)`, with `params` traced. `fn` itself is part of
the compilation key (compared with ==): a module-level function, or one built once and
kept (with flax: `fn = functools.partial(model.apply, method="decode_step")`), reuses the
compiled search for new params; a lambda made anew per call recompiles every call.

Semantics, both functions:
- a hypothesis is the tokens emitted after `bos_B`; it ends when it emits `eos_id`, or
  after `max_len` tokens without it;
- its log-probability is the sum of `log_softmax(logits)` at every emitted token, EOS
  included: minus the teacher-forced loss of the same target. `banned_ids` (padding,
  `<s>`) are never emitted; the others keep the model's own probabilities (no
  renormalisation);
- `tokens` hold the tokens before EOS, then `pad_id`; `lengths` count them (`max_len` for
  a hypothesis cut at the maximum length).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


def greedy(
    step: Step,
    carry0: Any,
    bos_B: jax.Array,
    *,
    eos_id: int,
    max_len: int,
    banned_ids: Sequence[int] = (),
    pad_id: int = 0,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The most probable next token at every step: `tokens_BxN, lengths_B, scores_B`.

    `scores_B` is the log-probability of each output (module docstring); N = max_len.
    """
    step, bos_B, banned_ids = _checked(step, carry0, bos_B, eos_id, max_len, banned_ids, 1)
    return _greedy(
        step, carry0, bos_B, eos_id=eos_id, max_len=max_len, banned_ids=banned_ids, pad_id=pad_id
    )


def beam_search(
    step: Step,
    carry0: Any,
    bos_B: jax.Array,
    *,
    beam_size: int,
    eos_id: int,
    max_len: int,
    length_alpha: float = 0.0,
    banned_ids: Sequence[int] = (),
    pad_id: int = 0,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The `beam_size` best hypotheses per row, best first: `tokens_BxKxN, lengths_BxK, scores_BxK`.

    score = log-probability / L**length_alpha, where L is the number of emitted tokens
    (lengths + 1 with the EOS, max_len without); length_alpha 0 is the plain log-probability.

    Each step extends every live hypothesis by every token and keeps the K best of the K×V
    extensions by log-probability, as greedy does, so beam_size=1 IS greedy decoding, bit
    for bit. Kept extensions that end leave the beam for a set of the K best finished
    hypotheses (by score); the rest stay live, so the beam can shrink. (flax's wmt example
    instead refills K live beams from the top 2K, which makes beam_size=1 differ from
    greedy.) The loop stops after max_len steps, or once no live hypothesis can enter the
    finished set: extending lowers the log-probability s <= 0, so the best score a live one
    can still reach is s / max(L**alpha) over the lengths it can still reach.

    A slot with no hypothesis (fewer than K possible outputs) has score -inf, length 0 and
    only padding.
    """
    step, bos_B, banned_ids = _checked(step, carry0, bos_B, eos_id, max_len, banned_ids, beam_size)
    return _beam_search(
        step,
        carry0,
        bos_B,
        jnp.float32(length_alpha),
        beam_size=beam_size,
        eos_id=eos_id,
        max_len=max_len,
        banned_ids=banned_ids,
        pad_id=pad_id,
    )


def ensemble(*steps: Step) -> Step:
    """One decoder from several: its carry is the tuple of theirs, its next-token
    distribution the mean of their probabilities (an ensemble of models of one
    vocabulary; one step is returned as it is). The members' pass-through leaves stay
    pass-through, so beam search still keeps one copy of each encoder memory per row."""
    if len(steps) == 1:
        return steps[0]
    return jax.tree_util.Partial(_ensemble_step, tuple(map(_as_partial, steps)))


def _ensemble_step(steps, carries, tokens_B):
    outs = [step(carry, tokens_B) for step, carry in zip(steps, carries, strict=True)]
    logp_MxBxV = jnp.stack([jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
                            for _, logits in outs])  # fmt: skip
    return tuple(c for c, _ in outs), jax.nn.logsumexp(logp_MxBxV, axis=0) - jnp.log(len(outs))


def _as_partial(step: Step) -> jax.tree_util.Partial:
    # A Partial is a pytree: its bound arrays are traced, its function is a static key.
    return step if isinstance(step, jax.tree_util.Partial) else jax.tree_util.Partial(step)


def _checked(step, carry0, bos_B, eos_id, max_len, banned_ids, beam_size):
    if max_len < 1 or beam_size < 1:
        raise ValueError(f"max_len ({max_len}) and beam_size ({beam_size}) must be >= 1")
    banned_ids = tuple(sorted({int(i) for i in banned_ids}))
    if eos_id in banned_ids:
        raise ValueError(f"eos_id {eos_id} is among banned_ids {banned_ids}")
    bos_B = jnp.asarray(bos_B, jnp.int32)
    for path, leaf in jax.tree_util.tree_leaves_with_path(carry0):
        if jnp.ndim(leaf) == 0 or jnp.shape(leaf)[0] != bos_B.shape[0]:
            raise ValueError(
                f"carry leaf {jax.tree_util.keystr(path)} has shape {jnp.shape(leaf)}; every "
                f"leaf needs the batch ({bos_B.shape[0]}) as leading axis"
            )
    return _as_partial(step), bos_B, banned_ids


def _log_probs(logits_RxV: jax.Array, banned_ids: tuple[int, ...]) -> jax.Array:
    logp_RxV = jax.nn.log_softmax(logits_RxV.astype(jnp.float32), axis=-1)
    if banned_ids:
        logp_RxV = logp_RxV.at[:, jnp.array(banned_ids)].set(-jnp.inf)
    return logp_RxV


@functools.partial(jax.jit, static_argnames=("eos_id", "max_len", "banned_ids", "pad_id"))
def _greedy(step, carry0, bos_B, *, eos_id, max_len, banned_ids, pad_id):
    B = bos_B.shape[0]

    def running(state):
        t, *_, done_B = state
        return (t < max_len) & ~jnp.all(done_B)

    def one_step(state):
        t, carry, token_B, tokens_BxN, lengths_B, scores_B, done_B = state
        carry, logits_BxV = step(carry, token_B)
        # The argmax of the running total, not of the step's log-probabilities alone, so
        # that float ties break exactly as in beam search's top-k.
        total_BxV = scores_B[:, None] + _log_probs(logits_BxV, banned_ids)
        token_B = jnp.argmax(total_BxV, axis=-1).astype(jnp.int32)
        scores_B = jnp.where(done_B, scores_B, jnp.max(total_BxV, axis=-1))
        done_B = done_B | (token_B == eos_id)
        tokens_BxN = tokens_BxN.at[:, t].set(jnp.where(done_B, pad_id, token_B))
        return t + 1, carry, token_B, tokens_BxN, lengths_B + ~done_B, scores_B, done_B

    state = (
        jnp.int32(0),
        carry0,
        bos_B,
        jnp.full((B, max_len), pad_id, jnp.int32),
        jnp.zeros((B,), jnp.int32),
        jnp.zeros((B,), jnp.float32),
        jnp.zeros((B,), bool),
    )
    _, _, _, tokens_BxN, lengths_B, scores_B, _ = jax.lax.while_loop(running, one_step, state)
    return tokens_BxN, lengths_B, scores_B


class _Beams(NamedTuple):
    t: jax.Array  # tokens emitted so far
    carry: Any  # leaves [B*K, ...]
    token_BK: jax.Array  # the last token of each live hypothesis
    live_logp_BxK: jax.Array  # -inf: no live hypothesis in this slot
    live_tokens_BxKxN: jax.Array
    fin_scores_BxK: jax.Array  # best first; -inf: empty slot
    fin_tokens_BxKxN: jax.Array
    fin_lengths_BxK: jax.Array


@functools.partial(
    jax.jit, static_argnames=("beam_size", "eos_id", "max_len", "banned_ids", "pad_id")
)
def _beam_search(step, carry0, bos_B, alpha, *, beam_size, eos_id, max_len, banned_ids, pad_id):
    B, K, N = bos_B.shape[0], beam_size, max_len

    def running(s: _Beams):
        longest_reachable = jnp.maximum((s.t + 1.0) ** alpha, jnp.float32(N) ** alpha)
        best_live_B = jnp.max(s.live_logp_BxK, axis=1) / longest_reachable
        return (s.t < N) & ~jnp.all(best_live_B <= s.fin_scores_BxK[:, -1])

    def one_step(s: _Beams):
        carry, logits_BKxV = step(s.carry, s.token_BK)
        logp_BxKxV = _log_probs(logits_BKxV, banned_ids).reshape(B, K, -1)
        V = logp_BxKxV.shape[-1]
        total_BxKV = (s.live_logp_BxK[:, :, None] + logp_BxKxV).reshape(B, K * V)
        logp_BxK, index_BxK = jax.lax.top_k(total_BxKV, K)
        beam_BxK, token_BxK = index_BxK // V, (index_BxK % V).astype(jnp.int32)

        rows_BK = (jnp.arange(B)[:, None] * K + beam_BxK).reshape(B * K)
        # A leaf `step` returned as it got it is still the same for all K beams of a row.
        carry = jax.tree.map(lambda x, x0: x if x is x0 else x[rows_BK], carry, s.carry)
        tokens_BxKxN = jnp.take_along_axis(s.live_tokens_BxKxN, beam_BxK[:, :, None], axis=1)
        eos_BxK = token_BxK == eos_id
        tokens_BxKxN = tokens_BxKxN.at[:, :, s.t].set(jnp.where(eos_BxK, pad_id, token_BxK))

        ended_BxK = eos_BxK | (s.t == N - 1)
        scores_BxK = jnp.where(ended_BxK, logp_BxK / (s.t + 1.0) ** alpha, -jnp.inf)
        lengths_BxK = s.t + 1 - eos_BxK.astype(jnp.int32)
        # Old finished first: on a tie top_k keeps them, so extra steps change nothing.
        fin_scores_BxK, pick_BxK = jax.lax.top_k(
            jnp.concatenate([s.fin_scores_BxK, scores_BxK], axis=1), K
        )
        fin_tokens_BxKxN = jnp.take_along_axis(
            jnp.concatenate([s.fin_tokens_BxKxN, tokens_BxKxN], axis=1),
            pick_BxK[:, :, None],
            axis=1,
        )
        fin_lengths_BxK = jnp.take_along_axis(
            jnp.concatenate([s.fin_lengths_BxK, lengths_BxK], axis=1), pick_BxK, axis=1
        )
        return _Beams(
            s.t + 1,
            carry,
            token_BxK.reshape(B * K),
            jnp.where(ended_BxK, -jnp.inf, logp_BxK),
            tokens_BxKxN,
            fin_scores_BxK,
            fin_tokens_BxKxN,
            fin_lengths_BxK,
        )

    pad_BxKxN = jnp.full((B, K, N), pad_id, jnp.int32)
    # One live hypothesis per row at first, or the K copies of <s> would fill the beam.
    live_logp_BxK = jnp.full((B, K), -jnp.inf).at[:, 0].set(0.0)
    s = jax.lax.while_loop(
        running,
        one_step,
        _Beams(
            jnp.int32(0),
            jax.tree.map(lambda x: jnp.repeat(x, K, axis=0), carry0),
            jnp.repeat(bos_B, K),
            live_logp_BxK,
            pad_BxKxN,
            jnp.full((B, K), -jnp.inf),
            pad_BxKxN,
            jnp.zeros((B, K), jnp.int32),
        ),
    )
    empty_BxK = s.fin_scores_BxK == -jnp.inf
    tokens_BxKxN = jnp.where(empty_BxK[:, :, None], pad_id, s.fin_tokens_BxKxN)
    return tokens_BxKxN, jnp.where(empty_BxK, 0, s.fin_lengths_BxK), s.fin_scores_BxK
