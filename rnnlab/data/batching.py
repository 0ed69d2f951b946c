"""Host-side batching: padding + masks, length bucketing, LM streams for truncated BPTT.

Batches are dicts of numpy arrays; names carry shapes (B rows, T steps):

    sentence batches   tokens_BxT int32, mask_BxT bool, lengths_B int32,
                       + labels_B int32 (classification; also in LM batches of
                       labelled sentences), + tags_BxT int32 (tagging),
                       + chars_BxTxW int32 (each word's characters, if encoded)
    LM batches         inputs_BxT int32, targets_BxT int32, mask_BxT bool
                       (mask marks the steps whose target is a real token)

Padding uses id 0 (`<pad>`). Every batch of a plan has exactly `batch_size` rows so
shapes stay few: the last, short batch of an epoch is filled with padding rows whose
mask is all False (a classifier weights its per-example loss by `mask_BxT.any(-1)`).
T is a multiple of `pad_multiple` (pool bucketing) or a bucket boundary, so the number
of distinct shapes, and hence of XLA compilations, stays small.

Inference over many sequences (`map_by_length`) batches the same way: sorted by length,
fixed rows, T a multiple of `pad_multiple`, results put back in input order.

Batch *plans* (lists of example-index arrays) are pure functions of the lengths, the
seed and the epoch, which makes a resumed run reproduce exactly the same batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class BatchSpec:
    """How to group examples into batches.

    bucketing: "pool"  shuffle, cut into pools of `pool_batches` batches, sort each pool
                       by length (the usual "sort within large shuffled pools");
               "boundaries"  fixed length buckets `boundaries` (T = the bucket bound);
               "none"  plain shuffled batches (the baseline for padding efficiency).
    tokens_per_batch: with "boundaries", rows per batch = tokens_per_batch // bound
                      (token-budget batches; one shape per bucket).
    """

    batch_size: int = 32
    bucketing: str = "pool"
    pool_batches: int = 100
    pad_multiple: int = 4
    boundaries: tuple[int, ...] | None = None
    tokens_per_batch: int | None = None
    shuffle: bool = True

    def __post_init__(self):
        if self.bucketing not in ("pool", "boundaries", "none"):
            raise ValueError(f"bucketing must be pool|boundaries|none, got {self.bucketing!r}")
        if self.bucketing == "boundaries" and not self.boundaries:
            raise ValueError("bucketing='boundaries' needs boundaries (bucket bounds, ascending)")
        if self.tokens_per_batch is not None and self.bucketing != "boundaries":
            raise ValueError("tokens_per_batch needs bucketing='boundaries' (fixed shapes)")


def _chunks(indices: np.ndarray, size: int) -> list[np.ndarray]:
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def by_length(lengths_N: Sequence[int], rows: int) -> list[np.ndarray]:
    """Indices of N sequences in chunks of at most `rows`, shortest first: inference
    batches with little padding (those of `map_by_length`)."""
    return _chunks(np.argsort(np.asarray(lengths_N), kind="stable"), rows)


def _token_bounded(lengths_N: Sequence[int], rows: int, pad_multiple: int,
                   max_tokens: int) -> list[tuple[np.ndarray, int]]:  # fmt: skip
    """(indices, B) per batch, shortest first: `rows` rows, halved (down to 1) while B x
    the padded T of the batch's longest sequence exceeds `max_tokens` (0: no bound)."""
    if max_tokens <= 0:
        return [(chunk, rows) for chunk in by_length(lengths_N, rows)]
    order, batches, i = np.argsort(np.asarray(lengths_N), kind="stable"), [], 0
    while i < len(order):
        B = rows
        while B > 1 and B * _round_up(lengths_N[order[min(i + B, len(order)) - 1]],
                                      pad_multiple) > max_tokens:  # fmt: skip
            B //= 2
        batches.append((order[i : i + B], B))
        i += B
    return batches


