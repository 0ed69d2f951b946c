"""Syntax probes: labels of a hand-worked CoNLL-U example (depths, universal relations,
per-type control labels), probes that find a planted linear feature and stay at chance
on a control task over random states, and word states equal to the models' own forward."""

import jax
import ml_collections
import numpy as np
import pytest

from rnnlab import models, runs
from rnnlab.analysis import activations, probes
from rnnlab.data import formats
from rnnlab.data.vocab import BOS, PAD, RESERVED, UNK, Vocab

# "The dog saw the cat ." / "Her dog barked loudly": heads and relations by hand.
CONLLU = """\
# text = The dog saw the cat.
1\tThe\tthe\tDET\t_\t_\t2\tdet\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\tsaw\tsee\tVERB\t_\t_\t0\troot\t_\t_
4\tthe\tthe\tDET\t_\t_\t5\tdet\t_\t_
5\tcat\tcat\tNOUN\t_\t_\t3\tobj\t_\t_
6\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

1\tHer\ther\tPRON\t_\t_\t2\tnmod:poss\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t3\tnsubj\t_\t_
3\tbarked\tbark\tVERB\t_\t_\t0\troot\t_\t_
4\tloudly\tloudly\tADV\t_\t_\t3\tadvmod\t_\t_

"""


@pytest.fixture
def sentences(tmp_path):
    path = tmp_path / "tiny.conllu"
    path.write_text(CONLLU)
    return list(formats.read_conllu(path, syntax=True))


def test_labels_of_a_hand_worked_example(sentences):
    labels = probes.word_labels(sentences)
    assert labels["upos"].tolist() == [
        "DET",
        "NOUN",
        "VERB",
        "DET",
        "NOUN",
        "PUNCT",
        "PRON",
        "NOUN",
        "VERB",
        "ADV",
    ]
    assert labels["deprel"].tolist() == (
        [
            "det",
            "nsubj",
            "root",
            "det",
            "obj",
            "punct",
            "nmod",
            "nsubj",
            "root",
            "advmod",
        ]  # nmod:poss -> nmod
    )
    assert labels["depth"].tolist() == ["2", "1", "0", "2", "1", "1", "2", "1", "0", "1"]
    types = probes.word_types(sentences)
    assert types.tolist() == [
        "the",
        "dog",
        "saw",
        "the",
        "cat",
        ".",
        "her",
        "dog",
        "barked",
        "loudly",
    ]


def test_tree_depths_of_a_chain_a_bush_and_bad_heads():
    assert probes.tree_depths([0, 1, 2, 3]) == [0, 1, 2, 3]  # each word heads the next
    assert probes.tree_depths([4, 4, 4, 0]) == [1, 1, 1, 0]
    assert probes.tree_depths([2, 3, 0, 3, 4]) == [2, 1, 0, 1, 2]
    chain = [{"tags": ["X"] * 10, "deprels": ["dep"] * 10, "heads": list(range(10))}]
    depths = probes.word_labels(chain)["depth"].tolist()
    assert depths == [*"01234567", "8+", "8+"]  # MAX_DEPTH and deeper: one label
    with pytest.raises(ValueError, match="cycle"):
        probes.tree_depths([2, 1, 0])
    with pytest.raises(ValueError, match="head 7"):
        probes.tree_depths([0, 7])


def test_control_labels_are_one_per_type_from_the_train_labels(sentences):
    types, upos = probes.word_types(sentences), probes.word_labels(sentences)["upos"]
    dev_types = np.array(["the", "cat", "unseen", "dog", "unseen"])
    train_c, dev_c = probes.control_labels(types, upos, dev_types, seed=3)
    # The / the (0, 3), and dog (1, 7) share a label, in train and in dev.
    assert train_c[0] == train_c[3] == dev_c[0] and train_c[1] == train_c[7] == dev_c[3]
    assert dev_c[2] == dev_c[4] and train_c[4] == dev_c[1]
    assert set(train_c) | set(dev_c) <= set(upos)
    again = probes.control_labels(types, upos, dev_types, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train_c, dev_c), again, strict=True))


def test_control_labels_follow_the_task_label_distribution():
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], size=40000, p=[0.7, 0.2, 0.1])
    types = np.array([f"w{i}" for i in range(20000)] * 2)  # 20000 types, each twice
    train_c, _ = probes.control_labels(types, labels, np.array(["w0"]))
    per_type = train_c[:20000]
    assert np.array_equal(per_type, train_c[20000:])
    freqs = [np.mean(per_type == x) for x in "abc"]
    np.testing.assert_allclose(freqs, [0.7, 0.2, 0.1], atol=0.015)


