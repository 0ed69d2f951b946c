"""The encoder-decoder (models.EncoderDecoder): attention is a distribution over the
real source positions only, padding changes no output or gradient, and the teacher-forced
loss equals a float64 numpy reference written from the equations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy_refs import lstm_seq

from rnnlab import losses, models

V, E, H, F = 11, 5, 4, 3
# Two examples: (source ids, target ids incl. </s>=3, feature); <s> = 2 starts the decoder.
EXAMPLES = [([4, 5, 6, 7], [8, 9, 3], 1), ([6, 10], [4, 5, 6, 7, 3], 2), ([], [5, 3], 0)]


def _model(attention="general", **kwargs):
    return models.EncoderDecoder(V, E, H, "lstm", 1, True, attention, num_features=F,
                                 feature_dim=2, **kwargs)  # fmt: skip


def _batch(examples, S=6, T=7, junk=0):
    """Right-padded; `junk` fills the padding with that id (it must not matter)."""
    B = len(examples)
    source = np.full((B, S), junk, np.int32)
    inputs = np.full((B, T), junk, np.int32)
    targets = np.full((B, T), junk, np.int32)
    smask, tmask = np.zeros((B, S), bool), np.zeros((B, T), bool)
    for b, (src, tgt, _) in enumerate(examples):
        source[b, : len(src)], smask[b, : len(src)] = src, True
        inputs[b, : len(tgt)] = [2, *tgt[:-1]]
        targets[b, : len(tgt)], tmask[b, : len(tgt)] = tgt, True
    features = np.array([f for *_, f in examples], np.int32)
    return source, smask, inputs, targets, tmask, features


def _init(model, batch):
    source, smask, inputs, _, tmask, features = batch
    return model.init(jax.random.key(0), source, smask, inputs, tmask, features)["params"]


def _loss_sum(model, params, batch):
    source, smask, inputs, targets, tmask, features = batch
    logits = model.apply({"params": params}, source, smask, inputs, tmask, features)
    return losses.token_cross_entropy(logits, targets, tmask)["loss_sum"]


@pytest.mark.parametrize("attention", ["dot", "general", "additive"])
def test_attention_weights_sum_to_one_over_real_source_positions_and_are_zero_on_padding(
    attention,
):
    model = _model(attention)
    batch = _batch(EXAMPLES, junk=9)
    source, smask, inputs, _, tmask, features = batch
    params = _init(model, batch)
    variables = {"params": params}
    memory = model.apply(variables, source, smask, features, method="encode")
    _, _, weights_BxTxS = model.apply(variables, memory, inputs, tmask, method="decode")
    weights_BxTxS = np.asarray(weights_BxTxS)
    assert np.all(weights_BxTxS[~np.broadcast_to(smask[:, None], weights_BxTxS.shape)] == 0.0)
    sums_BxT = weights_BxTxS.sum(-1)
    np.testing.assert_allclose(sums_BxT[:2], 1.0, rtol=1e-6)  # rows with a real source
    assert np.all(sums_BxT[2] == 0.0)  # an empty source: nothing to attend to, not nan


@pytest.mark.parametrize("attention", ["", "additive"])
def test_padding_changes_no_output_or_gradient(attention):
    """The padded batch (garbage in the padding) against each example run alone,
    unpadded: logits at real target steps and the gradient of the summed loss."""
    with jax.enable_x64(True):
        model = _model(attention, dropout=0.0)
        batch = _batch(EXAMPLES, junk=9)
        params = jax.tree.map(lambda x: x.astype(jnp.float64), _init(model, batch))
        source, smask, inputs, _, tmask, features = batch
        logits = model.apply({"params": params}, source, smask, inputs, tmask, features)
        grad_fn = jax.jit(jax.grad(_loss_sum, argnums=1), static_argnums=0)
        grad = grad_fn(model, params, batch)
        summed = jax.tree.map(jnp.zeros_like, params)
        for b, ex in enumerate(EXAMPLES):
            alone = _batch([ex], S=max(len(ex[0]), 1), T=len(ex[1]))
            s, sm, i, _, tm, f = alone
            want = model.apply({"params": params}, s, sm, i, tm, f)[0]
            np.testing.assert_allclose(logits[b, : len(ex[1])], want, rtol=1e-10, atol=1e-12)
            g = grad_fn(model, params, alone)
            summed = jax.tree.map(jnp.add, summed, g)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12), grad, summed
        )


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(-1, keepdims=True)


def _reference_nll(params, source, target, feature):
    """One example, float64, from the equations: a BiLSTM encoder, an LSTM decoder from the
    concatenated final states, Luong's general attention, combine, softmax."""
    p = jax.tree.map(lambda x: np.asarray(x, np.float64), params)
    emb = p["embed"]["embedding"]
    enc = p["rnn"]["layers"][0]
    zero = (np.zeros(H), np.zeros(H))
    xs = emb[source]
    (hf, cf), hs_fw = lstm_seq(enc["fw"], xs, zero)
    (hb, cb), hs_bw = lstm_seq(enc["bw"], xs[::-1], zero)
    states_SxD = np.concatenate([hs_fw, hs_bw[::-1]], axis=-1)
    carry = (np.concatenate([hf, hb]), np.concatenate([cf, cb]))
    inputs = [2, *target[:-1]]
    feat = p["feature_embed"]["embedding"][feature]
    ys = np.concatenate([emb[inputs], np.tile(feat, (len(inputs), 1))], axis=-1)
    _, hs_TxD = lstm_seq(p["decoder"]["layers"][0], ys, carry)
    keys_SxD = states_SxD @ p["attend_key"]["kernel"]
    weights_TxS = _softmax(hs_TxD @ keys_SxD.T)
    context_TxD = weights_TxS @ states_SxD
    mixed = np.tanh(np.concatenate([hs_TxD, context_TxD], -1) @ p["combine"]["kernel"]
                    + p["combine"]["bias"])  # fmt: skip
    logits_TxV = mixed @ p["out"]["kernel"] + p["out"]["bias"]
    logp_TxV = np.log(_softmax(logits_TxV))
    return -logp_TxV[np.arange(len(target)), target].sum()


