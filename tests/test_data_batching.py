"""Batching: every token once per epoch, masks match lengths, few shapes, LM streams."""

import collections

import numpy as np
import pytest

from rnnlab.data import batching, formats
from rnnlab.data.batching import BatchSpec
from rnnlab.data.vocab import Vocab


def random_examples(n, seed=0, max_len=40):
    rng = np.random.default_rng(seed)
    return [
        {
            "tokens": rng.integers(1, 50, size=rng.integers(1, max_len + 1)).astype(np.int32),
            "label": int(rng.integers(0, 5)),
        }
        for _ in range(n)
    ]


def epoch_batches(examples, spec, seed=0, epoch=0):
    lengths = [len(ex["tokens"]) for ex in examples]
    plan = batching.plan_batches(lengths, spec, seed=seed, epoch=epoch)
    return plan, [batching.sentence_batch([examples[i] for i in idx], spec) for idx in plan]


SPECS = [
    BatchSpec(batch_size=8, bucketing="none", pad_multiple=1),
    BatchSpec(batch_size=8, pool_batches=4),
    BatchSpec(batch_size=8, bucketing="boundaries", boundaries=(5, 10, 20, 40)),
    BatchSpec(bucketing="boundaries", boundaries=(10, 20, 40), tokens_per_batch=100),
]


@pytest.mark.parametrize("spec", SPECS)
def test_every_token_once_per_epoch_and_masks(spec):
    examples = random_examples(203)
    plan, batches = epoch_batches(examples, spec)
    assert sorted(np.concatenate(plan).tolist()) == list(range(len(examples)))
    seen = collections.Counter()
    for idx, batch in zip(plan, batches, strict=True):
        mask = batch["mask_BxT"]
        assert mask.dtype == bool and batch["tokens_BxT"].dtype == np.int32
        assert mask.shape == batch["tokens_BxT"].shape
        assert mask.sum(1).tolist() == batch["lengths_B"].tolist()
        assert (batch["tokens_BxT"][~mask] == 0).all()
        for row, i in enumerate(idx):
            np.testing.assert_array_equal(
                batch["tokens_BxT"][row][mask[row]], examples[i]["tokens"]
            )
            assert batch["labels_B"][row] == examples[i]["label"]
            seen[int(i)] += 1
        assert not mask[len(idx) :].any()  # padding rows
    assert set(seen.values()) == {1} and len(seen) == len(examples)
    shapes = {b["tokens_BxT"].shape for b in batches}
    if spec.bucketing == "boundaries":
        assert {T for _, T in shapes} <= set(spec.boundaries) and len(shapes) <= 4


def test_plan_is_a_function_of_seed_and_epoch():
    lengths = [len(ex["tokens"]) for ex in random_examples(100)]
    spec = BatchSpec(batch_size=8, pool_batches=2)

    def plan(seed, epoch):
        return [b.tolist() for b in batching.plan_batches(lengths, spec, seed=seed, epoch=epoch)]

    assert plan(0, 0) == plan(0, 0)
    assert plan(0, 0) != plan(0, 1) and plan(0, 0) != plan(1, 0)


def test_tags_and_lm_sentence_batches():
    spec = BatchSpec(batch_size=4, pad_multiple=1)
    tagged = [{"tokens": np.array([5, 6, 7]), "tags": np.array([1, 2, 1])}]
    batch = batching.sentence_batch(tagged, spec)
    assert batch["tags_BxT"].tolist()[0] == [1, 2, 1] and batch["tags_BxT"].shape == (4, 3)
    lm = batching.lm_sentence_batch([np.array([2, 8, 9, 2]), np.array([2, 7, 2])], spec)
    assert lm["inputs_BxT"][:2].tolist() == [[2, 8, 9], [2, 7, 0]]
    assert lm["targets_BxT"][:2].tolist() == [[8, 9, 2], [7, 2, 0]]
    assert lm["mask_BxT"].sum(1).tolist() == [3, 2, 0, 0]


