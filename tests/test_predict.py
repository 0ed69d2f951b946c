"""rnnlab.load(workdir) -> Predictor: each kind's calls equal the same numbers computed
directly with the run's model, batched == one at a time (padding changes nothing), and
another kind's call is a clear error."""

import functools
import pathlib
import shutil

import jax
import numpy as np
import pytest
from test_runs import KINDS, _chars_dir, conllu_dir
from test_train import tiny_config

import rnnlab
from rnnlab import cells, parsing, tasks, train
from rnnlab.data.vocab import BOS, EOS, PAD


@functools.cache
def _trained(kind: str, root: str) -> str:
    """The workdir of a tiny run of `kind` (trained once per session)."""
    overrides = dict(KINDS[kind], num_steps=4, eval_every=4)
    if kind == "seq2seq":
        overrides["decode.beam_sizes"] = (1,)  # the end-of-run extras: one decoding
    if kind == "chars":
        overrides["source_dir"] = _chars_dir(_fresh(root, "chars_data"))
    if kind in ("seq2seq", "parsing"):
        overrides["source_dir"] = conllu_dir(_fresh(root, f"{kind}_data"))
    workdir = f"{root}/{kind}"
    train.train_and_evaluate(tiny_config(**overrides), workdir)
    return workdir


def _fresh(root: str, name: str) -> pathlib.Path:
    path = pathlib.Path(root) / name
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("predict"))
    return lambda kind: rnnlab.load(_trained(kind, root))


def _apply(p, *inputs):
    return p.run.model.apply({"params": p.run.params}, *(x[None] for x in inputs))


SENTENCES = [["The", "cats", "ran"], ["dogs"], ["mice", "is", "sleeping", "Paris", "zebra"]]


def test_classify_is_the_softmax_of_the_classifier(predictor):
    p = predictor("classification")
    texts = ["a b c", "the movie was", "x"]  # unknown words are <unk>
    got = p.classify(texts)
    for text, out in zip(texts, got, strict=True):
        ids = p.run.vocabs["words"].encode(text.split())
        probs = jax.nn.softmax(_apply(p, ids, np.ones(len(ids), bool))[0][0])
        np.testing.assert_allclose(out["probs"], probs, rtol=1e-5, atol=1e-6)
        assert out["label"] == int(np.argmax(probs))
        alone = p.classify([text])[0]
        assert alone["label"] == out["label"]
        np.testing.assert_allclose(alone["probs"], out["probs"], rtol=1e-5, atol=1e-6)
    assert p.classify([text.split() for text in texts]) == got


def _direct_log_prob(p, tokens):
    ids = p.run.vocabs["words"].encode(tokens)
    logits = _apply(p, ids[:-1], np.ones(len(ids) - 1, bool))[0][0]
    return float(np.sum(np.take_along_axis(jax.nn.log_softmax(logits), ids[1:, None], -1)))


def test_score_is_the_summed_log_softmax_from_s_to_end_of_sentence(predictor):
    p = predictor("lm")
    texts = ["a b", "c", "a b c d e f g h i j"]
    got = p.score(texts)
    for text, score in zip(texts, got, strict=True):
        assert score == pytest.approx(_direct_log_prob(p, [BOS, *text.split(), EOS]), rel=1e-5)
        assert score == pytest.approx(p.score([text])[0], rel=1e-5)
    sample = p.generate("a", length=5, seed=1)
    assert sample == p.generate("a", length=5, seed=1) and isinstance(sample, str)


def test_a_character_lm_scores_characters_after_a_line_break(predictor):
    p = predictor("chars")
    texts = ["to be", "q", "whether or not that is"]
    got = p.score(texts)
    for text, score in zip(texts, got, strict=True):
        assert score == pytest.approx(_direct_log_prob(p, ["\n", *text]), rel=1e-5)
        assert score == pytest.approx(p.score([text])[0], rel=1e-5)
    assert p.generate("to", length=7, temperature=0.0).startswith("to")
    assert len(p.generate("to", length=7, temperature=0.0)) == 9


def test_tag_is_the_argmax_of_the_tagger(predictor):
    p = predictor("tagging")
    got = p.tag(SENTENCES)
    assert got == [p.tag([s])[0] for s in SENTENCES]
    vocabs = p.run.vocabs
    for sentence, tags in zip(SENTENCES, got, strict=True):
        chars = [vocabs["chars"].encode(w) for w in sentence]
        chars_TxW = np.zeros((len(sentence), max(map(len, chars))), np.int32)
        for t, c in enumerate(chars):
            chars_TxW[t, : len(c)] = c
        ids = vocabs["words"].encode(sentence)
        logits = np.array(_apply(p, ids, np.ones(len(ids), bool), chars_TxW)[0])
        logits[:, vocabs["tags"].id(PAD)] = -np.inf  # padding is never a tag
        assert tags == vocabs["tags"].decode(logits.argmax(-1))


