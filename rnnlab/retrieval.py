"""Sentence retrieval: embed sentences with a trained encoder, rank by cosine similarity.

    python -m rnnlab.retrieval --workdir=/tmp/sentiment_lstm --query="a gripping , funny film" \
        --corpus=../shared/data/classes/dev.txt --k=5

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
    """[N, S] sentence vectors (an LM reads `<s>` first, as in training)."""
    lm = isinstance(model, models.LanguageModel)
    spec = batching.BatchSpec(batch_size=batch_size, pad_multiple=8, shuffle=False)
    ids_N = [vocab.encode([BOS, *s] if lm else s) for s in sentences]
    chunks = batching.by_length([len(i) for i in ids_N], batch_size)
    parts = []
    for rows in chunks:
        ids = [ids_N[i] for i in rows]
        T = batching.padded_length(max(len(i) for i in ids), spec)
        tokens_BxT, mask_BxT = batching.pad_rows(ids, batch_size, T)
        parts.append(np.asarray(_encode(model, params, tokens_BxT, mask_BxT))[: len(rows)])
    return np.concatenate(parts)[np.argsort(np.concatenate(chunks))]  # back to input order


def nearest(query_QxS: np.ndarray, corpus_NxS: np.ndarray, k: int = 5):
    """(indices_QxK, cosine_QxK): the k most similar corpus rows per query, best first."""

    def unit(x):
        return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

    cosine_QxN = unit(query_QxS) @ unit(corpus_NxS).T
    indices_QxK = np.argsort(-cosine_QxN, axis=-1, kind="stable")[:, :k]
    return indices_QxK, np.take_along_axis(cosine_QxN, indices_QxK, axis=-1)


def main(argv):
    del argv
    from absl import flags

    from rnnlab import tasks
    from rnnlab.data import formats

    f = flags.FLAGS
    model, params, vocabs, _ = tasks.load_model(f.workdir)
    corpus = [ex["tokens"] for ex in formats.read_classes(f.corpus)]
    corpus_NxS = embed(model, params, vocabs["words"], corpus)
    query_1xS = embed(model, params, vocabs["words"], [f.query.split()])
    indices, scores = nearest(query_1xS, corpus_NxS, f.k)
    for i, score in zip(indices[0], scores[0], strict=True):
        print(f"{score:.3f}  {' '.join(corpus[i])}")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("workdir", None, "a trained classifier or LM run", required=True)
    flags.DEFINE_string("query", None, "a tokenized sentence", required=True)
    flags.DEFINE_string("corpus", None, "sentences to search, `LABEL ||| sentence`", required=True)
    flags.DEFINE_integer("k", 5, "neighbours to print")
    app.run(main)
