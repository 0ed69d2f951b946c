"""LM -> classifier transfer: the pure mapping (rows by word, layers, clear errors), the
freeze / discriminative-lr schedule, init_from in the training loop (and that a resumed
run keeps its own parameters), and the experiment driver end to end. Tiny models."""

import functools
import json
import os
import shutil
import signal
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jaxprs import equations
from test_train import tiny_config

from experiments import transfer as driver
from rnnlab import losses, models, runs, tasks, train, transfer
from rnnlab.data.vocab import Vocab
from rnnlab.tasks import classification

train.enable_compilation_cache(os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache"))

LM_WORDS = ("<pad>", "<unk>", "<s>", "</s>", "the", "cat", "sat", "on", "mat")
WORDS = ("<pad>", "<unk>", "<s>", "</s>", "The", "dog", "sat", "on", "a", "cat")
MISSING = ["dog", "a"]  # "The" is the LM's "the" (the LM lowercases)


@functools.cache  # each tree is read, never written
def _lm(cell="lstm", embed_dim=4, hidden_size=6, num_layers=2):
    model = models.LanguageModel(len(LM_WORDS), embed_dim, hidden_size, cell, num_layers)
    ids = jnp.zeros((1, 3), jnp.int32)
    return model.init(jax.random.key(1), ids, jnp.ones((1, 3)))["params"]


@functools.cache
def _classifier(cell="lstm", embed_dim=4, hidden_size=6, num_layers=1, bidirectional=False,
                aux_lm=False):  # fmt: skip
    model = models.Classifier(
        len(WORDS), 5, embed_dim, hidden_size, cell, num_layers, bidirectional, aux_lm=aux_lm
    )
    ids = jnp.zeros((1, 3), jnp.int32)
    return model.init(jax.random.key(2), ids, jnp.ones((1, 3)))["params"]


def _transfer(lm_params, params):
    return transfer.transfer_lm(lm_params, Vocab(LM_WORDS, lowercase=True), params, Vocab(WORDS))


def test_embedding_rows_move_by_word_and_missing_words_are_counted():
    lm, params = _lm(), _classifier()
    new, report = _transfer(lm, params)
    E_lm, E_old, E_new = (
        np.asarray(p["embedding"]) for p in (lm["embed"], params["embed"], new["embed"])
    )
    lm_row = {w: i for i, w in enumerate(LM_WORDS)}
    for i, word in enumerate(WORDS):
        if word in MISSING or word == "<pad>":
            np.testing.assert_array_equal(E_new[i], E_old[i])  # its random init, untouched
        else:
            np.testing.assert_array_equal(E_new[i], E_lm[lm_row[word.lower()]])
    assert report["missing_words"] == len(MISSING) and report["missing_examples"] == MISSING
    assert report["words"] == len(WORDS) - 1
    np.testing.assert_array_equal(new["classify"]["kernel"], params["classify"]["kernel"])


@pytest.mark.parametrize("cell", ["lstm", "gru", "elman"])
def test_recurrent_layers_equal_the_lms(cell):
    lm = _lm(cell)
    one, _ = _transfer(lm, _classifier(cell))  # fewer layers than the LM: the bottom one
    two, report = _transfer(lm, _classifier(cell, num_layers=2))
    jax.tree.map(np.testing.assert_array_equal, one["rnn"]["layers"], lm["rnn"]["layers"][:1])
    jax.tree.map(np.testing.assert_array_equal, two["rnn"]["layers"], lm["rnn"]["layers"])
    assert report["from_lm"] == [
        "embed/embedding",
        "rnn/layers/0",
        "rnn/layers/1",
    ]


def test_a_bidirectional_classifier_gets_the_lm_in_its_forward_direction_only():
    lm, params = _lm(), _classifier(bidirectional=True)
    new, report = _transfer(lm, params)
    layer, old = new["rnn"]["layers"][0], params["rnn"]["layers"][0]
    jax.tree.map(np.testing.assert_array_equal, layer["fw"], lm["rnn"]["layers"][0])
    jax.tree.map(np.testing.assert_array_equal, layer["bw"], old["bw"])
    assert report["random"] == ["rnn/layers/0/bw", "classify"]
    mask = transfer.pretrained_mask(params)
    assert mask["embed"]["embedding"] and all(jax.tree.leaves(mask["rnn"]["layers"][0]["fw"]))
    assert not any(jax.tree.leaves([mask["rnn"]["layers"][0]["bw"], mask["classify"]]))


def test_the_auxiliary_lm_head_gets_the_lms_softmax_column_by_word():
    lm, params = _lm(num_layers=1), _classifier(aux_lm=True)
    new, report = _transfer(lm, params)
    lm_row = {w: i for i, w in enumerate(LM_WORDS)}
    for i, word in enumerate(WORDS):
        from_lm = word not in MISSING and word != "<pad>"
        for name in ("kernel", "bias"):
            got = np.asarray(new["lm_out"][name])[..., i]
            want = (
                lm["out"][name][..., lm_row[word.lower()]]
                if from_lm
                else params["lm_out"][name][..., i]
            )
            np.testing.assert_array_equal(got, np.asarray(want), err_msg=f"{word} {name}")
    assert report["from_lm"][-1] == "lm_out" and report["random"] == ["classify"]
    assert all(jax.tree.leaves(transfer.pretrained_mask(params)["lm_out"]))
    tied = models.LanguageModel(len(LM_WORDS), 4, 6, "lstm", 1, tie_weights=True)
    tied_params = tied.init(jax.random.key(1), jnp.zeros((1, 3), jnp.int32), jnp.ones((1, 3)))
    with pytest.raises(transfer.TransferError, match="lm_out: the LM ties its softmax"):
        _transfer(tied_params["params"], params)


def test_aux_loss_is_the_weighted_next_word_cross_entropy_in_training_only():
    model = models.Classifier(len(WORDS), 5, 4, 6, "lstm", 1, False, aux_lm=True)
    params = _classifier(aux_lm=True)
    tokens_BxT = np.array([[4, 5, 6, 7, 0], [8, 9, 6, 5, 4], [9, 0, 0, 0, 0]], np.int32)
    batch = {"tokens_BxT": tokens_BxT, "mask_BxT": tokens_BxT > 0,
             "labels_B": np.array([1, 3, 0], np.int32)}  # fmt: skip
    forward = functools.partial(classification.statistics, model, 0.5)
    train_stats = forward(params, batch, True, jax.random.key(0))  # dropout 0
    eval_stats = forward(params, batch, False, None)
    assert "aux_loss" not in eval_stats
    for k in ("loss_sum", "correct", "count"):
        np.testing.assert_allclose(train_stats[k], eval_stats[k], rtol=1e-6)
    # Independently: log-softmax in float64, the word after each real word, real pairs only.
    _, logits_BxTxV = model.apply({"params": params}, tokens_BxT, batch["mask_BxT"],
                                  method="with_lm")  # fmt: skip
    logits = np.asarray(logits_BxTxV, np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = [-logp[b, t, tokens_BxT[b, t + 1]] for b in range(3) for t in range(4)
           if tokens_BxT[b, t + 1] > 0]  # fmt: skip
    assert len(nll) == 3 + 4 + 0
    np.testing.assert_allclose(train_stats["aux_loss"], 0.5 * np.mean(nll), rtol=1e-5)
    # Causal: the logits at t do not see the words after t.
    later = tokens_BxT.copy()
    later[1, 3:] = [7, 7]
    _, changed = model.apply({"params": params}, later, later > 0, method="with_lm")
    np.testing.assert_allclose(changed[1, :3], logits_BxTxV[1, :3], rtol=1e-6)
    assert not np.allclose(changed[1, 3:], logits_BxTxV[1, 3:])
    with pytest.raises(ValueError, match="unidirectional"):
        _classifier(aux_lm=True, bidirectional=True)
    with pytest.raises(ValueError, match="with_lm needs a Classifier built with aux_lm"):
        models.Classifier(len(WORDS), 5, 4, 6).apply(
            {"params": _classifier()}, tokens_BxT, batch["mask_BxT"], method="with_lm"
        )


def test_the_aux_loss_over_sampled_words_is_the_sampled_softmax_and_never_makes_vocab_logits():
    model = models.Classifier(len(WORDS), 5, 4, 6, "lstm", 1, False, aux_lm=True)
    params = _classifier(aux_lm=True)
    tokens_BxT = np.array([[4, 5, 6, 7, 0], [8, 9, 6, 5, 4], [9, 0, 0, 0, 0]], np.int32)
    mask_BxT = tokens_BxT > 0
    batch = {"tokens_BxT": tokens_BxT, "mask_BxT": mask_BxT, "labels_B": np.array([1, 3, 0])}
    key, S, V = jax.random.key(3), 4, len(WORDS)

    def aux_loss(p, num_samples):
        stats = classification.statistics(model, 0.5, p, batch, True, key, num_samples)
        return stats["aux_loss"]

    # The estimator over the states the head reads: the next word, real pairs, the weight.
    _, features_BxTxH = model.apply({"params": params}, tokens_BxT, mask_BxT, train=True,
                                    rngs={"dropout": key}, method="with_lm_features")  # fmt: skip
    head = params["lm_out"]
    want = losses.sampled_token_cross_entropy(
        features_BxTxH[:, :-1], head["kernel"].T, head["bias"], tokens_BxT[:, 1:],
        mask_BxT[:, 1:], jax.random.fold_in(key, 1), S,
    )  # fmt: skip
    np.testing.assert_allclose(aux_loss(params, S), 0.5 * want["loss"], rtol=1e-6)
    assert not np.isclose(aux_loss(params, S), aux_loss(params, 0))  # an estimate
    # Neither the loss nor its gradient holds a [B, T - 1, V] array; the full softmax does.
    for num_samples, full in ((S, False), (0, True)):
        jaxpr = jax.make_jaxpr(jax.grad(lambda p, n=num_samples: aux_loss(p, n)))(params)
        shapes = {tuple(v.aval.shape) for e in equations(jaxpr.jaxpr) for v in e.outvars}
        assert ((3, 4, V) in shapes) == full


@pytest.mark.parametrize(
    "lm_kwargs, kwargs, message",
    [
        (
            {"hidden_size": 8},
            {},
            r"rnn/layers/0: lstm, H=6 .* LM's rnn/layers/0: lstm, H=8",
        ),
        ({"cell": "gru"}, {}, r"rnn/layers/0: lstm, H=6 .* LM's rnn/layers/0: gru, H=6"),
        ({"embed_dim": 5}, {}, r"embed/embedding: the classifier's embed_dim is 4, .* has 5"),
        (
            {"num_layers": 1},
            {"num_layers": 2},
            "the classifier has 2 recurrent layers, the LM only 1",
        ),
        (
            {},
            {"num_layers": 2, "bidirectional": True},
            r"rnn/layers/1/fw: lstm, H=6 \(U_HxG",
        ),
    ],
)
def test_mismatches_name_the_parameter(lm_kwargs, kwargs, message):
    with pytest.raises(transfer.TransferError, match=message):
        _transfer(_lm(**lm_kwargs), _classifier(**kwargs))


def test_freeze_then_scaled_updates():
    mask = {"pre": True, "new": False}
    opt = optax.chain(optax.sgd(1.0), transfer.scale_pretrained(mask, 2, 0.25))
    params = {"pre": jnp.ones(3), "new": jnp.ones(3)}
    grads = {"pre": jnp.ones(3), "new": jnp.ones(3)}
    state = opt.init(params)
    moves = []
    for _ in range(4):
        updates, state = opt.update(grads, state, params)
        moves.append((float(updates["pre"][0]), float(updates["new"][0])))
    assert moves == [(0.0, -1.0), (0.0, -1.0), (-0.25, -1.0), (-0.25, -1.0)]


# --------------------------------------------------------------------------- the loop


@pytest.fixture(scope="module")
def lm_workdir(tmp_path_factory):
    """A tiny LM on the synthetic corpus (the classifier's data set, as LM sentences)."""
    workdir = str(tmp_path_factory.mktemp("lm"))
    train.train_and_evaluate(tiny_config(dataset="synthetic:lm", vocab_max_size=60), workdir)
    return workdir


@pytest.fixture(scope="module")
def sa_workdir(tmp_path_factory):
    """A tiny sequence autoencoder (seq2seq on the same sentences; no attention, as
    Dai & Le's SA-LSTM), with a sampled softmax."""
    workdir = str(tmp_path_factory.mktemp("sa"))
    config = tiny_config(**{"dataset": "synthetic:lm", "task": "seq2seq", "vocab_max_size": 60,
                            "model.bidirectional": False, "model.sampled_softmax": 8,
                            "decode.beam_sizes": (), "metric": "loss"})  # fmt: skip
    train.train_and_evaluate(config, workdir)
    return workdir


def classifier_config(**overrides):
    return tiny_config(**{"dataset": "synthetic:classification", "metric": "accuracy",
                          "model.bidirectional": False, "num_steps": 6, **overrides})  # fmt: skip


def test_init_from_freezes_then_trains_and_a_resumed_run_does_not_reinitialise(
    tmp_path, lm_workdir
):
    lm_copy = str(tmp_path / "lm")
    shutil.copytree(lm_workdir, lm_copy)
    config = classifier_config(init_from=lm_copy, freeze_steps=3, pretrained_lr_scale=0.5)
    straight = train.train_and_evaluate(config, str(tmp_path / "straight"))

    def preempt(step):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    first = train.train_and_evaluate(config, str(tmp_path / "resumed"), on_step=preempt)
    assert first["preempted"] and first["step"] == 3
    # After 3 frozen steps: bit for bit the LM's layers, and its rows for the words it has.
    at_3 = runs.load(str(tmp_path / "resumed"), best=False).params
    lm = runs.load(lm_copy).params
    jax.tree.map(np.testing.assert_array_equal, at_3["rnn"], lm["rnn"])
    lm_vocab = runs.load_vocabs(lm_copy)["words"]
    words = runs.load_vocabs(str(tmp_path / "resumed"))["words"].tokens
    shared = [(i, lm_vocab.id(w)) for i, w in enumerate(words) if i > 0 and w in lm_vocab]
    rows, lm_rows = np.array(shared).T
    np.testing.assert_array_equal(
        at_3["embed"]["embedding"][rows], lm["embed"]["embedding"][lm_rows]
    )
    missing = len(words) - 1 - len(shared)
    assert missing > 0 and first["init"]["missing_words"] == missing  # the LM's vocab is capped

    shutil.rmtree(lm_copy)  # a resumed run must not read (let alone re-apply) the LM
    second = train.train_and_evaluate(config, str(tmp_path / "resumed"))
    assert second["step"] == 6 and second["init"] == first["init"] == straight["init"]
    resumed = runs.load(str(tmp_path / "resumed"), best=False).params
    uninterrupted = runs.load(str(tmp_path / "straight"), best=False).params
    jax.tree.map(np.testing.assert_array_equal, resumed, uninterrupted)
    # After the freeze the LM's parameters move too.
    for name in ("W_DxG", "U_HxG", "b_G"):
        moved = resumed["rnn"]["layers"][0][name] - lm["rnn"]["layers"][0][name]
        assert np.abs(moved).max() > 0, name


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (
            {"init_from": "/no/such/lm"},
            FileNotFoundError,
            "init_from '/no/such/lm': no LM checkpoint",
        ),
        ({"freeze_steps": 2}, tasks.ConfigError, "act on init_from's parameters: set it"),
        (
            {"init_from": "x", "dataset": "synthetic:lm"},
            tasks.ConfigError,
            "initialises a classifier",
        ),
        (
            {"model.aux_lm_weight": 0.5, "model.bidirectional": True},
            tasks.ConfigError,
            "aux_lm_weight is for a unidirectional classifier",
        ),
        ({"model.aux_lm_weight": -1.0}, tasks.ConfigError, "aux_lm_weight must be >= 0"),
        (
            {"vocab_from": "/no/such/lm"},
            tasks.ConfigError,
            "vocab_from '/no/such/lm': no checkpoint",
        ),
        (
            {"vocab_from": "x", "dataset": "shakespeare", "lm_mode": "stream"},
            tasks.ConfigError,
            "character data has its own",
        ),
        (
            {"init_from": "LM", "model.hidden_size": 6},
            transfer.TransferError,
            "rnn/layers/0: lstm, H=6",
        ),
    ],
)
def test_bad_transfer_configs_give_one_clear_error(tmp_path, lm_workdir, overrides, error, message):
    if overrides.get("init_from") == "LM":
        overrides["init_from"] = lm_workdir
    with pytest.raises(error, match=message):
        train.train_and_evaluate(classifier_config(**overrides), str(tmp_path))