def test_teacher_forced_loss_equals_a_float64_numpy_reference():
    with jax.enable_x64(True):
        model = _model("general")
        batch = _batch(EXAMPLES[:2], junk=0)
        params = jax.tree.map(lambda x: x.astype(jnp.float64), _init(model, batch))
        source, smask, inputs, targets, tmask, features = batch
        logits = model.apply({"params": params}, source, smask, inputs, tmask, features)
        got = losses.token_cross_entropy(logits, targets, tmask)["loss"]
        nll = sum(_reference_nll(params, np.array(s), np.array(t), f) for s, t, f in EXAMPLES[:2])
        want = nll / sum(len(t) for _, t, _ in EXAMPLES[:2])
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_one_decoding_step_equals_the_teacher_forced_run():
    """`encode` + `step` token by token gives the logits of `__call__` (what greedy and
    beam search rely on)."""
    model = _model("additive")
    batch = _batch(EXAMPLES)
    source, smask, inputs, _, tmask, features = batch
    params = _init(model, batch)
    variables = {"params": params}
    want = model.apply(variables, source, smask, inputs, tmask, features)
    memory = model.apply(variables, source, smask, features, method="encode")
    for t in range(3):  # every row has >= 2 real target steps; row 0 has 3
        memory, logits_BxV = model.apply(variables, memory, inputs[:, t], method="step")
        rows = tmask[:, t]
        np.testing.assert_allclose(logits_BxV[rows], want[rows, t], rtol=1e-5, atol=1e-6)


def test_bad_sources_decode_to_a_defined_output_and_are_counted(tmp_path):
    """An empty source, one longer than the maximum length, characters never seen in
    training: each decodes (no crash, no exception), and extras count the cut ones and
    the unknown characters."""
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import tasks

    config = tiny_config(dataset="ewt_lemmas", source_dir=conllu_dir(tmp_path), metric="accuracy")
    config.decode.max_len = 12
    task = tasks.build(config)
    params = task.init_params(jax.random.key(0), task.train[0])
    sources = [[], list("x" * 40), list("ünïcödé"), list("cats")]
    decoded = task.generate(params, sources, ["NOUN"] * 4, beam_size=2)
    assert len(decoded) == 4 and all(len(d) <= task.max_len for d in decoded)
    assert all(t in task.vocabs["words"] for d in decoded for t in d)  # never <pad>/<s>
    bad = [{"source": s, "target": ["x"], "feature": "X", "count": 1} for s in sources[1:3]]
    task.examples["dev"] = [*task.examples["dev"][:3], *bad]
    extras = task.extras(params)
    assert extras["truncated_sources"] == 1
    assert extras["unknown_source_tokens"] == 40 + 4  # every x; ü ï ö é (n, c, d are known)


def test_edit_of_picks_the_cheapest_edit():
    from rnnlab.data.pipeline import EDITS, edit_of

    cases = {("cats", "cats"): "copy", ("Cats", "cats"): "lowercase",
             ("asia", "Asia"): "capitalize", ("cats", "cat"): "generate", ("", ""): "copy",
             ("is", "be"): "generate"}  # fmt: skip
    for (source, target), want in cases.items():
        assert EDITS[edit_of(list(source), list(target))] == want


