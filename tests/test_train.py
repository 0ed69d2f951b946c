"""The training loop: end to end on the synthetic corpus, the NaN guard, and config
errors (exact resume after SIGTERM, kills and corrupt checkpoints: test_faults.py).
Tiny models, a few steps each."""

import functools
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.configs.base import base_config
from rnnlab import runs, tasks, train
from rnnlab.checkpoint import CheckpointError

# Compiled steps are shared across the runs of this module (and of its siblings).
CACHE = os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache")
train.enable_compilation_cache(CACHE)


def tiny_config(**overrides):
    c = base_config()
    c.synthetic.size = 96
    c.model.embed_dim = 8
    c.model.hidden_size = 8
    c.batch_size = 8
    c.eval_batch_size = 32
    c.num_steps = 8
    c.eval_every = 4
    c.checkpoint_every = 100  # at the end (and on SIGTERM) only
    c.log_every = 2
    c.pad_multiple = 32  # one batch shape: one compilation
    c.learning_rate = 1e-2
    c.metric = "perplexity"
    for key, value in overrides.items():
        target = c
        *path, last = key.split(".")
        for p in path:
            target = target[p]
        target[last] = value
    return c


def _params(workdir):
    return runs.load(str(workdir), best=False).params


def test_class_conditioned_lm_trains_and_samples_each_class(tmp_path):
    config = tiny_config(task="lm", dataset="synthetic:classification", **{"sample.num": 4})
    config.sample.length = 5
    results = train.train_and_evaluate(config, str(tmp_path))
    assert [s[:4] for s in results["samples"]] == ["[0] ", "[1] ", "[0] ", "[1] "]
    run = runs.load(str(tmp_path))
    assert run.model.num_classes == 2 and "label_embed" in run.params
    words = set(run.vocabs["words"].tokens)
    assert set(" ".join(results["samples"]).split()) - {"[0]", "[1]"} <= words


@pytest.mark.parametrize("learning_rate, best_step", [(1e-2, 8), (1.0, 6)])
def test_results_are_the_best_checkpoints_dev_metrics(tmp_path, learning_rate, best_step):
    """results["dev"] is the best checkpoint's dev evaluation, whether the best is the
    last evaluated step (reused, not recomputed) or an earlier one (restored)."""
    config = tiny_config(learning_rate=learning_rate, eval_every=2)
    results = train.train_and_evaluate(config, str(tmp_path))
    assert (results["best_step"], results["step"]) == (best_step, 8)  # both cases covered
    run = runs.load(str(tmp_path))
    task = tasks.build(run.config)
    want = train.evaluate(task, run.params, task.dev)
    assert set(results["dev"]) == set(want)
    for key, value in want.items():
        np.testing.assert_allclose(results["dev"][key], value, rtol=1e-6)


def test_nonfinite_loss_stops_with_the_step_or_is_skipped(tmp_path):
    config = tiny_config(learning_rate=float("nan"))
    with pytest.raises(train.NonFiniteLossError, match="at step 1"):
        train.train_and_evaluate(config, str(tmp_path / "stop"))
    config.skip_nonfinite = True
    config.num_steps = 4
    results = train.train_and_evaluate(config, str(tmp_path / "skip"))
    assert results["skipped_nonfinite"] == 4
    assert np.isfinite(results["dev"]["loss"])


def test_nonfinite_step_is_named_though_metrics_are_read_late(tmp_path, monkeypatch):
    """The loop reads metrics only at log/eval/checkpoint steps (no per-step sync); a
    NaN at step 3 must still be reported as step 3, and skipped as one batch."""
    original = train.train_step

    def nan_at_step_3(state, batch, **kwargs):
        new, metrics = original(state, batch, **kwargs)
        bad = new["step"] == 3
        nan = jnp.where(bad, jnp.nan, metrics["loss"])
        return new, {**metrics, "loss": nan, "finite": metrics["finite"] & ~bad}

    monkeypatch.setattr(train, "train_step", nan_at_step_3)
    config = tiny_config(log_every=100, eval_every=100)
    with pytest.raises(train.NonFiniteLossError, match="nan at step 3;"):
        train.train_and_evaluate(config, str(tmp_path / "stop"))
    assert not runs.has_checkpoint(str(tmp_path / "stop"))  # nothing saved past it
    config.skip_nonfinite = True
    assert train.train_and_evaluate(config, str(tmp_path / "skip"))["skipped_nonfinite"] == 1