def test_vocab_from_gives_the_classifier_the_lms_vocabulary_and_every_row(tmp_path, lm_workdir):
    config = classifier_config(init_from=lm_workdir, vocab_from=lm_workdir, freeze_steps=2,
                               num_steps=2)  # fmt: skip
    result = train.train_and_evaluate(config, str(tmp_path))
    lm_words = runs.load_vocabs(lm_workdir)["words"]
    assert runs.load_vocabs(str(tmp_path))["words"] == lm_words
    # Without it the classifier's own vocabulary misses words (see the test above).
    assert result["init"]["missing_words"] == 0 and result["init"]["words"] == len(lm_words) - 1
    frozen = runs.load(str(tmp_path), best=False).params["embed"]["embedding"]
    lm = runs.load(lm_workdir).params["embed"]["embedding"]
    np.testing.assert_array_equal(frozen[1:], lm[1:])  # every row but <pad>'s
    transfer_config = driver_config()
    transfer_config.pretrained.lm_vocabulary = True
    arms = {arm: driver.arm_config(transfer_config, arm, 0, "LM")
            for arm in driver.arms(transfer_config)}  # fmt: skip
    assert arms["lm"].vocab_from == "LM" and arms["random"].vocab_from == ""
    assert "lm_vocabulary" not in arms["lm"]