def map_by_length(
    fn: Callable[..., Any],
    seqs_N: Sequence[np.ndarray],
    *,
    rows: int,
    pad_multiple: int,
    per_step: Sequence[Sequence[np.ndarray]] = (),
    per_row: Sequence[np.ndarray] = (),
    max_tokens: int = 0,
) -> np.ndarray | tuple[np.ndarray, ...]:
    """[N, ...]: fn(tokens_BxT, mask_BxT, *per_step_BxT, *per_row_B) over N sequences,
    in input order.

    Inference over many sequences with few compilations: sequences are sorted by length
    into batches of exactly `rows` rows (B = rows), right-padded with id 0 to a T that is
    a multiple of `pad_multiple`, so only a few shapes occur. Each list of `per_step`
    holds N int sequences aligned with `seqs_N` (LM targets, gold tags or heads), padded
    the same way; each array of `per_row` (first axis N: a start position, a label) comes
    along as its batch's rows. Filler rows (mask all False, extras 0) fill the last batch;
    their results are dropped. `fn` returns an array with one row per batch row, or a
    tuple of such arrays (then so does map_by_length). `max_tokens` > 0 bounds B x T: a
    batch of long sequences gets rows / 2, rows / 4, ... (at least 1), few shapes still.
    """
    if not len(seqs_N):
        raise ValueError("no sequences to map over")
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    lengths_N = [len(s) for s in seqs_N]
    for extra in per_step:
        if [len(s) for s in extra] != lengths_N:
            raise ValueError("per_step sequences must have the lengths of seqs_N")
    per_row = [np.asarray(a) for a in per_row]
    for a in per_row:
        if len(a) != len(seqs_N):
            raise ValueError(f"a per_row array has {len(a)} rows for {len(seqs_N)} sequences")
    batches = _token_bounded(lengths_N, rows, pad_multiple, max_tokens)
    results = []  # per batch, a tuple of arrays
    for chunk, B in batches:
        T = _round_up(max(lengths_N[i] for i in chunk), pad_multiple)
        tokens_BxT, mask_BxT = pad_rows([seqs_N[i] for i in chunk], B, T)
        per_step_BxT = [pad_rows([extra[i] for i in chunk], B, T)[0] for extra in per_step]
        per_row_B = [_pad_first_axis(a[chunk], B) for a in per_row]
        out = fn(tokens_BxT, mask_BxT, *per_step_BxT, *per_row_B)
        outs_B = tuple(np.asarray(o) for o in (out if isinstance(out, tuple) else (out,)))
        for out_B in outs_B:
            if out_B.shape[:1] != (B,):
                raise ValueError(f"fn returned shape {out_B.shape}; expected {B} rows first")
        results.append(tuple(o[: len(chunk)] for o in outs_B))
    order_N = np.concatenate([chunk for chunk, _ in batches])
    outs_N = []
    for parts in zip(*results, strict=True):
        out_N = np.empty_like(parts[0], shape=(len(seqs_N), *parts[0].shape[1:]))
        out_N[order_N] = np.concatenate(parts)
        outs_N.append(out_N)
    return tuple(outs_N) if isinstance(out, tuple) else outs_N[0]


def _pad_first_axis(a: np.ndarray, rows: int) -> np.ndarray:
    return np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), a.dtype)])