@pytest.mark.parametrize("n,B,K", [(100, 4, 7), (101, 3, 5), (10, 1, 20), (64, 8, 2)])
def test_lm_stream_windows_concatenate_back(n, B, K):
    stream = np.arange(1, n + 1, dtype=np.int32)
    windows = batching.lm_stream_batches(stream, B, K)
    assert all(w["inputs_BxT"].shape == (B, K) for w in windows)
    inputs = np.concatenate([w["inputs_BxT"] for w in windows], axis=1)
    targets = np.concatenate([w["targets_BxT"] for w in windows], axis=1)
    mask = np.concatenate([w["mask_BxT"] for w in windows], axis=1)
    rows = []
    for b in range(B):  # row b: its inputs then its last target = a contiguous stream chunk
        real = inputs[b][mask[b]]
        np.testing.assert_array_equal(targets[b][mask[b]][:-1], real[1:])
        rows.append(np.append(real, targets[b][mask[b]][-1:]) if mask[b].any() else real)
    np.testing.assert_array_equal(np.concatenate(rows), stream[: sum(len(r) for r in rows)])
    assert sum(len(r) for r in rows) == n  # nothing dropped
    assert mask.sum() == n - B  # one prediction lost per row boundary


def test_shard_rows_splits_a_global_batch():
    batch = batching.sentence_batch(random_examples(8), BatchSpec(batch_size=8))
    parts = [batching.shard_rows(batch, p, 4) for p in range(4)]
    np.testing.assert_array_equal(
        np.concatenate([p["tokens_BxT"] for p in parts]), batch["tokens_BxT"]
    )
    with pytest.raises(ValueError, match="does not split"):
        batching.shard_rows(batch, 0, 3)


def test_sst_padding_efficiency(shared_data):
    examples = list(formats.read_classes(shared_data / "classes/train.txt"))
    vocab = Vocab.build(e["tokens"] for e in examples)
    encoded = [{"tokens": vocab.encode(e["tokens"]), "label": e["label"]} for e in examples]
    bucketed = batching.padding_efficiency(epoch_batches(encoded, BatchSpec(batch_size=32))[1])
    plain = BatchSpec(batch_size=32, bucketing="none", pad_multiple=1)
    unbucketed = batching.padding_efficiency(epoch_batches(encoded, plain)[1])
    assert bucketed > 0.9 and unbucketed < 0.6, (bucketed, unbucketed)


def test_by_length_chunks_every_index_once_shortest_first():
    lengths = [5, 1, 3, 1, 9, 2, 7]
    chunks = batching.by_length(lengths, 3)
    assert [len(c) for c in chunks] == [3, 3, 1]
    order = np.concatenate(chunks)
    assert sorted(order.tolist()) == list(range(len(lengths)))
    assert [lengths[i] for i in order] == sorted(lengths)
    assert order.tolist()[:2] == [1, 3]  # ties keep their input order


def _summaries(tokens_BxT, mask_BxT, tags_BxT, start_B, pair_Bx2):
    """Per row: its token and tag sums, length, start and pair (blind to padding)."""
    sums_B, tag_sums_B = (np.where(mask_BxT, a, 0).sum(1) for a in (tokens_BxT, tags_BxT))
    return np.stack([sums_B, tag_sums_B, mask_BxT.sum(1), start_B, *pair_Bx2.T], axis=1)


