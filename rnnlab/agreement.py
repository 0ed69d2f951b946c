"""Minimal-pair evaluation of a language model: does it prefer the grammatical twin?

For each distance d (words between the head noun and the agreeing word), the LM scores
both sentences of every pair of `synthetic.minimal_pairs` (whole-sentence log-prob, with
`<s>`/`</s>`); accuracy is the fraction where the grammatical one scores higher.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from rnnlab import losses
from rnnlab.data import batching, synthetic
from rnnlab.data.vocab import BOS, EOS, Vocab


@functools.partial(jax.jit, static_argnums=0)
def _log_probs(model, params, inputs_BxT, targets_BxT, mask_BxT):
    logits_BxTxV, _ = model.apply({"params": params}, inputs_BxT, mask_BxT)
    return losses.sequence_log_probs(logits_BxTxV, targets_BxT, mask_BxT)


def sentence_log_probs(model, params, vocab: Vocab, sentences: list[list[str]]) -> np.ndarray:
    """log p(<s> tokens </s>) of each sentence under a sentence-level LM."""
    ids = [vocab.encode([BOS, *s, EOS]) for s in sentences]
    spec = batching.BatchSpec(batch_size=len(ids), pad_multiple=8, shuffle=False)
    batch = batching.lm_sentence_batch(ids, spec)
    return np.asarray(
        _log_probs(model, params, batch["inputs_BxT"], batch["targets_BxT"], batch["mask_BxT"])
    )


def minimal_pair_accuracy(model, params, vocab: Vocab, config) -> dict[str, float]:
    """{distance: accuracy} over `config.per_distance` pairs per distance."""
    distances = tuple(int(d) for d in config.distances)
    pairs = synthetic.minimal_pairs(
        seed=config.seed, per_distance=config.per_distance, distances=distances, kind=config.kind
    )
    out = {}
    for d, ps in pairs.items():
        good = sentence_log_probs(model, params, vocab, [p["good"] for p in ps])
        bad = sentence_log_probs(model, params, vocab, [p["bad"] for p in ps])
        out[str(d)] = float(np.mean(good > bad))
    return out