@pytest.mark.parametrize("edit", ["copy", "lowercase", "capitalize"])
def test_a_chosen_edit_is_applied_to_the_whole_source(tmp_path, edit):
    """With the edit classifier sure of an edit, every output is that edit of its source,
    however long the source or unknown its characters (nothing is cut or regenerated)."""
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import tasks
    from rnnlab.data.pipeline import EDITS

    config = tiny_config(dataset="ewt_lemmas", source_dir=conllu_dir(tmp_path), metric="accuracy",
                         **{"model.edits": True})  # fmt: skip
    config.decode.max_len = 12
    task = tasks.build(config)
    params = task.init_params(jax.random.key(0), task.train[0])
    params["edit"]["bias"] = params["edit"]["bias"].at[EDITS.index(edit)].set(1e4)
    sources = [list("x" * 40), list("ünïcödé"), list("Cats"), []]
    got = task.generate(params, sources, ["NOUN"] * 4, beam_size=2)
    want = {
        "copy": sources,
        "lowercase": [[t.lower() for t in s] for s in sources],
        "capitalize": [[s[0].upper(), *s[1:]] if s else [] for s in sources],
    }[edit]
    assert got == want


def test_beam_candidates_are_scored_by_their_teacher_forced_log_probability(tmp_path):
    """Each hypothesis's score, greedy or beam, is the model's log-probability of it (and
    of </s>, unless it was cut at the maximum length); a beam's are best first, and its
    best is at least as probable as the greedy output."""
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import tasks
    from rnnlab.data.vocab import BOS, EOS

    config = tiny_config(dataset="ewt_lemmas", source_dir=conllu_dir(tmp_path), metric="accuracy")
    task = tasks.build(config)
    params = task.init_params(jax.random.key(0), task.train[0])
    sources, features = [list("cats"), list("ran"), list("a")], ["NOUN", "VERB", "DET"]
    words, feature_vocab = task.vocabs["words"], task.vocabs["features"]
    found = {K: task.candidates(params, sources, features, beam_size=K) for K in (1, 3)}
    for K, per_source in found.items():
        for c, feature in zip(per_source, features, strict=True):
            scores = [score for _, score in c.hypotheses]
            assert len(scores) == K and scores == sorted(scores, reverse=True)
            for tokens, score in c.hypotheses:
                target = words.encode([*tokens, EOS][: task.max_len])
                batch = _batch([(words.encode(list(c.source)), target, feature_vocab.id(feature))],
                               S=len(c.source), T=len(target))  # fmt: skip
                batch[2][0, 0] = words.id(BOS)
                nll = _loss_sum(task.model, params, batch)
                np.testing.assert_allclose(score, -nll, rtol=1e-4, atol=1e-4)
    for greedy, beam in zip(found[1], found[3], strict=True):
        assert beam.hypotheses[0][1] >= greedy.hypotheses[0][1] - 1e-5


def test_an_ensembles_candidates_are_scored_by_the_mean_of_its_members_probabilities(tmp_path):
    """Two differently initialised models decoded together: each hypothesis's score is
    the sum over its tokens of log(mean of the members' teacher-forced probabilities), the
    edit is the argmax of the mean of their edit probabilities, and an ensemble of one is
    the model alone."""
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import tasks
    from rnnlab.data.pipeline import EDITS
    from rnnlab.data.vocab import BOS, EOS

    config = tiny_config(dataset="ewt_lemmas", source_dir=conllu_dir(tmp_path), metric="accuracy",
                         **{"model.attention": "general", "model.edits": True})  # fmt: skip
    task = tasks.build(config)
    members = tuple(task.init_params(jax.random.key(k), task.train[0]) for k in (0, 1))
    sources, features = [list("cats"), list("ran"), list("Paris")], ["NOUN", "VERB", "PROPN"]
    words, feature_vocab = task.vocabs["words"], task.vocabs["features"]
    found = task.candidates(members, sources, features, beam_size=3)
    alone = task.candidates(members[0], sources, features, beam_size=3)
    assert task.candidates(members[:1], sources, features, beam_size=3) == alone
    assert [c.hypotheses for c in found] != [c.hypotheses for c in alone]
    for c, feature in zip(found, features, strict=True):
        source = words.encode(list(c.source))
        memories = [task.model.apply({"params": p}, source[None], np.ones((1, len(source)), bool),
                                     np.array([feature_vocab.id(feature)]), method="encode")
                    for p in members]  # fmt: skip
        edit_probs = np.mean([jax.nn.softmax(task.model.apply({"params": p}, m,
                                                              method="edit_logits"))[0]
                              for p, m in zip(members, memories, strict=True)], axis=0)  # fmt: skip
        assert c.edit == EDITS[int(np.argmax(edit_probs))]
        assert len(c.hypotheses) == 3
        for tokens, score in c.hypotheses:
            target = words.encode([*tokens, EOS][: task.max_len])
            batch = _batch([(source, target, feature_vocab.id(feature))],
                           S=len(source), T=len(target))  # fmt: skip
            batch[2][0, 0] = words.id(BOS)
            src, smask, inputs, targets, tmask, feats = batch
            probs_MxT = [np.take_along_axis(np.asarray(jax.nn.softmax(task.model.apply(
                {"params": p}, src, smask, inputs, tmask, feats)[0]), np.float64),
                targets[0][:, None], axis=-1)[:, 0] for p in members]  # fmt: skip
            want = np.log(np.mean(probs_MxT, axis=0)).sum()
            np.testing.assert_allclose(score, want, rtol=1e-4, atol=1e-4)