def test_tagger_word_dropout_from_the_config_reaches_the_train_step(tmp_path):
    tagger = {"dataset": "synthetic:tagging", "metric": "accuracy", "num_steps": 2}
    task = tasks.build(tiny_config(**tagger, **{"model.word_dropout": 0.3}))
    assert task.model.word_dropout == 0.3 and task.model.unk_id == task.vocabs["words"].unk_id
    for rate in (0.0, 0.3):
        config = tiny_config(**tagger, **{"model.word_dropout": rate})
        train.train_and_evaluate(config, str(tmp_path / str(rate)))
    with pytest.raises(AssertionError):  # the same data and keys: only word dropout differs
        jax.tree.map(np.testing.assert_array_equal, _params(tmp_path / "0.0"),
                     _params(tmp_path / "0.3"))  # fmt: skip


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"model.hidden_size": -3}, "model.hidden_size must be a positive int"),
        ({"model.cell": "lstm,transformer"}, "unknown cell 'transformer'"),
        ({"dataset": "ptb", "source_dir": "/no/such/dir"}, "source_dir '/no/such/dir'"),
        ({"dataset": "nope"}, "unknown dataset 'nope'"),
        ({"model.unroll": -1}, "model.unroll must be an int >= 0"),
        ({"model.compute_dtype": "fp8"}, "model.compute_dtype must be one of"),
        ({"model.word_dropout": 1.0}, r"model.word_dropout must be in \[0, 1\)"),
        ({"model.word_dropout": 0.25}, "model.word_dropout is a tagger option"),
        ({"log_every": 0}, "log_every must be a positive int, got 0"),
        ({"eval_every": 0, "keep_checkpoints": -1}, "eval_every must be a positive int, got "
         "0\n  keep_checkpoints must be a positive int, got -1"),
        ({"num_steps": 0, "num_epochs": 0}, "num_steps or num_epochs must be > 0"),
        ({"early_stop_evals": -2}, "early_stop_evals must be an int >= 0, got -2"),
        ({"adam_b2": 1.0}, r"adam_b2 must be in \[0, 1\), got 1.0"),
        ({"ema_decay": -0.1}, r"ema_decay must be in \[0, 1\), got -0.1"),
        ({"dataset": "synthetic:classification", "model.sampled_softmax": 8},
         r"model.sampled_softmax is for LMs, seq2seq and a classifier's auxiliary LM loss"),
        ({"mesh_shape": (3,)}, r"mesh_shape \(3,\) does not use the 8 devices exactly"),
        ({"log_every": -1, "model.hidden_size": 0}, "bad config:\n  model.hidden_size must be "
         "a positive int, got 0\n  log_every must be a positive int, got -1$"),
    ],
)  # fmt: skip
def test_bad_config_values_give_one_clear_error_before_the_workdir_exists(
    tmp_path, overrides, message
):
    with pytest.raises(ValueError, match=message):
        train.train_and_evaluate(tiny_config(**overrides), str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_an_unknown_metric_is_a_config_error_naming_the_tasks_metrics(tmp_path):
    with pytest.raises(
        tasks.ConfigError,
        match="metric 'acc' is not one of this task's dev metrics: loss, accuracy, perplexity$",
    ):
        train.train_and_evaluate(tiny_config(metric="acc", num_steps=2, eval_every=2),
                                 str(tmp_path))  # fmt: skip


def test_a_run_says_what_it_trains_and_where_before_it_compiles(tmp_path, capsys):
    train.train_and_evaluate(tiny_config(num_steps=2, eval_every=2), str(tmp_path))
    lines = capsys.readouterr().out.splitlines()
    run = runs.load(str(tmp_path))
    count = sum(x.size for x in jax.tree.leaves(run.params))
    device = jax.devices()[0].device_kind
    assert lines[:4] == [
        f"{tmp_path}: reading synthetic:lm...",
        f"lm: train examples 96, dev examples 96, words vocab {len(run.vocabs['words'])}; "
        f"LanguageModel (lstm), {count:,} parameters",
        "2 steps (0.17 epochs of 12), batch 8; dev every 2, checkpoint every 100 steps",
        f"cpu: 1 x {device} (data 1 x fsdp 1); compiling the train step (cached in {CACHE})...",
    ]
    assert lines[4].startswith(f"{tmp_path.name} step 2/2: loss ")


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_step_decay_keeps_the_first_epochs_then_multiplies_every_epoch(optimizer):
    """decay_after_epochs=2 with 3 steps per epoch: 6 steps at the full rate, then x0.5
    at each epoch start (Zaremba: "after 4 epochs" means the 5th is the first decayed)."""
    config = tiny_config(optimizer=optimizer, learning_rate=0.1, lr_decay=0.5,
                         decay_after_epochs=2, clip_norm=0.0)  # fmt: skip
    opt = train.make_optimizer(config, steps_per_epoch=3)
    params = {"w": jnp.zeros(())}
    state = opt.init(params)
    steps = []
    for _ in range(12):  # a constant gradient of 1: SGD's and Adam's step is the lr
        updates, state = opt.update({"w": jnp.ones(())}, state, params)
        steps.append(-float(updates["w"]))
    want = [0.1] * 6 + [0.05] * 3 + [0.025] * 3
    np.testing.assert_allclose(
        steps, want, rtol=1e-6 if optimizer == "sgd" else 1e-4
    )  # Adam: float32 bias correction
    config.lr_decay = 1.0  # the default: constant
    constant = train.make_optimizer(config, steps_per_epoch=3)
    state = constant.init(params)
    for _ in range(12):
        updates, state = constant.update({"w": jnp.ones(())}, state, params)
        np.testing.assert_allclose(-float(updates["w"]), 0.1, rtol=1e-4)


def test_adam_b2_is_the_second_moment_decay():
    """Gradients 1 then 3: after the second step v-hat differs between b2 = 0.9 and 0.999,
    and the update is the hand-computed Adam step."""
    params = {"w": jnp.zeros(())}
    for b2 in (0.9, 0.999):
        opt = train.make_optimizer(tiny_config(adam_b2=b2, learning_rate=0.1, clip_norm=0.0),
                                   steps_per_epoch=3)  # fmt: skip
        state = opt.init(params)
        m = v = 0.0
        for t, g in enumerate((1.0, 3.0), 1):
            updates, state = opt.update({"w": jnp.asarray(g)}, state, params)
            m, v = 0.9 * m + 0.1 * g, b2 * v + (1 - b2) * g * g
            want = -0.1 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
            np.testing.assert_allclose(float(updates["w"]), want, rtol=1e-5)


def test_constant_adam_keeps_the_optimizer_state_layout_of_existing_checkpoints():
    """A resumed or transferred-from run restores its optimizer state into this layout."""
    params = {"w": jnp.zeros((2,))}
    state = train.make_optimizer(tiny_config(), steps_per_epoch=3).init(params)
    before = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(1e-2)).init(params)
    assert jax.tree.structure(state) == jax.tree.structure(before)