def test_fit_softmax_with_two_classes_is_the_logistic_optimum():
    """Penalised softmax with 2 classes has w1 = −w0; w1 − w0 is then the logistic
    regression with half the penalty: checked against Newton's method in float64."""
    rng = np.random.default_rng(2)
    X_NxK = np.concatenate([np.ones((300, 1)), rng.normal(size=(300, 4))], axis=1)
    y_N = (X_NxK[:, 1] - 0.5 * X_NxK[:, 2] + rng.normal(size=300) > 0).astype(int)
    w_K = activations.fit_logistic(X_NxK[None], y_N, l2=0.5)[0]
    with jax.enable_x64(True):
        W_Kx2 = np.asarray(activations.fit_softmax(X_NxK, y_N, 2, l2=1.0, tol=1e-12))
    np.testing.assert_allclose(W_Kx2[:, 1] - W_Kx2[:, 0], w_K, atol=1e-8)


def test_probe_recovers_a_planted_linear_feature():
    """States = noise + a planted direction per label (5 labels, 64 units of any scale):
    near-perfect on dev, and no gain over the majority from a shuffled labelling."""
    rng = np.random.default_rng(0)
    D_CxU = np.linalg.qr(rng.normal(size=(64, 5)))[0].T  # orthonormal directions
    scale_U, offset_U = rng.uniform(0.5, 3, 64), rng.normal(size=64)

    def data(n):
        y_N = rng.integers(0, 5, n)
        return (rng.normal(size=(n, 64)) + 6 * D_CxU[y_N]) * scale_U + offset_U, y_N

    X, y = data(4000)
    X_dev, y_dev = data(2000)
    r = activations.softmax_probe(X, y, X_dev, y_dev)
    assert r["dev_accuracy"] > 0.99 and r["classes"] == 5, r
    shuffled = activations.softmax_probe(X, rng.permutation(y), X_dev, y_dev)
    assert shuffled["dev_accuracy"] < shuffled["majority_dev_accuracy"] + 0.05
    with pytest.raises(ValueError, match="2 classes"):
        activations.softmax_probe(X, np.zeros(len(X)), X_dev, y_dev)


def test_control_task_stays_at_chance_on_random_states_and_is_learnt_on_type_vectors():
    rng = np.random.default_rng(1)
    vocab = np.array([f"w{i}" for i in range(50)])
    types_train, types_dev = rng.choice(vocab, 6000), rng.choice(vocab, 3000)
    task = rng.choice(list("abcd"), 6000, p=[0.4, 0.3, 0.2, 0.1])
    ctrl_train, ctrl_dev = probes.control_labels(types_train, task, types_dev)
    X, X_dev = rng.normal(size=(6000, 32)), rng.normal(size=(3000, 32))
    r = activations.softmax_probe(X, ctrl_train, X_dev, ctrl_dev)
    assert r["dev_accuracy"] < r["majority_dev_accuracy"] + 0.03, r  # chance
    # States that carry the word type: the control task is learnt (the test can fail).
    E_TxU = rng.normal(size=(50, 32))
    index = {w: i for i, w in enumerate(vocab)}
    typed = [E_TxU[[index[t] for t in ts]] + 0.1 * rng.normal(size=(len(ts), 32))
             for ts in (types_train, types_dev)]  # fmt: skip
    assert (
        activations.softmax_probe(*typed[:1], ctrl_train, typed[1], ctrl_dev)["dev_accuracy"] > 0.99
    )


def test_ptb_conventions():
    words = ["The", "U.S.", "3.5", "%", "1,000", "-2", "2-for-1", ",", "n't"]
    assert [probes.ptb_word(w) for w in words] == [
        "the",
        "u.s.",
        "N",
        "N",
        "N",
        "N",
        "2-for-1",
        ",",
        "n't",
    ]


# --------------------------------------------------------------------------- states


def _run(task: str, model, vocabs, dataset: str = "ewt", **config) -> runs.Run:
    tokens = vocabs["words"].encode(["a"])
    mask = np.ones((1, len(tokens)), bool)
    extra = ()
    if "chars" in vocabs:
        extra = (np.ones((1, len(tokens), 3), np.int32),)
    params = model.init(jax.random.key(7), tokens[None], mask, *extra)["params"]
    conf = ml_collections.ConfigDict({"dataset": dataset, **config})
    return runs.Run("tiny", task, model, params, vocabs, conf, 0)


def _vocabs(sentences, chars: bool, lowercase: bool = True):
    words = Vocab.build((s["tokens"] for s in sentences), lowercase=lowercase)
    out = {"words": words}
    if chars:
        out["chars"] = Vocab.build_chars((t for s in sentences for t in s["tokens"]),
                                         reserved=(PAD, UNK))  # fmt: skip
    return out