def plan_batches(
    lengths_N: Sequence[int], spec: BatchSpec, *, seed: int, epoch: int
) -> list[np.ndarray]:
    """Example indices of every batch of one epoch; each example appears exactly once."""
    lengths_N = np.asarray(lengths_N)
    rng = np.random.default_rng((seed, epoch))
    n = len(lengths_N)
    order = rng.permutation(n) if spec.shuffle else np.arange(n)
    if spec.bucketing == "none":
        return _chunks(order, spec.batch_size)
    if spec.bucketing == "pool":
        batches = []
        for pool in _chunks(order, spec.pool_batches * spec.batch_size):
            pool = pool[np.argsort(lengths_N[pool], kind="stable")]
            batches += _chunks(pool, spec.batch_size)
    else:
        bounds = np.asarray(spec.boundaries)
        if lengths_N.max(initial=0) > bounds[-1]:
            raise ValueError(
                f"an example of length {lengths_N.max()} exceeds the last bucket bound {bounds[-1]}"
            )
        bucket_N = np.searchsorted(bounds, lengths_N[order])
        batches = []
        for k, bound in enumerate(bounds):
            batches += _chunks(order[bucket_N == k], batch_rows(spec, int(bound)))
    if spec.shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def batch_rows(spec: BatchSpec, length: int) -> int:
    """Rows of a batch whose padded length is `length` (fixed unless token-budget)."""
    if spec.tokens_per_batch is None:
        return spec.batch_size
    return max(1, spec.tokens_per_batch // length)


def padded_length(max_length: int, spec: BatchSpec) -> int:
    if spec.bucketing == "boundaries":
        bounds = np.asarray(spec.boundaries)
        return int(bounds[np.searchsorted(bounds, max_length)])
    return _round_up(max_length, spec.pad_multiple)


def _round_up(length: int, multiple: int) -> int:
    """The smallest positive multiple of `multiple` that is >= length."""
    return max(1, -(-length // multiple) * multiple)


def pad_rows(
    seqs: Sequence[np.ndarray], rows: int, length: int, pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad 1-D int sequences into ids_BxT (int32) and mask_BxT (bool), B = rows."""
    if len(seqs) > rows:
        raise ValueError(f"{len(seqs)} sequences do not fit in {rows} rows")
    ids_BxT = np.full((rows, length), pad_id, dtype=np.int32)
    mask_BxT = np.zeros((rows, length), dtype=bool)
    for b, seq in enumerate(seqs):
        if len(seq) > length:
            raise ValueError(f"a sequence of length {len(seq)} does not fit in T={length}")
        ids_BxT[b, : len(seq)] = seq
        mask_BxT[b, : len(seq)] = True
    return ids_BxT, mask_BxT


def sentence_batch(examples: Sequence[Mapping], spec: BatchSpec) -> dict[str, np.ndarray]:
    """Encoded examples ({"tokens": ids[, "label": int][, "tags": ids]}) -> one padded batch."""
    lengths = np.array([len(ex["tokens"]) for ex in examples], dtype=np.int32)
    T = padded_length(int(lengths.max()), spec)
    B = batch_rows(spec, T)
    tokens_BxT, mask_BxT = pad_rows([ex["tokens"] for ex in examples], B, T)
    batch = {"tokens_BxT": tokens_BxT, "mask_BxT": mask_BxT}
    batch["lengths_B"] = np.zeros(B, np.int32)
    batch["lengths_B"][: len(examples)] = lengths
    if "label" in examples[0]:
        batch["labels_B"] = pad_labels([ex["label"] for ex in examples], B)
    if "tags" in examples[0]:
        batch["tags_BxT"] = pad_rows([ex["tags"] for ex in examples], B, T)[0]
    if "chars" in examples[0]:
        batch["chars_BxTxW"] = pad_chars([ex["chars"] for ex in examples], B, T)
    return batch


def pad_labels(labels: Sequence[int], rows: int) -> np.ndarray:
    """labels_B int32; filler rows get label 0 (their mask is all False)."""
    labels_B = np.zeros(rows, np.int32)
    labels_B[: len(labels)] = labels
    return labels_B


def pad_chars(
    words: Sequence[Sequence[np.ndarray]], rows: int, length: int, multiple: int = 8
) -> np.ndarray:
    """Each sentence's words' character ids -> chars_BxTxW (0 = padding character);
    W is rounded up to `multiple` so that few shapes (compilations) occur."""
    longest = max((len(w) for sentence in words for w in sentence), default=1)
    W = max(1, -(-longest // multiple) * multiple)
    chars_BxTxW = np.zeros((rows, length, W), dtype=np.int32)
    for b, sentence in enumerate(words):
        for t, word in enumerate(sentence):
            chars_BxTxW[b, t, : len(word)] = word
    return chars_BxTxW


def lm_sentence_batch(sentences: Sequence[np.ndarray], spec: BatchSpec) -> dict[str, np.ndarray]:
    """Sentence-level LM batch (course lm-minibatch): each sentence (with its boundary
    symbols) predicts its own next tokens; T counts predictions (= length - 1)."""
    T = padded_length(max(len(s) for s in sentences) - 1, spec)
    ids_BxT1, mask_BxT1 = pad_rows(sentences, batch_rows(spec, T), T + 1)
    return _lm_batch(ids_BxT1[:, :-1], ids_BxT1[:, 1:], mask_BxT1[:, 1:])


def pair_batch(examples: Sequence[Mapping], spec: BatchSpec) -> dict[str, np.ndarray]:
    """Encoded {"source": ids, "target": <s> ids </s>[, "feature": id][, "edit": id]} -> one
    batch: the encoder reads source_BxS (source_mask_BxS); the decoder reads inputs_BxT
    (<s> + target) and predicts targets_BxT (target + </s>) where mask_BxT; features_B and
    edits_B per row."""
    S = padded_length(max(len(ex["source"]) for ex in examples), spec)
    T = padded_length(max(len(ex["target"]) for ex in examples) - 1, spec)
    B = batch_rows(spec, max(S, T))
    source_BxS, source_mask_BxS = pad_rows([ex["source"] for ex in examples], B, S)
    ids_BxT1, mask_BxT1 = pad_rows([ex["target"] for ex in examples], B, T + 1)
    batch = _lm_batch(ids_BxT1[:, :-1], ids_BxT1[:, 1:], mask_BxT1[:, 1:])
    batch.update(source_BxS=source_BxS, source_mask_BxS=source_mask_BxS)
    for key in ("feature", "edit"):
        if key in examples[0]:
            batch[f"{key}s_B"] = pad_labels([ex[key] for ex in examples], B)
    return batch


def _lm_batch(inputs_BxT, targets_BxT, mask_BxT) -> dict[str, np.ndarray]:
    """Steps without a real target are pure padding (id 0) in inputs too."""
    return {
        "inputs_BxT": np.where(mask_BxT, inputs_BxT, 0).astype(np.int32),
        "targets_BxT": targets_BxT,
        "mask_BxT": mask_BxT,
    }


def lm_stream_batches(
    stream_N: np.ndarray, batch_size: int, seq_len: int
) -> list[dict[str, np.ndarray]]:
    """Truncated-BPTT windows (Zaremba et al. 2014): the stream is cut into `batch_size`
    contiguous rows read in parallel, K=`seq_len` steps at a time, so row b of window i+1
    continues row b of window i (pass the final carry on as the next initial carry).

    Rows have ceil(N / B) tokens; the tail of the last row and of the last window is
    padding with mask False, so no token is dropped. Predictions across row boundaries
    (B - 1 of them) are not made, as in the reference set-up.
    """
    stream_N = np.asarray(stream_N, dtype=np.int32)
    n = len(stream_N)
    if n < 2:
        raise ValueError(f"an LM stream needs at least 2 tokens, got {n}")
    row_len = -(-n // batch_size)
    data_BxL, valid_BxL = pad_rows(_chunks(stream_N, row_len), batch_size, row_len)
    windows = []
    for start in range(0, row_len - 1, seq_len):
        stop = min(start + seq_len, row_len - 1)
        inputs, targets = _window(data_BxL, start, stop, seq_len)
        mask = _window(valid_BxL, start, stop, seq_len)[1]
        windows.append(_lm_batch(inputs, targets, mask))
    return windows


def _window(data_BxL: np.ndarray, start: int, stop: int, seq_len: int):
    """(inputs, targets) of steps start..stop-1 of every row, right-padded to seq_len."""
    width = ((0, 0), (0, seq_len - (stop - start)))
    return (
        np.pad(data_BxL[:, start:stop], width),
        np.pad(data_BxL[:, start + 1 : stop + 1], width),
    )


def padding_efficiency(batches: Iterable[Mapping[str, np.ndarray]]) -> float:
    """Real tokens / padded token slots over all batches (1.0 = no padding)."""
    real = total = 0
    for batch in batches:
        real += int(batch["mask_BxT"].sum())
        total += batch["mask_BxT"].size
    return real / total if total else 0.0


def plan_padding_efficiency(lengths_N: Sequence[int], spec: BatchSpec, seed: int = 0) -> float:
    """`padding_efficiency` of one epoch of `spec` batches, from the lengths alone."""
    lengths_N = np.asarray(lengths_N)
    slots = 0
    for idx in plan_batches(lengths_N, spec, seed=seed, epoch=0):
        T = padded_length(int(lengths_N[idx].max()), spec)
        slots += batch_rows(spec, T) * T
    return float(lengths_N.sum() / slots)


def shard_rows(
    batch: Mapping[str, np.ndarray], process_index: int, process_count: int
) -> dict[str, np.ndarray]:
    """This process's contiguous slice of a global batch's rows (multi-host data parallel:
    every host plans the same global batches and loads only its rows; T is shared)."""
    B = next(iter(batch.values())).shape[0]
    if B % process_count:
        raise ValueError(f"batch of {B} rows does not split over {process_count} processes")
    per = B // process_count
    return {k: v[process_index * per : (process_index + 1) * per] for k, v in batch.items()}
