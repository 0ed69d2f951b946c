"""Minimal-pair evaluation: the English set's invariants, the scorer against an independent
per-sentence computation, stub LMs with a known preference, and the CLI end to end."""

import collections
import json
import os
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT

from experiments.configs import agreement as agreement_config
from rnnlab import agreement, models, train
from rnnlab.data import minimal_pairs
from rnnlab.data.vocab import BOS, EOS, Vocab

train.enable_compilation_cache(os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache"))

ENGLISH = minimal_pairs.english()


def differing(pair) -> list[int]:
    return [i for i, (g, b) in enumerate(zip(pair.good, pair.bad, strict=True)) if g != b]


def test_every_english_pair_differs_in_exactly_one_word_at_its_target():
    assert 100 <= len(ENGLISH) <= 200
    assert set(minimal_pairs.ENGLISH) == {p.construction for p in ENGLISH}
    for p in ENGLISH:
        diff = differing(p)
        assert len(diff) == 1, p
        # Only negative polarity items alternate the licensor (the cue) instead.
        assert diff == [p.target] or (p.construction == "npi" and p.good[p.target] == "ever")


def test_each_construction_is_balanced_so_preferring_one_form_scores_chance():
    for name in minimal_pairs.ENGLISH:
        pairs = [p for p in ENGLISH if p.construction == name]
        good = collections.Counter(p.good[differing(p)[0]] for p in pairs)
        bad = collections.Counter(p.bad[differing(p)[0]] for p in pairs)
        assert name == "npi" or good == bad, name


def test_distance_and_target_are_computed_from_the_markup():
    p = minimal_pairs.parse("*he does not have very much confidence in [himself|herself]", "r")
    assert (p.target, p.distance, p.good[8], p.bad[8]) == (8, 7, "himself", "herself")
    npi = minimal_pairs.parse("*[no|the] company has ^ever paid a dividend", "npi")
    assert (npi.target, npi.distance, npi.good[0], npi.bad[0]) == (3, 2, "no", "the")
    assert max(p.distance for p in ENGLISH) >= 10  # the set reaches long distances


def test_a_selectional_cue_may_follow_its_target_elsewhere_it_may_not():
    line = "the [empire|rain] has lasted as long as the life of the *queen"
    p = minimal_pairs.parse(line, "selectional")
    assert (p.target, p.distance, p.good[1], p.bad[1]) == (1, 9, "empire", "rain")
    with pytest.raises(ValueError, match="must follow the cue"):
        minimal_pairs.parse(line, "simple")
    with pytest.raises(ValueError, match="must be different words"):
        minimal_pairs.parse("the *[empire|rain] lasted", "selectional")


SELECTIONAL = [p for p in ENGLISH if p.construction == "selectional"]


def test_selectional_pairs_hold_the_lecture_pair_and_each_word_fits_once():
    assert len(SELECTIONAL) >= 40
    lecture = "the {} has lasted as long as the life of the {}"
    sentences = {" ".join(p.good) for p in SELECTIONAL}
    assert {lecture.format("empire", "queen"), lecture.format("rain", "clouds")} <= sentences
    swaps = [(p.good[p.target], p.bad[p.target]) for p in SELECTIONAL]
    assert collections.Counter(swaps) == collections.Counter((b, g) for g, b in swaps)


def test_selectional_words_are_ptb_words_and_frequencies_alone_score_chance(shared_data):
    with open(shared_data / "ptb" / "train.txt") as f:
        train = [line.split() for line in f]
    counts = collections.Counter(w for s in train for w in s)
    oov = sorted({w for p in SELECTIONAL for w in p.good + p.bad if w not in counts})
    assert not oov, oov
    # The unigram model's choice, counted directly: the more frequent swapped word.
    swaps = [(p.good[p.target], p.bad[p.target]) for p in SELECTIONAL]
    wins = [1.0 if counts[g] > counts[b] else 0.5 if counts[g] == counts[b] else 0.0
            for g, b in swaps]  # fmt: skip
    accuracy = float(np.mean(wins))
    ratios = sorted(max(counts[g], counts[b]) / min(counts[g], counts[b]) for g, b in swaps)
    print("selectional swaps (PTB train counts):",
          ", ".join(f"{g} {counts[g]} / {b} {counts[b]}" for g, b in swaps[::2]))  # fmt: skip
    print(f"unigram accuracy {accuracy:.3f}; count ratio median {np.median(ratios):.2f}, "
          f"max {ratios[-1]:.2f}")  # fmt: skip
    assert 0.4 <= accuracy <= 0.6
    assert ratios[-1] <= 2.5  # no pair is decided by frequency alone by a wide margin
    # The scorer with a unigram LM of PTB train agrees with the count.
    result = agreement.evaluate(agreement.unigram_lm(train), SELECTIONAL)
    assert result["accuracy"] == accuracy and result["oov_words"] == 0


@pytest.mark.parametrize(
    "line, message",
    [
        ("the *dog [barks] loudly", "malformed alternation"),
        ("the dog [barks|bark]", "one \\*cue"),
        ("the *dog [barks|bark] and [runs|run]", "one \\[good\\|bad\\]"),
        ("[is|are] the *dog", "must follow the cue"),
        ("the *dog [bark|bark]", "exactly one word"),
        ("the * dog [barks|bark]", "bare marker"),
    ],
)
def test_malformed_lines_are_refused_with_the_line(line, message):
    with pytest.raises(ValueError, match=message):
        minimal_pairs.parse(line, "x")


def test_english_words_are_in_the_ptb_vocabulary(shared_data):
    with open(shared_data / "ptb" / "train.txt") as f:
        vocab = Vocab.build(line.split() for line in f)
    twins = [p.good + p.bad for p in ENGLISH]
    oov = sorted({w for t in twins for w in t if w not in vocab})
    rate = vocab.oov_rate(twins)
    print(f"English pairs: OOV rate against PTB train {rate:.4f} ({oov})")
    assert rate <= 0.01, oov


SENTENCES = [
    ["the", "dog", "sees", "the", "cats"],
    ["The", "Cats", "sleep"],  # upper case: the LM's vocabulary lowercases
    ["a"],
    ["the", "zebra", "sees", "a", "dog", "near", "the", "cats", "again"],  # zebra: <unk>
    ["dog", "dog", "dog", "sleep"],
]


def random_lm(stream: bool) -> agreement.LM:
    words = [["the", "dog", "sees", "cats", "sleep", "a", "near", "again"]]
    vocab = Vocab.build(words, lowercase=True)
    model = models.LanguageModel(len(vocab), embed_dim=8, hidden_size=16, cell="lstm")
    params = model.init(jax.random.key(0), np.ones((1, 4), np.int32), np.ones((1, 4), bool))
    # Larger weights than the initialisation's: the log-probs differ clearly per word.
    params = jax.tree.map(lambda x: 3.0 * x, params["params"])
    return agreement.LM(model, params, vocab, stream=stream)


def reference_log_prob(lm: agreement.LM, words: list[str], start: int, prefix: str) -> float:
    """One sentence alone (no batch, no padding): log-softmax in float64 numpy."""
    ids = lm.vocab.encode([prefix, *words, EOS])
    logits, _ = lm.model.apply({"params": lm.params}, ids[None, :-1], np.ones((1, len(ids) - 1)))
    logits_TxV = np.asarray(logits[0], np.float64)
    m_T = logits_TxV.max(-1)
    logp_TxV = logits_TxV - (m_T + np.log(np.exp(logits_TxV - m_T[:, None]).sum(-1)))[:, None]
    return sum(logp_TxV[t, ids[t + 1]] for t in range(start, len(ids) - 1))


@pytest.mark.parametrize("stream, prefix", [(False, BOS), (True, EOS)])
def test_scorer_matches_each_sentence_scored_alone(stream, prefix):
    lm = random_lm(stream)
    starts = [0, 1, 0, 4, 2]
    got = agreement.sentence_log_probs(lm, SENTENCES, starts, batch_size=2)  # sorted, padded
    want = [reference_log_prob(lm, s, k, prefix) for s, k in zip(SENTENCES, starts, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    other = reference_log_prob(lm, SENTENCES[0], 0, EOS if prefix == BOS else BOS)
    assert abs(got[0] - other) > 1e-3  # the prefix symbol matters, so this checks it


def unigram_lm(favourites: dict[str, float], drop=()) -> agreement.LM:
    """A stub LM: the same distribution at every step, these words favoured."""
    words = {w for p in ENGLISH for w in p.good + p.bad} - set(drop)
    vocab = Vocab.build([sorted(words)])
    logits_V = np.zeros(len(vocab), np.float32)
    for word, logit in favourites.items():
        logits_V[vocab.id(word)] = logit
    return agreement.LM(agreement.Unigram(len(vocab)), {"logits_V": jnp.asarray(logits_V)}, vocab)


def test_an_lm_that_prefers_one_form_gets_one_and_zero_and_chance_overall():
    # Prefers "himself" and "the" (so whole sentences with "the" beat those with "no").
    lm = unigram_lm({"himself": 3.0, "the": 3.0})
    reflexive = [p for p in ENGLISH if p.construction == "reflexive_gender"]
    with_himself = [p for p in reflexive if p.good[p.target] == "himself"]
    with_herself = [p for p in reflexive if p.good[p.target] == "herself"]
    assert agreement.evaluate(lm, with_himself)["accuracy"] == 1.0
    assert agreement.evaluate(lm, with_herself)["accuracy"] == 0.0
    result = agreement.evaluate(lm, ENGLISH)
    by_construction = result["by_construction"]
    assert list(by_construction) == list(minimal_pairs.ENGLISH)  # source order
    assert by_construction["reflexive_gender"] == {"accuracy": 0.5, "count": len(reflexive)}
    # NPIs are compared from "ever" on: the same for both twins under a unigram LM (a tie).
    assert by_construction["npi"]["accuracy"] == 0.5
    assert sum(c["count"] for c in result["by_distance"].values()) == len(ENGLISH)
    both = result["by_construction_distance"]["reflexive_gender"]
    assert sum(c["count"] for c in both.values()) == len(reflexive)
    assert set(both) == {str(p.distance) for p in reflexive}
    assert result["oov_words"] == 0 and result["pairs_unresolved"] == 0


def test_words_outside_the_vocabulary_are_counted_and_indistinguishable_twins_tie():
    lm = unigram_lm({"himself": 3.0}, drop=("himself", "herself"))
    reflexive = [p for p in ENGLISH if p.construction == "reflexive_gender"]
    result = agreement.evaluate(lm, reflexive)
    assert result["accuracy"] == 0.5 and result["pairs_unresolved"] == len(reflexive)
    assert result["oov_words"] == 2 * len(reflexive)  # one reflexive in each twin
    words = sum(2 * len(p.good) for p in reflexive)
    assert result["oov_rate"] == pytest.approx(2 * len(reflexive) / words)


def test_cli_scores_every_run_of_a_multi_cell_workdir_and_writes_png_and_json(tmp_path):
    config = agreement_config.get_config()
    overrides = {"synthetic.size": 64, "num_steps": 2, "eval_every": 2, "log_every": 1,
                 "model.cell": "elman,gru", "model.hidden_size": 8, "model.embed_dim": 8,
                 "batch_size": 8, "pad_multiple": 32, "minimal_pairs.per_distance": 0,
                 "lowercase": True}  # fmt: skip
    config.update_from_flattened_dict(overrides)
    train.train_and_evaluate(config, str(tmp_path / "runs"))
    lm = agreement.load_lm(str(tmp_path / "runs" / "gru"))
    assert lm.vocab.lowercase and not lm.stream
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        agreement.load_lm(str(tmp_path))

    out = tmp_path / "ld.png"
    args = [sys.executable, "-m", "experiments.long_distance", f"--workdirs={tmp_path / 'runs'}",
            "--per_distance=3", "--distances=0,4,8", f"--out={out}"]  # fmt: skip
    run = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "english pairs" in run.stdout and "accuracy by construction" in run.stdout
    assert out.stat().st_size > 10_000
    results = json.loads(out.with_suffix(".json").read_text())
    assert set(results["synthetic"]) == {"elman", "gru"} == set(results["english"])
    by_distance = results["synthetic"]["gru"]["by_distance"]
    assert {d: c["count"] for d, c in by_distance.items()} == {"0": 6, "4": 6, "8": 6}
    assert results["english"]["elman"]["count"] == len(ENGLISH)

    empty = subprocess.run(
        [*args[:3], f"--workdirs={tmp_path / 'nothing'}", f"--out={out}"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert empty.returncode != 0 and "no checkpoint" in empty.stderr