def test_the_moving_average_follows_the_params_and_leaves_them_as_they_were():
    """Five updates by train_step: the params are those of a run without the average, and
    "ema_params" is the float64 recurrence e <- r e + (1 - r) p over them, with r =
    min(decay, (1 + t) / (10 + t)) at update t."""
    config = tiny_config()
    task = tasks.build(config)
    params = task.init_params(jax.random.key(0), task.train[0])
    optimizer = train.make_optimizer(config, task.steps_per_epoch)
    step = jax.jit(functools.partial(train.train_step, task=task, optimizer=optimizer,
                                     steps_per_epoch=task.steps_per_epoch,
                                     ema_decay=0.3))  # fmt: skip
    plain = {"params": params, "opt_state": optimizer.init(params),
             "step": jnp.array(0, jnp.int32), "rng": jax.random.key(1)}  # fmt: skip
    averaged = {**plain, "ema_params": params}
    want = jax.tree.map(lambda p: np.asarray(p, np.float64), params)
    for t in range(5):
        plain, _ = step(plain, task.train[t])
        averaged, _ = step(averaged, task.train[t])
        assert "ema_params" not in plain
        jax.tree.map(np.testing.assert_array_equal, averaged["params"], plain["params"])
        r = min(0.3, (1 + t) / (10 + t))
        want = jax.tree.map(functools.partial(_averaged, r), want, plain["params"])
        jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7),
                     averaged["ema_params"], want)  # fmt: skip
    moved = jax.tree.map(lambda e, p: float(np.abs(e - p).max()), want, plain["params"])
    assert max(jax.tree.leaves(moved)) > 1e-3  # the average is not the params


def _averaged(r, e, p):
    return r * e + (1 - r) * np.asarray(p, np.float64)


def test_a_run_with_a_moving_average_selects_reports_and_loads_it(tmp_path):
    """Dev results are the loaded weights' evaluation, and the loaded weights are the
    average: not the weights of the same run without one (same seed, same updates)."""
    results = train.train_and_evaluate(
        tiny_config(ema_decay=0.5, eval_every=2), str(tmp_path / "ema")
    )
    train.train_and_evaluate(tiny_config(eval_every=2), str(tmp_path / "plain"))
    run = runs.load(str(tmp_path / "ema"))
    task = tasks.build(run.config)
    want = train.evaluate(task, run.params, task.dev)
    np.testing.assert_allclose(results["dev"]["loss"], want["loss"], rtol=1e-6)
    plain = runs.load(str(tmp_path / "plain"), best=False).params
    latest = runs.load(str(tmp_path / "ema"), best=False).params
    with pytest.raises(AssertionError):
        jax.tree.map(np.testing.assert_allclose, latest, plain)
    config = tiny_config(num_steps=12)  # resumed without the average it was trained with
    with pytest.raises(CheckpointError, match="keeps a moving average.*ema_decay"):
        train.train_and_evaluate(config, str(tmp_path / "ema"))
