"""Grain input pipelines: examples -> ids -> batches (see `batching` for the batch keys).

    ds = sentence_batches(train, vocab, BatchSpec(batch_size=32), seed=0, num_epochs=None)
    it = iter(ds.to_iter_dataset())      # a grain DatasetIterator
    batch = next(it)
    state = it.get_state()               # save with the checkpoint (a small dict)
    it.set_state(state)                  # a resumed run continues with exactly the next batch

Shuffling is by explicit seed (a new batch plan per epoch, see `batching.plan_batches`);
`num_epochs=None` repeats forever. Multi-host: every process plans the same global
batches and keeps its own `batch_size / process_count` rows (`batching.shard_rows`),
so all hosts agree on shapes and on the number of steps.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import grain
import numpy as np

from rnnlab.data import batching
from rnnlab.data.batching import BatchSpec
from rnnlab.data.vocab import BOS, EOS, Vocab


def encode(
    ex: dict,
    vocab: Vocab,
    tag_vocab: Vocab | None = None,
    bos=None,
    eos=None,
    char_vocab: Vocab | None = None,
    max_word_chars: int = 16,
) -> dict:
    """A schema example -> ids (int32 arrays); bos/eos are added around LM sentences.

    With `char_vocab`, also each word's characters (first `max_word_chars`), so a
    character-level word encoder sees the spelling of words the word vocab maps to <unk>.
    """
    tokens = ([bos] if bos else []) + list(ex["tokens"]) + ([eos] if eos else [])
    out = {"tokens": vocab.encode(tokens)}
    if char_vocab is not None:
        out["chars"] = [char_vocab.encode(t[:max_word_chars]) for t in tokens]
    if "label" in ex:
        out["label"] = int(ex["label"])
    if "tags" in ex and tag_vocab is not None:
        out["tags"] = tag_vocab.encode(ex["tags"])
    return out


def _process(process_index, process_count) -> tuple[int, int]:
    if process_index is None or process_count is None:
        import jax

        return jax.process_index(), jax.process_count()
    return process_index, process_count


class _Batcher:
    """Global step -> this process's batch; an epoch's plan is recomputed on demand.
    `make_batch(encoded examples, spec)` pads one batch."""

    def __init__(self, encoded, lengths, spec, seed, make_batch, process):
        self.encoded, self.lengths, self.spec, self.seed = encoded, lengths, spec, seed
        self.make_batch, self.process = make_batch, process
        self.per_epoch = len(self._plan(0))

    @functools.lru_cache(maxsize=2)  # noqa: B019 (one batcher per pipeline; tiny cache)
    def _plan(self, epoch: int) -> list[np.ndarray]:
        return batching.plan_batches(self.lengths, self.spec, seed=self.seed, epoch=epoch)

    def __call__(self, step: int, _) -> dict[str, np.ndarray]:
        indices = self._plan(step // self.per_epoch)[step % self.per_epoch]
        examples = [self.encoded[int(i)] for i in indices]
        return batching.shard_rows(self.make_batch(examples, self.spec), *self.process)


def _lm_sentences_batch(examples, spec) -> dict[str, np.ndarray]:
    batch = batching.lm_sentence_batch([ex["tokens"] for ex in examples], spec)
    if "label" in examples[0]:  # a class-conditioned LM reads the labels too
        rows = len(batch["inputs_BxT"])
        batch["labels_B"] = batching.pad_labels([ex["label"] for ex in examples], rows)
    return batch


def planned_batches(
    encoded,
    lengths_N,
    spec: BatchSpec,
    make_batch,
    *,
    seed: int,
    num_epochs: int | None = 1,
    process_index: int | None = None,
    process_count: int | None = None,
) -> grain.MapDataset:
    """Batches of any encoded examples (random access) in the length-bucketed plan of
    `batching.plan_batches`; `make_batch(examples, spec)` pads one batch. What
    `sentence_batches` and `pair_batches` are made of, for a task with its own batch."""
    process = _process(process_index, process_count)
    batcher = _Batcher(encoded, lengths_N, spec, seed, make_batch, process)
    return grain.MapDataset.range(batcher.per_epoch).repeat(num_epochs).map_with_index(batcher)


def sentence_batches(
    examples: Sequence[dict],
    vocab: Vocab,
    spec: BatchSpec,
    *,
    seed: int,
    num_epochs: int | None = 1,
    tag_vocab: Vocab | None = None,
    char_vocab: Vocab | None = None,
    lm: bool = False,
    bos: str | None = BOS,
    eos: str | None = EOS,
    process_index: int | None = None,
    process_count: int | None = None,
) -> grain.MapDataset:
    """Padded, masked, length-bucketed batches of whole sentences.

    lm=True gives sentence-level LM batches (the course's lm-minibatch, which used `<s>`
    as both bos and eos), bucketed by the number of predictions. `char_vocab` adds
    `chars_BxTxW` (each word's characters, for a character-level word encoder).
    """
    if not lm:
        bos = eos = None
    encode_fn = functools.partial(
        encode, vocab=vocab, tag_vocab=tag_vocab, bos=bos, eos=eos, char_vocab=char_vocab
    )
    encoded = grain.MapDataset.source(examples).map(encode_fn)
    extra = (bos is not None) + (eos is not None) - 1 if lm else 0
    lengths = np.array([len(ex["tokens"]) + extra for ex in examples], dtype=np.int64)
    make_batch = _lm_sentences_batch if lm else batching.sentence_batch
    return planned_batches(encoded, lengths, spec, make_batch, seed=seed, num_epochs=num_epochs,
                           process_index=process_index, process_count=process_count)  # fmt: skip


EDITS = ("generate", "copy", "lowercase", "capitalize")  # how a target is made from its source


def edit_of(source: Sequence[str], target: Sequence[str]) -> int:
    """The cheapest edit that turns `source` into `target` (an index into EDITS)."""
    if list(target) == list(source):
        return EDITS.index("copy")
    if list(target) == [t.lower() for t in source]:
        return EDITS.index("lowercase")
    if list(target) == capitalized(source):
        return EDITS.index("capitalize")
    return EDITS.index("generate")


def capitalized(source: Sequence[str]) -> list[str]:
    """The first token's first character upper-cased (a lowercase proper noun's lemma)."""
    return [source[0][:1].upper() + source[0][1:], *source[1:]] if source else []


def pair_batches(
    examples: Sequence[dict],
    vocab: Vocab,
    spec: BatchSpec,
    *,
    seed: int,
    num_epochs: int | None = 1,
    feature_vocab: Vocab | None = None,
    process_index: int | None = None,
    process_count: int | None = None,
) -> grain.MapDataset:
    """Padded, masked, length-bucketed (source, target) batches for an encoder-decoder
    (`batching.pair_batch`); both sequences in one vocabulary, the target between `<s>`
    and `</s>`; `feature_vocab` adds each example's `feature` id (e.g. its UPOS); "edit"
    is `edit_of` the pair (for an edit classifier)."""

    def encode_pair(ex):
        out = {"source": vocab.encode(ex["source"]),
               "target": vocab.encode([BOS, *ex["target"], EOS]),
               "edit": edit_of(ex["source"], ex["target"])}  # fmt: skip
        if feature_vocab is not None:
            out["feature"] = feature_vocab.id(ex["feature"])
        return out

    encoded = grain.MapDataset.source(examples).map(encode_pair)
    lengths = np.array([max(len(ex["source"]), len(ex["target"]) + 1) for ex in examples])
    return planned_batches(encoded, lengths, spec, batching.pair_batch, seed=seed,
                           num_epochs=num_epochs, process_index=process_index,
                           process_count=process_count)  # fmt: skip


def token_stream(examples: Sequence[dict], vocab: Vocab, eos: str | None = EOS) -> np.ndarray:
    """Sentences (or {"text"} for characters) joined into one id stream, eos after each."""
    parts = []
    for ex in examples:
        if "text" in ex:
            parts.append(vocab.encode(ex["text"]))
        else:
            parts.append(encode(ex, vocab, eos=eos)["tokens"])
    return np.concatenate(parts).astype(np.int32)


def _shard(batch, process):
    return batching.shard_rows(batch, *process)


def lm_stream_dataset(
    stream_N: np.ndarray,
    batch_size: int,
    seq_len: int,
    *,
    num_epochs: int | None = 1,
    process_index: int | None = None,
    process_count: int | None = None,
) -> grain.MapDataset:
    """Truncated-BPTT windows (`batching.lm_stream_batches`) in order, epoch after epoch.

    Not shuffled: window i+1 continues window i row by row. Reset the carry at the start
    of each epoch (step % windows_per_epoch == 0).
    """
    windows = batching.lm_stream_batches(stream_N, batch_size, seq_len)
    process = _process(process_index, process_count)
    ds = grain.MapDataset.source(windows).repeat(num_epochs)
    return ds.map(functools.partial(_shard, process=process))
