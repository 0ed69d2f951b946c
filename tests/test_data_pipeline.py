"""Grain pipelines: exact resume from iterator state, epochs, process shards, LM streams."""

import collections

import numpy as np
import pytest

from rnnlab.data import batching, pipeline, synthetic
from rnnlab.data.batching import BatchSpec
from rnnlab.data.vocab import PAD, Vocab

EXAMPLES = synthetic.examples("tagging", "dev", size=300)
VOCAB = Vocab.build(ex["tokens"] for ex in EXAMPLES)
TAGS = Vocab.build((ex["tags"] for ex in EXAMPLES), reserved=(PAD,))
SPEC = BatchSpec(batch_size=16, pool_batches=4)


def batches(**kwargs):
    kwargs = {"seed": 0, "tag_vocab": TAGS, "process_index": 0, "process_count": 1, **kwargs}
    return pipeline.sentence_batches(EXAMPLES, VOCAB, SPEC, **kwargs)


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_resume_continues_with_exactly_the_next_batch():
    it = iter(batches(num_epochs=None).to_iter_dataset())
    for _ in range(25):  # past the end of the first epoch (19 batches)
        next(it)
    state = it.get_state()
    expected = [next(it) for _ in range(3)]
    resumed = iter(batches(num_epochs=None).to_iter_dataset())
    resumed.set_state(state)
    for want in expected:
        assert_same(next(resumed), want)


def test_each_epoch_covers_every_token_once_in_a_new_order():
    ds = batches(num_epochs=2)
    per_epoch = len(ds) // 2
    epochs = [list(ds)[:per_epoch], list(ds)[per_epoch:]]
    want = collections.Counter(t for ex in EXAMPLES for t in VOCAB.encode(ex["tokens"]).tolist())
    for epoch in epochs:
        got = collections.Counter(np.concatenate([b["tokens_BxT"][b["mask_BxT"]] for b in epoch]))
        assert got == want
        assert sum(b["lengths_B"].sum() for b in epoch) == sum(len(e["tokens"]) for e in EXAMPLES)
        for b in epoch:
            assert (b["tags_BxT"][~b["mask_BxT"]] == 0).all()
    assert not all(
        np.array_equal(a["tokens_BxT"], b["tokens_BxT"]) for a, b in zip(*epochs, strict=True)
    )


def test_process_shards_make_up_the_global_batch():
    whole = list(batches())
    parts = [list(batches(process_index=p, process_count=4)) for p in range(4)]
    for step, batch in enumerate(whole):
        rows = np.concatenate([parts[p][step]["tokens_BxT"] for p in range(4)])
        np.testing.assert_array_equal(rows, batch["tokens_BxT"])


def test_lm_sentence_batches_predict_the_next_token():
    ds = pipeline.sentence_batches(
        EXAMPLES, VOCAB, SPEC, seed=1, lm=True, process_index=0, process_count=1
    )
    n_pred = 0
    for b in ds:
        m = b["mask_BxT"]
        np.testing.assert_array_equal(
            b["inputs_BxT"][:, 1:][m[:, 1:]], b["targets_BxT"][:, :-1][m[:, 1:]]
        )
        n_pred += m.sum()
    assert n_pred == sum(len(ex["tokens"]) + 1 for ex in EXAMPLES)  # + </s>


def test_lm_stream_dataset_and_char_stream():
    stream = pipeline.token_stream(EXAMPLES, VOCAB)
    assert len(stream) == sum(len(ex["tokens"]) + 1 for ex in EXAMPLES)
    ds = pipeline.lm_stream_dataset(stream, 4, 10, num_epochs=2, process_index=1, process_count=2)
    windows = batching.lm_stream_batches(stream, 4, 10)
    assert len(ds) == 2 * len(windows)
    np.testing.assert_array_equal(ds[len(windows)]["inputs_BxT"], windows[0]["inputs_BxT"][2:])
    chars = Vocab.build_chars(["hello world"])
    text_stream = pipeline.token_stream([{"text": "hello world"}], chars)
    assert chars.decode(text_stream) == list("hello world")


def test_planned_padding_efficiency_is_the_pipelines():
    train = EXAMPLES[:200]
    vocab = Vocab.build((ex["tokens"] for ex in train), min_count=3)
    plan_eff = batching.plan_padding_efficiency([len(ex["tokens"]) for ex in train], SPEC)
    real = batching.padding_efficiency(
        pipeline.sentence_batches(train, vocab, SPEC, seed=0, process_index=0, process_count=1)
    )
    assert plan_eff == pytest.approx(real)
