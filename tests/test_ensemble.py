"""experiments/ensemble.py and rnnlab.load_ensemble: seeds of one seq2seq config trained,
reused when finished, and decoded together; the predictor gives what the task's own
ensemble decoding gives, and runs that are no ensemble are refused with a sentence.
(That an ensemble decodes by the mean of its members' probabilities: test_decode.py and
test_seq2seq.py.)"""

import json
import shutil

import pytest
from test_runs import conllu_dir
from test_train import tiny_config

import rnnlab
from experiments import ensemble
from rnnlab import tasks, train


def _config(source_dir, **overrides):
    return tiny_config(**{"dataset": "ewt_lemmas", "source_dir": source_dir, "metric": "accuracy",
                          "model.attention": "dot", "num_steps": 4, "eval_every": 4,
                          "decode.beam_sizes": (1, 2), **overrides})  # fmt: skip


def test_members_are_trained_reused_and_decoded_together(tmp_path, monkeypatch):
    source_dir = conllu_dir(tmp_path)
    config, workdir = _config(source_dir), str(tmp_path / "ens")
    results = ensemble.run(config, workdir, [0, 1])
    assert json.loads((tmp_path / "ens" / "ensemble.json").read_text())["seeds"] == [0, 1]
    members = [ensemble.member_dir(workdir, s) for s in (0, 1)]
    assert [rnnlab.load(m).run.config.seed for m in members] == [0, 1]

    p = rnnlab.load_ensemble(members)
    task = tasks.build(config)
    dev = task.examples["dev"]
    words, upos = ["".join(ex["source"]) for ex in dev], [ex["feature"] for ex in dev]
    got = p.lemmatize(words, upos, beam_size=2)
    params = tuple(rnnlab.load(m).run.params for m in members)
    assert got == ["".join(x) for x in task.predict(params, [list(w) for w in words], upos,
                                                    beam_size=2)]  # fmt: skip
    # The reported combined system is the predictor's (same dictionary, same ensemble).
    accuracy = sum(g == "".join(ex["target"]) for g, ex in zip(got, dev, strict=True)) / len(dev)
    assert results["decoding"]["beam2"]["combined"]["accuracy"] == pytest.approx(accuracy)
    text = ensemble.format_results(results, "seq2seq")
    assert "seed 1 alone" in text and "ensemble of seeds [0, 1]" in text

    def no_training(*args, **kwargs):
        raise AssertionError("a finished member was trained again")

    monkeypatch.setattr(train, "train_and_evaluate", no_training)
    again = ensemble.run(config, workdir, [0, 1])
    assert _scores(again) == _scores(results)
    # A run from before a config field existed ran as its default: it is reused (not for
    # another value) and loads as it was.
    saved = tmp_path / "ens" / "seed0" / "config.json"
    old = json.loads(saved.read_text())
    del old["ema_decay"], old["decode"]["lexicon_margin"], old["minimal_pairs"]["seed"]
    saved.write_text(json.dumps(old))
    assert _scores(ensemble.run(config, workdir, [0, 1])) == _scores(results)
    assert rnnlab.load_ensemble(members).lemmatize(words, upos, beam_size=2) == got
    with pytest.raises(AssertionError, match="trained again"):
        ensemble.run(_config(source_dir, ema_decay=0.5), workdir, [0, 1])


def _scores(results):
    """The decoding results without their timing, as text (NaN == NaN: tiny dev data
    has no unseen forms)."""
    return json.dumps({beam: {k: v for k, v in r.items() if k != "distinct_sources_per_s"}
                       for beam, r in results["decoding"].items()})  # fmt: skip


def test_runs_that_are_no_ensemble_are_refused(tmp_path):
    source_dir = conllu_dir(tmp_path)
    lem = str(tmp_path / "lem")
    train.train_and_evaluate(_config(source_dir, **{"decode.beam_sizes": (1,)}), lem)
    other = shutil.copytree(lem, tmp_path / "other")  # the same model over other characters
    vocab = json.loads((other / "vocab.words.json").read_text())
    vocab["tokens"][4:6] = vocab["tokens"][5:3:-1]
    (other / "vocab.words.json").write_text(json.dumps(vocab))
    with pytest.raises(ValueError, match="differ in their vocabularies"):
        rnnlab.load_ensemble([lem, str(other)])
    with pytest.raises(ValueError, match="at least one run"):
        rnnlab.load_ensemble([])
    with pytest.raises(ValueError, match="ensemble"):
        rnnlab.load_ensemble([lem, lem]).embed(["cats"])
    tagger = str(tmp_path / "tagger")
    train.train_and_evaluate(tiny_config(dataset="synthetic:tagging", metric="accuracy"), tagger)
    with pytest.raises(ValueError, match="only seq2seq runs"):
        rnnlab.load_ensemble([tagger, lem])
    with pytest.raises(tasks.ConfigError, match="does not decode as an ensemble"):
        ensemble.run(tiny_config(dataset="synthetic:tagging"), str(tmp_path / "e"), [0])
