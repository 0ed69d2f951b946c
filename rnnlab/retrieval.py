"""Sentence retrieval: embed sentences with a trained encoder, rank by cosine similarity.

    python -m experiments.retrieve --workdir=/tmp/sentiment_lstm \
        --query="a gripping , funny film" --corpus=../shared/data/classes/dev.txt --k=5

A classifier's sentence vector (final states / pooling, what its softmax reads) or an
LM's final hidden state is the embedding.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from rnnlab import cells, models
from rnnlab.data import batching
from rnnlab.data.vocab import BOS, Vocab


@functools.partial(jax.jit, static_argnums=0)
def _encode(model, params, tokens_BxT, mask_BxT):
    if isinstance(model, models.Classifier):
        return model.apply({"params": params}, tokens_BxT, mask_BxT)[1]
    _, carry = model.apply({"params": params}, tokens_BxT, mask_BxT)
    return cells.carry_output(carry[-1])


def embed(model, params, vocab: Vocab, sentences: list[list[str]], batch_size: int = 64):
    """[N, S] sentence vectors (an LM reads `<s>` first, as in training), batched by
    length with lengths padded to a multiple of 8 (`batching.map_by_length`)."""
    lm = isinstance(model, models.LanguageModel)
    ids_N = [vocab.encode([BOS, *s] if lm else s) for s in sentences]
    encode = functools.partial(_encode, model, params)
    return batching.map_by_length(encode, ids_N, rows=batch_size, pad_multiple=8)


def nearest(query_QxS: np.ndarray, corpus_NxS: np.ndarray, k: int = 5):
    """(indices_QxK, cosine_QxK): the k most similar corpus rows per query, best first."""

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    cosine_QxN = unit(query_QxS) @ unit(corpus_NxS).T
    indices_QxK = np.argsort(-cosine_QxN, axis=-1, kind="stable")[:, :k]
    return indices_QxK, np.take_along_axis(cosine_QxN, indices_QxK, axis=-1)