def test_tagger_word_states_are_its_own_layers(sentences):
    """Layer 0 = the word embedding beside the char vector; the top layer through the
    tagger's output layer gives its logits; a sentence alone gives the same states."""
    vocabs = _vocabs(sentences[:1], chars=True)  # "her", "barked", ... are <unk>
    model = models.build({"model": "Tagger", "vocab_size": len(vocabs["words"]), "num_tags": 5,
                          "embed_dim": 6, "hidden_size": 4, "num_layers": 2,
                          "num_chars": len(vocabs["chars"]), "char_embed_dim": 3,
                          "char_hidden_size": 2})  # fmt: skip
    run = _run("tagging", model, vocabs)
    layers, oov = probes.word_states(run, sentences, rows=4)
    assert [a.shape for a in layers] == [(10, 6 + 4), (10, 8), (10, 8)]
    assert oov == pytest.approx(3 / 10)  # her, barked, loudly
    e = probes.encode(run, sentences[1]["tokens"])
    assert e.offset == 0 and e.unknown == 3 and e.ids[1] == vocabs["words"].id("dog")
    ids_1xT, mask = e.ids[None], np.ones((1, 4), bool)
    chars = np.zeros((1, 4, 16), np.int32)
    for t, c in enumerate(e.chars):
        chars[0, t, : len(c)] = c
    logits = model.apply({"params": run.params}, ids_1xT, mask, chars)[0]
    out = run.params["out"]
    np.testing.assert_allclose(layers[2][6:] @ out["kernel"] + out["bias"], logits, atol=1e-5)
    emb = run.params["embed"]["embedding"][e.ids]
    np.testing.assert_allclose(layers[0][6:, :6], emb, atol=1e-6)
    alone, _ = probes.word_states(run, sentences[1:], rows=4)  # same shape: no compile
    for a, b in zip(alone, layers, strict=True):
        np.testing.assert_allclose(a, b[6:], atol=1e-5)


def test_parser_and_sentence_lm_states_skip_the_root_and_bos(sentences):
    vocabs = _vocabs(sentences, chars=True)
    model = models.build({"model": "Parser", "vocab_size": len(vocabs["words"]), "num_rels": 4,
                          "embed_dim": 6, "hidden_size": 4, "num_chars": len(vocabs["chars"]),
                          "char_embed_dim": 3, "char_hidden_size": 2, "arc_dim": 5,
                          "rel_dim": 3})  # fmt: skip
    run = _run("parsing", model, vocabs)
    layers, oov = probes.word_states(run, sentences)
    e = probes.encode(run, sentences[0]["tokens"])
    assert e.offset == 1 and e.ids[0] == vocabs["words"].id(BOS) and len(e.chars[0]) == 0
    T = len(e.ids)
    chars = np.zeros((1, T, 8), np.int32)
    for t, c in enumerate(e.chars):
        chars[0, t, : len(c)] = c
    encoded = model.apply({"params": run.params}, e.ids[None], np.ones((1, T), bool), chars,
                          method="encode")  # fmt: skip
    np.testing.assert_allclose(layers[-1][:6], encoded[0, 1:], atol=1e-5)
    assert oov == 0.0 and layers[0].shape == (10, 6 + 4)

    lm_vocab = {"words": Vocab.build([["the", "dog", "N"]], reserved=RESERVED)}
    lm = models.build({"model": "LanguageModel", "vocab_size": len(lm_vocab["words"]),
                       "embed_dim": 3, "hidden_size": 4})  # fmt: skip
    lm_run = _run("lm", lm, lm_vocab, dataset="ptb", lm_mode="sentences")
    e = probes.encode(lm_run, ["The", "dog", "3", ","])
    assert probes.model_words(lm_run, ["The", "3", ","]) == ["the", "N", ","]
    assert e.offset == 1 and e.unknown == 1  # ","
    assert e.ids.tolist() == lm_vocab["words"].encode([BOS, "the", "dog", "N", UNK]).tolist()
    (emb, h), _ = probes.word_states(lm_run, [{"tokens": ["The", "dog", "3", ","]}])
    (_, h_bos), _ = probes.word_states(lm_run, [{"tokens": ["The"]}])
    assert h.shape == (4, 4) and not np.allclose(h[0], 0)
    np.testing.assert_allclose(h[0], h_bos[0], atol=1e-6)  # "the" after <s>, either way


def test_random_twin_has_new_weights_of_the_same_shapes(sentences):
    vocabs = _vocabs(sentences, chars=False)
    model = models.build({"model": "Tagger", "vocab_size": len(vocabs["words"]), "num_tags": 3,
                          "embed_dim": 4, "hidden_size": 4})  # fmt: skip
    run = _run("tagging", model, vocabs)
    twin, again = probes.random_twin(run, seed=1), probes.random_twin(run, seed=1)
    shapes = lambda p: jax.tree.map(np.shape, p)  # noqa: E731
    assert shapes(twin.params) == shapes(run.params)
    assert not np.allclose(twin.params["embed"]["embedding"], run.params["embed"]["embedding"])
    assert jax.tree.all(jax.tree.map(np.array_equal, twin.params, again.params))
    with pytest.raises(ValueError, match="no states per word"):
        probes.encode(runs.Run("x", "seq2seq", model, run.params, vocabs, run.config, 0), ["a"])