def test_parse_gives_trees_and_what_the_task_parses(predictor):
    p = predictor("parsing")
    got = p.parse_many(SENTENCES)
    assert got == [p.parse(" ".join(s)) for s in SENTENCES]
    task = tasks.build(p.run.config)  # the run's data and its own parse
    expected = task.parse(p.run.params, SENTENCES)
    assert [(g["heads"], g["deprels"]) for g in got] == [(list(h), list(r)) for h, r in expected]
    for sentence, out in zip(SENTENCES, got, strict=True):
        assert len(out["heads"]) == len(out["deprels"]) == len(sentence)
        assert parsing.is_tree(out["heads"])


def test_lemmatize_is_the_combined_lemmatizer_of_the_task_without_its_data(predictor, tmp_path):
    p = predictor("seq2seq")
    words, upos = ["cats", "ran", "Paris", "unseen"], ["NOUN", "VERB", "PROPN", "NOUN"]
    got = p.lemmatize(words, upos)
    assert got == [p.lemmatize([w], [u])[0] for w, u in zip(words, upos, strict=True)]
    # Seen (word, UPOS) pairs: the train dictionary, which the run folder kept (a model
    # of 4 steps spells no lemma); the unseen word: the model.
    assert got[:3] == ["cat", "run", "Paris"]
    task = tasks.build(p.run.config)  # the run's data
    model_alone = ["".join(e) for e in task.generate(p.run.params, [list(w) for w in words], upos)]
    assert got[3] == model_alone[3] and model_alone[:3] != got[:3]
    assert p.lemmatize(words, upos, dictionary=False) == model_alone
    sources = [list(w) for w in words]
    assert got == ["".join(e) for e in task.predict(p.run.params, sources, upos, [0, 1, 0, 0])]
    # A run folder without the dictionary (written before it was kept): the model alone.
    old = shutil.copytree(p.run.workdir, tmp_path / "old")
    (old / "table.pairs.json").unlink()
    assert rnnlab.load(str(old)).lemmatize(words, upos) == model_alone
    with pytest.raises(ValueError, match="UPOS"):
        p.lemmatize(words)
    with pytest.raises(ValueError, match="sentence 0: 4 words but 3 UPOS tags"):
        p.lemmatize(words, upos[:3])
    with pytest.raises(ValueError, match="2 sentences but 1 lists of UPOS tags"):
        p.lemmatize_many([words, words], [upos])


def test_lemmatize_reads_its_words_as_a_sentence_whose_proper_nouns_make_names(
    predictor, monkeypatch
):
    p = predictor("seq2seq")
    calls = []
    monkeypatch.setattr(p.task, "predict", lambda params, sources, upos, in_name, **kw:
                        calls.append(in_name) or sources)  # fmt: skip
    p.lemmatize(["Greater", "Houston", "Area", "grows"], ["ADJ", "PROPN", "PROPN", "VERB"])
    p.lemmatize(["Greater"], ["ADJ"])
    got = p.lemmatize_many([["Greater"], ["Houston", "grows"], ["Civic", "Center"]],
                           [["ADJ"], ["PROPN", "VERB"], ["ADJ", "PROPN"]])  # fmt: skip
    assert calls == [[1, 1, 0, 0], [0], [0, 0, 0, 1, 0]]  # none across sentences
    assert got == [["Greater"], ["Houston", "grows"], ["Civic", "Center"]]  # each in place


def test_another_kinds_call_is_a_clear_error(predictor):
    p = predictor("classification")
    for call in (lambda: p.score(["a"]), lambda: p.tag([["a"]]), lambda: p.parse("a b"),
                 lambda: p.lemmatize(["a"], ["NOUN"]), lambda: p.generate("a")):  # fmt: skip
        with pytest.raises(ValueError, match="holds a 'classification' model"):
            call()
    with pytest.raises(ValueError, match="classify.*'tagging' model"):
        predictor("tagging").classify(["a"])
    with pytest.raises(ValueError, match="no tokens"):
        p.classify([""])


def _outputs(p) -> list:
    """Every call a kind has, on fixed inputs (sampling with a fixed seed)."""
    texts = ["a b c", "the movie was", "x"]
    if p.kind in EMBEDS_OF:
        yield p.embed(EMBEDS_OF[p.kind])
    if p.kind == "classification":
        yield p.classify(texts)
    elif p.kind in ("lm", "chars"):
        yield p.score(texts)
        yield p.generate("a", length=5, seed=3)
    elif p.kind == "tagging":
        yield p.tag(SENTENCES)
    elif p.kind == "parsing":
        yield p.parse_many(SENTENCES)
    else:
        yield p.lemmatize(["cats", "ran"], ["NOUN", "VERB"])