@pytest.mark.parametrize("sampled_softmax", [0, 8])
def test_fine_tuning_with_the_auxiliary_lm_loss_logs_it_and_trains_the_lms_softmax(
    tmp_path, lm_workdir, sampled_softmax
):
    aux = {"model.aux_lm_weight": 0.5, "model.sampled_softmax": sampled_softmax}
    config = classifier_config(init_from=lm_workdir, vocab_from=lm_workdir, freeze_steps=2,
                               num_steps=4, log_every=1, **aux)  # fmt: skip
    train.train_and_evaluate(config, str(tmp_path))
    lines = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    aux = [l["aux_loss"] for l in lines if l.get("split") == "train"]
    assert len(aux) == 4 and all(np.isfinite(aux)) and min(aux) > 0
    assert all("aux_loss" not in l for l in lines if l.get("split") == "dev")
    params = runs.load(str(tmp_path), best=False).params
    lm = runs.load(lm_workdir).params
    assert "lm_out" in params and not np.array_equal(
        params["lm_out"]["kernel"], lm["out"]["kernel"]
    )


def test_init_from_a_sequence_autoencoder_takes_its_encoder_and_nothing_else(tmp_path, sa_workdir):
    config = classifier_config(init_from=sa_workdir, freeze_steps=2, num_steps=2)
    result = train.train_and_evaluate(config, str(tmp_path))
    params = runs.load(str(tmp_path), best=False).params
    sa = runs.load(sa_workdir)
    assert sa.task == "seq2seq" and "decoder" in sa.params
    jax.tree.map(np.testing.assert_array_equal, params["rnn"], sa.params["rnn"])
    sa_words, words = sa.vocabs["words"], runs.load_vocabs(str(tmp_path))["words"]
    for i, w in enumerate(words.tokens[1:], 1):
        if w in sa_words:
            np.testing.assert_array_equal(
                params["embed"]["embedding"][i], sa.params["embed"]["embedding"][sa_words.id(w)]
            )
    init = result["init"]
    assert init["from_lm"] == ["embed/embedding", "rnn/layers/0"]
    assert init["random"] == ["classify"] and set(params) == {"embed", "rnn", "classify"}


