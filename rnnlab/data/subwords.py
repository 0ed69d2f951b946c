"""SentencePiece subword pieces for raw text (IMDB reviews), trained once and cached.

Raw web text has an open vocabulary (names, typos, "sooooo"); a word vocabulary over 17M
tokens either grows huge or maps many dev words to `<unk>`. A unigram SentencePiece
model (Kudo 2018; what flax's lm1b and wmt examples use) splits any text into pieces of a
fixed vocabulary, so almost nothing is unknown. Pieces are strings (`▁the`, `s`): they go
into rnnlab's `Vocab` like words, and `decode` joins them back into the text.

Training is deterministic (a fixed prefix of the corpus, no sampling), so the cached
model is a function of (corpus, vocabulary size): the cache key.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import logging
import os
from collections.abc import Iterable

import sentencepiece as spm

CACHE_ENV = "RNNLAB_CACHE"
TRAIN_DOCUMENTS = 20_000  # enough text for a 16k vocabulary; 1 min of training on 1 core


def cache_dir() -> str:
    """$RNNLAB_CACHE, else ~/.cache/rnnlab."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "rnnlab")


def train(texts: Iterable[str], vocab_size: int) -> spm.SentencePieceProcessor:
    """A unigram model over `texts` (each a document; long lines are kept whole)."""
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=vocab_size,
        hard_vocab_limit=False,  # a small corpus gets fewer pieces, not an error
        model_type="unigram",
        character_coverage=0.9995,  # the rarest 0.05% of characters become <unk>
        max_sentence_length=1 << 20,  # bytes: a review is one "sentence"
        input_sentence_size=0,  # use every text given, unsampled: deterministic
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def cached(name: str, texts: Iterable[str], vocab_size: int, fingerprint: str):
    """The model trained on the first TRAIN_DOCUMENTS of `texts`, from the cache when
    this (name, fingerprint of the corpus, vocab_size) was trained before."""
    key = hashlib.sha1(f"{fingerprint}|{vocab_size}|{TRAIN_DOCUMENTS}".encode()).hexdigest()
    path = os.path.join(cache_dir(), f"{name}_unigram{vocab_size}_{key[:12]}.model")
    if not os.path.exists(path):
        logging.info("training a %d-piece SentencePiece model for %s -> %s", vocab_size, name, path)
        model = train(itertools.islice(texts, TRAIN_DOCUMENTS), vocab_size)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(model.serialized_model_proto())
        os.replace(tmp, path)  # atomic: a concurrent reader sees no half-written model
    return spm.SentencePieceProcessor(model_file=path)


def files_fingerprint(paths: Iterable[str]) -> str:
    """Names and sizes of the training files: cheap, and changes when the data does."""
    return ";".join(f"{os.path.basename(p)}:{os.path.getsize(p)}" for p in paths)


def pieces(model: spm.SentencePieceProcessor, texts: list[str]) -> list[list[str]]:
    """Each text as its pieces (the C++ encoder: about a million pieces per second)."""
    return model.encode(texts, out_type=str)


def detokenize(tokens: list[str]) -> str:
    """Pieces back to text (`▁` marks a word start)."""
    return "".join(tokens).replace("▁", " ").strip()
