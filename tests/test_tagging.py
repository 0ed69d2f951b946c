"""Entity spans and CoNLL F1 against conlleval's own start/end rules; tagger predictions."""

import random

import jax
import numpy as np
import pytest
from test_train import tiny_config

from rnnlab import models, runs, tagging, tasks, train
from rnnlab.data import batching
from rnnlab.data.vocab import PAD, Vocab


def _conlleval_spans(tags):
    """conlleval.pl's startOfChunk / endOfChunk, transcribed for B/I/O tags."""

    def split(t):
        return ("O", "") if t == "O" else tuple(t.split("-", 1))

    out, start = [], None
    prev_tag, prev_type = "O", ""
    for i, t in enumerate([*tags, "O"]):
        tag, typ = split(t)
        end = prev_tag != "O" and (tag in ("B", "O") or prev_type != typ)
        begin = tag != "O" and (tag == "B" or prev_tag == "O" or prev_type != typ)
        if end:
            out.append((prev_type, start, i))
        if begin:
            start = i
        prev_tag, prev_type = tag, typ
    return out


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["I-PER", "I-PER", "O", "I-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),  # IOB1
        (["I-PER", "B-PER", "I-PER"], [("PER", 0, 1), ("PER", 1, 3)]),  # IOB1 adjacency
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # type change
        (["B-MISC", "B-MISC", "O", "O"], [("MISC", 0, 1), ("MISC", 1, 2)]),  # IOB2
        (["O", "O"], []),
        ([], []),
    ],
)
def test_spans_examples(tags, expected):
    assert tagging.spans(tags) == expected
    assert _conlleval_spans(tags) == expected


def test_spans_match_conlleval_on_random_sequences():
    rng = random.Random(0)
    alphabet = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    for _ in range(2000):
        tags = [rng.choice(alphabet) for _ in range(rng.randint(0, 12))]
        assert tagging.spans(tags) == _conlleval_spans(tags), tags


def test_entity_scores_counts_exact_matches_only():
    gold = [["I-PER", "I-PER", "O", "I-LOC"], ["I-ORG", "O"]]
    pred = [["I-PER", "O", "O", "I-LOC"], ["I-LOC", "O"]]  # boundary wrong, type wrong
    s = tagging.entity_scores(gold, pred)
    assert (s["precision"], s["recall"]) == (1 / 3, 1 / 3)
    assert s["f1"] == pytest.approx(1 / 3)
    assert s["per_type"]["LOC"] == {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    assert s["per_type"]["PER"]["support"] == 1 and s["per_type"]["PER"]["f1"] == 0.0
    perfect = tagging.entity_scores(gold, gold)
    assert perfect["f1"] == 1.0


def test_bad_tags_and_shapes_are_named():
    with pytest.raises(ValueError, match="'PER' is not O, B-<type> or I-<type>"):
        tagging.spans(["O", "PER"])
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1 predicted"):
        tagging.entity_scores([["O", "O"]], [["O"]])
    assert tagging.is_iob(["O", "I-PER", "B-LOC"])
    assert not tagging.is_iob(["NOUN", "VERB"]) and not tagging.is_iob(["O"])


def test_predict_tags_reads_only_real_tokens_and_never_predicts_padding():
    tags = Vocab((PAD, "O", "I-PER", "B-PER"))
    model = models.Tagger(vocab_size=7, num_tags=len(tags), embed_dim=4, hidden_size=4)
    sentences = [[1, 2, 3], [4], [5, 6]]
    gold_ids = [[1, 2, 2], [3], [1, 1]]
    tokens_BxT, mask_BxT = batching.pad_rows(sentences, 4, 4)  # one empty filler row
    tags_BxT, _ = batching.pad_rows(gold_ids, 4, 4)
    batch = {"tokens_BxT": tokens_BxT, "mask_BxT": mask_BxT, "tags_BxT": tags_BxT}
    params = model.init(jax.random.key(0), tokens_BxT, mask_BxT)["params"]
    # Make the padding tag the model's favourite everywhere.
    params["out"]["bias"] = params["out"]["bias"].at[0].set(100.0)
    gold, pred = tagging.predict_tags(model, params, [batch], tags)
    assert gold == [tags.decode(g) for g in gold_ids]
    assert [len(p) for p in pred] == [3, 1, 2]
    assert all(t != PAD for p in pred for t in p)
    np.testing.assert_array_equal(mask_BxT.sum(1), [3, 1, 2, 0])


def test_training_an_iob_tagger_reports_entity_f1(tmp_path):
    """End to end on a WikiNER-format file: results.json has the entity scores of the
    selected model, equal to scoring its predictions on the dev file directly."""
    rng = random.Random(0)
    words = {"I-PER": ["alice", "bob", "carol"], "I-LOC": ["paris", "rome"], "O": ["the", "saw"]}
    (tmp_path / "tags").mkdir()
    for split, n in (("train", 64), ("dev", 16)):
        lines = []
        for _ in range(n):
            tags = [rng.choice(list(words)) for _ in range(rng.randint(1, 6))]
            lines.append(" ".join(f"{rng.choice(words[t])}|{t}" for t in tags))
        (tmp_path / "tags" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    config = tiny_config(dataset="wikiner", source_dir=str(tmp_path), metric="accuracy")
    results = train.train_and_evaluate(config, str(tmp_path / "run"))

    task = tasks.build(config)
    run = runs.load(str(tmp_path / "run"))
    gold, pred = tagging.predict_tags(run.model, run.params, task.dev, run.vocabs["tags"])
    assert results["entities"] == tagging.entity_scores(gold, pred)
    dev_lines = (tmp_path / "tags" / "dev.txt").read_text().splitlines()
    expected_gold = [[w.split("|")[1] for w in line.split()] for line in dev_lines]
    assert sorted(gold) == sorted(expected_gold)
    assert results["entities"]["support"] == sum(len(tagging.spans(g)) for g in expected_gold)
    assert "entities: F1" in train.format_results(results)
