"""Sampling from a trained `LanguageModel`: a batch of samples at once, in one jit.

    tokens_BxN = sample(model, params, prompt_BxP, key, num_steps=N,
                        temperature=0.8, top_k=40, labels_B=None)

The prompt (one or more tokens per row, e.g. `<s>` or a prefix) is read in one masked
`recurrent.run`; then a `lax.scan` feeds each sampled token back with the carried state.
`temperature=0` is greedy decoding. A class-conditioned LM (`num_classes > 0`) starts from
a learned function of `labels_B`. Same key, same samples; ids in `banned_ids` (padding,
`<s>`) are never produced.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from rnnlab.data.vocab import BOS, EOS, PAD, UNK, Vocab


def _pick(key, logits_BxV, temperature, top_k: int, greedy: bool):
    if greedy:
        return jnp.argmax(logits_BxV, axis=-1)
    logits_BxV = logits_BxV / temperature
    if top_k > 0:
        kth_B = jax.lax.top_k(logits_BxV, top_k)[0][:, -1:]
        logits_BxV = jnp.where(logits_BxV < kth_B, -jnp.inf, logits_BxV)
    return jax.random.categorical(key, logits_BxV, axis=-1)


@functools.partial(jax.jit, static_argnames=("model", "num_steps", "top_k", "banned_ids"))
def sample(
    model,
    params,
    prompt_BxP: jax.Array,
    key: jax.Array,
    *,
    num_steps: int,
    temperature: float = 1.0,
    top_k: int = 0,
    labels_B: jax.Array | None = None,
    banned_ids: tuple[int, ...] = (0,),
) -> jax.Array:
    """`num_steps` sampled ids per row after the prompt (the prompt is not included)."""
    variables = {"params": params}
    mask_BxP = jnp.ones(prompt_BxP.shape, bool)
    logits_BxPxV, carry = model.apply(variables, prompt_BxP, mask_BxP, labels_B=labels_B)
    V = logits_BxPxV.shape[-1]
    banned_V = jnp.zeros((V,), bool).at[jnp.array(banned_ids, jnp.int32)].set(True)
    greedy = temperature == 0.0

    def step(state, key_t):
        carry, logits_BxV = state
        logits_BxV = jnp.where(banned_V, -jnp.inf, logits_BxV)
        token_B = jax.lax.cond(
            greedy,
            lambda: _pick(key_t, logits_BxV, 1.0, top_k, True),
            lambda: _pick(key_t, logits_BxV, temperature, top_k, False),
        )
        token_Bx1 = token_B[:, None].astype(prompt_BxP.dtype)
        real_Bx1 = jnp.ones_like(token_Bx1, bool)
        logits_Bx1xV, carry = model.apply(variables, token_Bx1, real_Bx1, carry)
        return (carry, logits_Bx1xV[:, 0]), token_B

    keys = jax.random.split(key, num_steps)
    _, tokens_NxB = jax.lax.scan(step, (carry, logits_BxPxV[:, -1]), keys)
    return tokens_NxB.T


def sample_text(model, params, vocab: Vocab, config, *, chars: bool) -> list[str]:
    """`config.num` samples as text (config: length, temperature, top_k, prompt, seed)."""
    if chars:
        prompt, shown, join = list(config.prompt or "\n"), list(config.prompt), "".join
    else:
        prompt, shown, join = [BOS, *config.prompt.split()], config.prompt.split(), " ".join
    prompt_BxP = np.tile(vocab.encode(prompt), (config.num, 1))
    # A class-conditioned LM: samples cycle through the classes (shown as "[label]").
    labels_B = np.arange(config.num) % model.num_classes if model.num_classes > 0 else None
    banned = tuple(vocab.id(t) for t in (PAD, BOS, UNK) if t in vocab.tokens)
    tokens_BxN = sample(
        model,
        params,
        prompt_BxP,
        jax.random.PRNGKey(config.seed),
        num_steps=config.length,
        temperature=config.temperature,
        top_k=config.top_k,
        banned_ids=banned,
        labels_B=labels_B,
    )
    texts = []
    for b, row in enumerate(np.asarray(tokens_BxN)):
        words = vocab.decode(row)
        if EOS in words:
            words = words[: words.index(EOS)]
        label = f"[{labels_B[b]}] " if labels_B is not None else ""
        texts.append(label + join([*shown, *words]))
    return texts