@pytest.mark.parametrize("n, rows", [(11, 4), (12, 4), (3, 8), (1, 1)])
def test_map_by_length_equals_one_sequence_at_a_time(n, rows):
    rng = np.random.default_rng(n)
    seqs = [rng.integers(1, 50, size=rng.integers(0, 13)).astype(np.int32) for _ in range(n)]
    tags = [rng.integers(1, 5, size=len(s)) for s in seqs]  # per step
    start_N, pair_Nx2 = rng.permutation(n) + 1, rng.integers(1, 9, (n, 2))  # per row
    num_batches, shapes = -(-n // rows), []

    def fn(tokens_BxT, mask_BxT, tags_BxT, start_B, pair_Bx2):
        shapes.append(tokens_BxT.shape)
        assert tags_BxT.shape == tokens_BxT.shape
        assert tokens_BxT.shape[1] == max(4, -(-mask_BxT.sum(1).max() // 4) * 4)  # tight
        real = n - rows * (num_batches - 1) if len(shapes) == num_batches else rows
        assert not (mask_BxT[real:].any() or start_B[real:].any() or pair_Bx2[real:].any())
        return _summaries(tokens_BxT, mask_BxT, tags_BxT, start_B, pair_Bx2)

    got = batching.map_by_length(
        fn, seqs, rows=rows, pad_multiple=4, per_step=[tags], per_row=[start_N, pair_Nx2]
    )
    want = [
        _summaries(s[None], np.ones((1, len(s)), bool), t[None], start_N[[i]], pair_Nx2[[i]])[0]
        for i, (s, t) in enumerate(zip(seqs, tags, strict=True))
    ]
    np.testing.assert_array_equal(got, np.stack(want))  # back in input order
    assert len(shapes) == num_batches
    assert {B for B, _ in shapes} == {rows}
    assert [T for _, T in shapes] == sorted(T for _, T in shapes)  # shortest first


def test_map_by_length_with_max_tokens_bounds_each_batch_and_keeps_the_results():
    """Long sequences go in rows / 2, rows / 4, ... (at least 1) so that B x T stays within
    max_tokens; results are those of the unbounded map, in input order."""
    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 50, size=n).astype(np.int32) for n in rng.permutation(70) + 1]
    shapes = []

    def fn(tokens_BxT, mask_BxT):
        shapes.append(tokens_BxT.shape)
        return np.stack([(tokens_BxT * mask_BxT).sum(1), mask_BxT.sum(1)], axis=1)

    unbounded = batching.map_by_length(fn, seqs, rows=8, pad_multiple=4)
    shapes.clear()
    bounded = batching.map_by_length(fn, seqs, rows=8, pad_multiple=4, max_tokens=64)
    np.testing.assert_array_equal(bounded, unbounded)
    np.testing.assert_array_equal(bounded[:, 1], [len(s) for s in seqs])
    assert all(B * T <= 64 or B == 1 for B, T in shapes)
    assert {B for B, _ in shapes} == {8, 4, 2, 1}  # lengths 1..70: T from 4 to 72
    assert sum(B for B, _ in shapes) - len(seqs) < 8  # filler rows only in a few batches


def test_map_by_length_maps_a_tuple_of_outputs_each_back_in_input_order():
    seqs = [np.arange(1, n + 1, dtype=np.int32) for n in (5, 1, 3, 7, 2)]

    def fn(tokens_BxT, mask_BxT):
        return mask_BxT.sum(1), tokens_BxT[:, :1] * np.ones((1, 3), np.int32)

    lengths_N, firsts_Nx3 = batching.map_by_length(fn, seqs, rows=2, pad_multiple=4)
    np.testing.assert_array_equal(lengths_N, [5, 1, 3, 7, 2])
    np.testing.assert_array_equal(firsts_Nx3, np.ones((5, 3)))


def test_map_by_length_errors():
    def fn(tokens_BxT, mask_BxT, *extras):
        return mask_BxT.sum(1)

    with pytest.raises(ValueError, match="no sequences"):
        batching.map_by_length(fn, [], rows=2, pad_multiple=4)
    with pytest.raises(ValueError, match="expected 2 rows"):
        batching.map_by_length(lambda t, m: m.sum(), [np.ones(3)], rows=2, pad_multiple=4)
    with pytest.raises(ValueError, match="per_row"):
        batching.map_by_length(fn, [np.ones(3)], rows=2, pad_multiple=4, per_row=[np.ones(2)])
    with pytest.raises(ValueError, match="per_step"):
        batching.map_by_length(fn, [np.ones(3)], rows=2, pad_multiple=4, per_step=[[np.ones(2)]])