def test_driver_writes_every_arm_per_seed(tmp_path, lm_workdir, sa_workdir, monkeypatch):
    config = driver_config()
    # finished: the driver only evaluates them
    shutil.copytree(lm_workdir, tmp_path / "pretrain_lm")
    shutil.copytree(sa_workdir, tmp_path / "pretrain_sa")
    results = driver.run(config, str(tmp_path))
    saved = json.loads((tmp_path / "transfer.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert driver.arms(config) == ("lm", "sa", "random")
    for arm in driver.arms(config):
        accuracy = [
            json.loads((tmp_path / arm / f"seed{s}" / "results.json").read_text())["dev"][
                "accuracy"
            ]
            for s in (0, 1)
        ]
        assert saved[arm]["dev_accuracy"] == accuracy
        assert saved[arm]["mean"] == pytest.approx(np.mean(accuracy))
        assert saved[arm]["std"] == pytest.approx(np.std(accuracy, ddof=1))
    for arm in ("lm", "sa"):
        diff = np.subtract(saved[arm]["dev_accuracy"], saved["random"]["dev_accuracy"])
        d = saved["difference"][arm]
        assert d["mean"] == pytest.approx(diff.mean())
        se = np.std(diff, ddof=1) / np.sqrt(2)
        assert d["t"] == (pytest.approx(diff.mean() / se) if se else float("inf"))
        assert saved["init"][arm]["init_from"] == str(tmp_path / f"pretrain_{arm}")
    assert saved["pretraining"]["sa"]["summary"]["task"] == "seq2seq"
    assert "init" not in json.loads((tmp_path / "random" / "seed0" / "results.json").read_text())
    table = driver.format_table(results)
    assert "sa - random: paired t" in table and "seq2seq pre-training" in table

    def no_training(config, workdir, **kwargs):
        raise AssertionError(f"{workdir} was trained again")

    with monkeypatch.context() as m:  # a rerun reads every finished run back
        m.setattr(train, "train_and_evaluate", no_training)
        assert json.loads(json.dumps(driver.run(config, str(tmp_path)))) == saved
    config.finetune.num_steps = 5  # another config: trained again (resumed at step 4)
    rerun = driver.run(config, str(tmp_path))
    assert [r["step"] for r in rerun["runs"]["random"]] == [5, 5]


def driver_config():
    import ml_collections

    c = ml_collections.ConfigDict()
    c.seeds = (0, 1)
    c.pretrain = ml_collections.ConfigDict()
    c.pretrain.lm = tiny_config(dataset="synthetic:lm", vocab_max_size=60)
    c.pretrain.sa = tiny_config(**{"dataset": "synthetic:lm", "task": "seq2seq",
                                   "vocab_max_size": 60, "model.bidirectional": False,
                                   "model.sampled_softmax": 8, "decode.beam_sizes": (),
                                   "metric": "loss"})  # fmt: skip
    c.finetune = classifier_config(num_steps=4)
    c.pretrained = {"freeze_steps": 2, "pretrained_lr_scale": 0.5}
    return c