def test_prefer_known_folds_case_restores_capitals_stretched_words_and_targets_within_margin():
    from rnnlab.tasks.seq2seq import Candidates, Dictionary

    def ex(source, target, feature):
        return {"source": list(source), "target": list(target), "feature": feature}

    train = [ex("India", "India", "PROPN"), ex("condemns", "condemn", "VERB"),
             ex("German", "German", "ADJ"), ex("so", "so", "ADV"), ex("her", "she", "PRON"),
             ex("apple", "apple", "PROPN")]  # fmt: skip
    d = Dictionary(train, lambda e: (tuple(e["source"]), e["feature"]), ("PROPN",),
                   restore_case=("PROPN",))  # fmt: skip

    def choose(source, feature, edit, hypotheses, margin=2.0):
        c = Candidates(edit, tuple(source), [(tuple(t), s) for t, s in hypotheses])
        return "".join(d.prefer_known((tuple(source), feature), c, margin))

    assert choose("india", "PROPN", "copy", [("india", -1.0)]) == "India"
    assert choose("india", "NOUN", "copy", [("india", -1.0)]) == "india"  # not a restore_case
    assert choose("german", "ADJ", "copy", [("german", -1.0)]) == "german"
    assert choose("lisa", "PROPN", "copy", [("lisa", -1.0)]) == "lisa"  # no "Lisa" in train
    cut = [("condem", -1.0), ("condemn", -2.5), ("condemned", -2.9)]
    assert choose("condemned", "VERB", "generate", cut) == "condemn"
    assert choose("condemned", "VERB", "generate", cut, margin=1.0) == "condem"  # too far
    assert choose("condemned", "VERB", "copy", cut) == "condemned"  # an edit is kept
    known = [("German", -1.0), ("condemn", -1.1)]
    assert choose("germans", "ADJ", "generate", known) == "German"  # already a target
    assert choose("Sooooo", "ADV", "lowercase", [("soooo", -1.0)]) == "so"  # stretched
    assert choose("www", "X", "copy", [("ww", -1.0)]) == "www"  # no "ww" or "w" in train
    assert choose("s000", "X", "copy", [("s0", -1.0)]) == "s000"  # not a word
    assert choose("HER", "PRON", "lowercase", [("her", -1.0)]) == "she"  # its lowercase's target
    assert choose("Condemns", "VERB", "generate", [("Condemn", -1.0)]) == "condemn"
    assert choose("HER", "DET", "lowercase", [("her", -1.0)]) == "her"  # not with that feature
    assert choose("Apple", "PROPN", "copy", [("Apple", -1.0)]) == "Apple"  # keep_case


NAMES_TRAIN = """\
1	Greater	Great	ADJ	_	_	0	root	_	_
2	Houston	Houston	PROPN	_	_	1	dep	_	_
3	grows	grow	VERB	_	_	1	dep	_	_

1	Greater	great	ADJ	_	_	0	root	_	_
2	heat	heat	NOUN	_	_	1	dep	_	_

1	Greater	great	ADJ	_	_	0	root	_	_
2	heat	heat	NOUN	_	_	1	dep	_	_

1	Urban	Urban	ADJ	_	_	0	root	_	_
2	Development	Development	PROPN	_	_	1	dep	_	_

1	Leading	lead	VERB	_	_	0	root	_	_
2	Edge	Edge	PROPN	_	_	1	dep	_	_

1	Rising	rise	VERB	_	_	0	root	_	_
2	Sun	Sun	PROPN	_	_	1	dep	_	_

1	Civil	Civil	ADJ	_	_	0	root	_	_
2	War	War	PROPN	_	_	1	dep	_	_
"""