EMBEDS_OF = {"classification": ["a b c", "x y"], "lm": ["a b c", "x y"], "chars": ["to be", "q"],
             "tagging": SENTENCES, "seq2seq": ["cats", "ran", "Paris"]}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_exported_file_alone_gives_the_same_outputs_bit_for_bit(predictor, tmp_path, kind):
    workdir = predictor(kind).run.workdir
    copy = tmp_path / "run"
    shutil.copytree(workdir, copy)
    path = rnnlab.export(str(copy), str(tmp_path / "model.rnnlab"))
    shutil.rmtree(copy)  # no run folder (and no data: for_inference reads none)
    exported = rnnlab.load(path)
    assert exported.kind == kind and exported.run.step == predictor(kind).run.step
    for got, expected in zip(_outputs(exported), _outputs(predictor(kind)), strict=True):
        if isinstance(got, np.ndarray):
            np.testing.assert_array_equal(got, expected)
        else:
            assert got == expected


def test_bad_paths_and_files_are_one_sentence(predictor, tmp_path):
    with pytest.raises(ValueError, match="neither a training run folder .* nor a file"):
        rnnlab.load(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="nowhere: no such run folder or file"):
        rnnlab.load(str(tmp_path / "nowhere"))
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ValueError, match="notes.txt is not a model file written by rnnlab"):
        rnnlab.load(str(tmp_path / "notes.txt"))
    path = rnnlab.export(predictor("lm").run.workdir, str(tmp_path / "lm.rnnlab"))
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(ValueError, match="lm.rnnlab is not a model file written by rnnlab"):
        rnnlab.load(path)
    with pytest.raises(ValueError, match="embed\\(\\) is for .* holds a 'parsing' model"):
        predictor("parsing").embed(["a b"])


def test_embed_is_the_classifiers_sentence_vector(predictor):
    p = predictor("classification")
    texts = EMBEDS_OF["classification"]
    got_NxS = p.embed(texts)
    for text, vector in zip(texts, got_NxS, strict=True):
        ids = p.run.vocabs["words"].encode(text.split())
        np.testing.assert_allclose(vector, _apply(p, ids, np.ones(len(ids), bool))[1][0],
                                   rtol=1e-5, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("kind", ["lm", "chars"])
def test_an_lms_embedding_is_the_state_that_predicts_the_next_token(predictor, kind):
    p = predictor(kind)
    texts = EMBEDS_OF[kind]
    got_NxH = p.embed(texts)
    start = "\n" if kind == "chars" else BOS
    for text, h_H in zip(texts, got_NxH, strict=True):
        ids = p.run.vocabs["words"].encode([start, *(text if kind == "chars" else text.split())])
        logits_V = _apply(p, ids, np.ones(len(ids), bool))[0][0, -1]
        out = p.run.params["out"]  # untied: logits = h W + b
        from_h = h_H @ out["kernel"] + out["bias"]
        np.testing.assert_allclose(from_h, logits_V, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(p.embed([text])[0], h_H, rtol=1e-5, atol=1e-6)


def test_a_taggers_embedding_is_its_birnns_last_forward_and_first_backward_state(predictor):
    p = predictor("tagging")
    got_NxD = p.embed(SENTENCES)
    H = p.run.config.model.hidden_size
    assert got_NxD.shape == (len(SENTENCES), 2 * H)
    for sentence, vector in zip(SENTENCES, got_NxD, strict=True):
        hs_TxD = _tagger_states(p, sentence)
        np.testing.assert_allclose(vector[:H], hs_TxD[-1, :H], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(vector[H:], hs_TxD[0, H:], rtol=1e-5, atol=1e-6)


def _tagger_states(p, sentence):
    """The top BiRNN layer's states of one sentence (every call captured)."""
    vocabs = p.run.vocabs
    chars = [vocabs["chars"].encode(w) for w in sentence]
    chars_TxW = np.zeros((len(sentence), max(map(len, chars))), np.int32)
    for t, c in enumerate(chars):
        chars_TxW[t, : len(c)] = c
    ids = vocabs["words"].encode(sentence)
    _, state = p.run.model.apply(
        {"params": p.run.params}, ids[None], np.ones((1, len(ids)), bool), chars_TxW[None],
        capture_intermediates=True, mutable=["intermediates"],
    )  # fmt: skip
    return np.asarray(state["intermediates"]["rnn"]["__call__"][0][1][0])


def test_a_lemmatizers_embedding_is_its_encoders_final_state(predictor):
    p = predictor("seq2seq")
    words = EMBEDS_OF["seq2seq"]
    got_NxD = p.embed(words)
    for word, vector in zip(words, got_NxD, strict=True):
        ids = p.run.vocabs["words"].encode(list(word))
        mask = np.ones((1, len(ids)), bool)
        memory = p.run.model.apply({"params": p.run.params}, ids[None], mask,
                                   np.zeros(1, np.int32), method="encode")  # fmt: skip
        h_D = cells.carry_output(memory["carry"][-1])[0]  # forward and backward
        np.testing.assert_allclose(vector, h_D, rtol=1e-5, atol=1e-6)