def test_words_before_a_proper_noun_are_in_a_name_and_keep_the_capital_train_keeps(tmp_path):
    """`in_name` marks each word a PROPN follows; train types count their tokens there;
    the lexicon capitalizes a capitalized source's output in a name where most of its
    feature's train tokens there keep the capital (ADJ here, not VERB), and nowhere else."""
    from rnnlab.data import local_formats
    from rnnlab.tasks.seq2seq import Candidates, Dictionary

    assert local_formats.in_name(["ADJ", "PROPN", "PROPN", "VERB"]) == [1, 1, 0, 0]
    assert local_formats.in_name([]) == []
    folder = tmp_path / "ud_english_ewt"
    folder.mkdir()
    for split in ("train", "dev"):
        (folder / f"en_ewt-ud-{split}.conllu").write_text(NAMES_TRAIN)
    path = folder / "en_ewt-ud-train.conllu"
    train = list(local_formats._read_ewt_lemmas(str(path), "train"))
    by_word = {("".join(ex["source"]), "".join(ex["target"])): ex for ex in train}
    names = {word: ex["in_name"] for word, ex in by_word.items()}
    assert names["Greater", "Great"] == 1 and names["Greater", "great"] == 0  # 0 of 2 tokens
    assert names["Houston", "Houston"] == 0 and names["Leading", "lead"] == 1
    assert by_word["Greater", "great"]["count"] == 2
    dev = list(local_formats._read_ewt_lemmas(str(path), "dev"))  # every token
    assert [ex["in_name"] for ex in dev] == [1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    d = Dictionary(train, lambda e: (tuple(e["source"]), e["feature"]))
    assert d.name_votes["ADJ"] == 3 and d.name_votes["VERB"] == -2 and d.name_votes["PROPN"] == 0

    def cased(source, feature, output):
        return "".join(d.name_cased((tuple(source), feature), tuple(output)))

    assert cased("Civic", "ADJ", "civic") == "Civic"
    assert cased("CRAZY", "ADJ", "crazy") == "Crazy"
    assert cased("civic", "ADJ", "civic") == "civic"  # the source has no capital
    assert cased("Breaking", "VERB", "break") == "break"  # train's verbs drop it
    assert cased("Ruby", "PROPN", "ruby") == "ruby"  # no train votes either way
    assert cased("Odd", "ADJ", "") == ""

    from test_train import tiny_config

    from rnnlab import tasks

    config = tiny_config(dataset="ewt_lemmas", source_dir=str(tmp_path), metric="accuracy")
    task = tasks.build(config)
    assert list(task.examples["train"]) == train and list(task.examples["dev"]) == dev
    civic = Candidates("lowercase", tuple("Civic"), [(tuple("civic"), -1.0)])
    greater = Candidates("lowercase", tuple("Greater"), [(tuple("greater"), -1.0)])
    pair = (tuple("Civic"), "ADJ")
    assert task.choose(pair, civic, lexical=True, in_name=1) == tuple("civic")  # option off
    config.decode.name_case = True
    assert task.choose(pair, civic, lexical=True, in_name=1) == tuple("Civic")
    assert task.choose(pair, civic, lexical=True, in_name=0) == tuple("civic")
    assert task.choose(pair, civic, lexical=False, in_name=1) == tuple("civic")  # combined
    # A seen pair's dictionary target ("great", 2 of 3) is cased too.
    greater_pair = (tuple("Greater"), "ADJ")
    assert task.choose(greater_pair, greater, lexical=True, in_name=0) == tuple("great")
    assert task.choose(greater_pair, greater, lexical=True, in_name=1) == tuple("Great")


def test_seq2seq_on_text_is_a_sequence_autoencoder_of_each_texts_beginning():
    from test_train import tiny_config

    from rnnlab import tasks
    from rnnlab.data import datasets

    config = tiny_config(**{"dataset": "synthetic:lm", "task": "seq2seq", "max_tokens": 4,
                            "decode.beam_sizes": ()})  # fmt: skip
    task = tasks.build(config)
    text = datasets.load_dataset(
        "synthetic:lm", "train", synthetic_options=config.synthetic.to_dict()
    )
    pairs = task.examples["train"]
    assert len(pairs) == len(text) and max(len(ex["tokens"]) for ex in text) > 4
    for pair, ex in zip(pairs, text, strict=True):
        assert pair["source"] == pair["target"] == ex["tokens"][:4]
