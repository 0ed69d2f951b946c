"""Faults injected into real runs: kills, preemption, corrupt checkpoints, bad input.

Most drive the CLI (`python -m experiments.train ...`) in subprocesses, as a user or a
cluster would; every result is compared with an uninterrupted run, read back by orbax
alone (the whole train state, bit for bit), its metrics.jsonl rows and results.json.
Tiny models (hidden 8, a dozen steps); the compiled steps come from the shared cache.
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from conftest import REPO_ROOT
from test_train import tiny_config

from rnnlab import runs, train

CACHE = os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache")
train.enable_compilation_cache(CACHE)
ENV = {**os.environ, "JAX_COMPILATION_CACHE_DIR": CACHE,
       "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
       "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1"}  # fmt: skip

STEPS = 12  # checkpoints every 2 steps (the last two kept), dev every 3, a log line each
TINY = [
    "--config=experiments/configs/agreement.py", "--config.synthetic.size=64",
    "--config.model.hidden_size=8", "--config.model.embed_dim=8", "--config.batch_size=8",
    "--config.pad_multiple=32", "--config.minimal_pairs.per_distance=4",
    f"--config.num_steps={STEPS}", "--config.eval_every=3", "--config.checkpoint_every=2",
    "--config.log_every=1",
]  # fmt: skip


def start(module: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", f"experiments.{module}", *args], cwd=REPO_ROOT, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def train_cli(workdir, cells: str = "lstm", *more: str) -> tuple[int, str, str]:
    return finish(start("train", *TINY, f"--workdir={workdir}", f"--config.model.cell={cells}",
                        *more))  # fmt: skip


def concurrently(fn, items: dict) -> dict:
    """{key: fn(item)}, four at a time (each waits on its own subprocesses)."""
    with ThreadPoolExecutor(4) as pool:
        return dict(zip(items, pool.map(fn, items.values()), strict=True))


def at_step(proc: subprocess.Popen, step: int, name: str = "") -> None:
    """Reads the run's log until the line of `step` (of the model `name`)."""
    for line in proc.stdout:
        if (m := re.match(rf"{name}\S* step (\d+)/", line)) and int(m.group(1)) >= step:
            return
    raise AssertionError(f"the run ended before step {step}: {proc.stderr.read()[-2000:]}")


def train_state(run) -> dict:
    """The newest checkpoint's whole train state and data state, read by orbax alone."""
    folder = run / "checkpoints"
    step = max(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    with ocp.StandardCheckpointer() as c:
        state = c.restore(folder / str(step) / "state")
    return {"state": state, "data": (folder / str(step) / "data" / "metadata").read_text()}


def results(run) -> dict:
    """results.json without what differs between two runs of the same job."""
    out = json.loads((run / runs.RESULTS_FILE).read_text())
    for r in out.values() if "dev" not in out else [out]:  # one model, or one per cell
        del r["workdir"], r["wall_time_s"]
    return out


def assert_same_run(run, want) -> None:
    """The whole final state bit for bit, every metrics row, the same results."""
    jax.tree.map(np.testing.assert_array_equal, train_state(run), train_state(want))
    assert (run / "metrics.jsonl").read_text() == (want / "metrics.jsonl").read_text()
    assert results(run) == results(want)


def assert_one_line(err: str, pattern: str) -> None:
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err[-3000:]
    assert re.fullmatch(pattern, lines[0]), lines[0]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted reference: an LSTM and an Elman LM, one after the other."""
    workdir = tmp_path_factory.mktemp("straight")
    rc, _, err = train_cli(workdir, "lstm,elman")
    assert rc == 0, err[-3000:]
    return workdir


# --------------------------------------------------------------------------- kills


def test_sigkill_at_random_moments_then_rerun_matches_an_uninterrupted_run(tmp_path, straight):
    """Killed anywhere (a step, an evaluation, half-way through writing a checkpoint),
    the rerun ends where the uninterrupted run did; a killed save's temporary folder
    is gone after the rerun starts, even for a step that is never saved again."""

    def kill_then_rerun(seed: int):
        rng, workdir = random.Random(seed), tmp_path / f"seed{seed}"
        proc = start("train", *TINY, f"--workdir={workdir}", "--config.model.cell=lstm")
        at_step(proc, rng.randint(1, STEPS - 4))
        time.sleep(rng.uniform(0.0, 0.2))
        proc.kill()
        assert finish(proc)[0] == -signal.SIGKILL, "the run ended before the kill"
        leftovers = [workdir / "checkpoints" / "99.orbax-checkpoint-tmp-1", workdir / "best"
                     / "98.orbax-checkpoint-tmp-2"]  # fmt: skip
        for folder in leftovers:
            folder.mkdir(parents=True)
        rc, _, err = train_cli(workdir)
        assert rc == 0, err[-3000:]
        assert not any(folder.exists() for folder in leftovers)
        return workdir

    for workdir in concurrently(kill_then_rerun, {seed: seed for seed in (0, 1, 2)}).values():
        assert_same_run(workdir, straight / "lstm")


@pytest.mark.parametrize("cell", ["lstm", "elman"])
def test_sigterm_stops_a_multi_model_run_and_the_rerun_resumes_it(tmp_path, straight, cell):
    """SIGTERM during either model: a checkpoint, an exit within seconds (no later model
    started), a non-zero status; the rerun resumes that model, then trains the rest."""
    proc = start("train", *TINY, f"--workdir={tmp_path}", "--config.model.cell=lstm,elman")
    at_step(proc, 2, cell)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    rc, out, err = finish(proc)
    assert time.perf_counter() - sent < 10
    assert rc == 1 and err.strip().endswith("preempted: rerun the same command to resume"), err
    stopped = int(re.search(r"SIGTERM: checkpoint saved at step (\d+)", out).group(1))
    assert stopped < STEPS
    assert (tmp_path / "elman").exists() == (cell == "elman")
    rc, out, err = train_cli(tmp_path, "lstm,elman")
    assert rc == 0, err[-3000:]
    assert f"resumed from {tmp_path / cell} at step {stopped}" in out
    for name in ("lstm", "elman"):
        assert_same_run(tmp_path / name, straight / name)
    assert results(tmp_path) == results(straight)


def test_an_interrupted_run_rewrites_no_metrics_rows(tmp_path):
    """Crashed after a checkpoint, or before the first one: the rerun recomputes those
    steps, and metrics.jsonl ends up exactly as in a run that never stopped."""
    config = tiny_config(checkpoint_every=4, eval_every=100)
    train.train_and_evaluate(config, str(tmp_path / "straight"))
    for crash_at in (6, 2):

        def crash(step, at=crash_at):
            if step == at:
                raise KeyboardInterrupt

        workdir = str(tmp_path / f"crash{crash_at}")
        with pytest.raises(KeyboardInterrupt):
            train.train_and_evaluate(config, workdir, on_step=crash)
        train.train_and_evaluate(config, workdir)
        straight, crashed = (
            (tmp_path / run / "metrics.jsonl").read_text() for run in ("straight", workdir)
        )
        assert crashed == straight


@pytest.mark.parametrize(
    "overrides",
    [
        {"lm_mode": "stream"},  # the LM carry is part of the state
        {"dataset": "synthetic:classification", "metric": "accuracy", "model.num_layers": 2},
    ],
)
def test_sigterm_then_resume_matches_an_uninterrupted_run(tmp_path, overrides):
    config = tiny_config(**{"model.dropout": 0.3, **overrides})
    train.train_and_evaluate(config, str(tmp_path / "straight"))

    def preempt(step):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    first = train.train_and_evaluate(config, str(tmp_path / "resumed"), on_step=preempt)
    assert first["preempted"] and first["step"] == 3
    second = train.train_and_evaluate(config, str(tmp_path / "resumed"))
    assert second["step"] == 8
    straight, resumed = (runs.load(str(tmp_path / r), best=False).params
                         for r in ("straight", "resumed"))  # fmt: skip
    jax.tree.map(np.testing.assert_array_equal, straight, resumed)


# --------------------------------------------------------------------------- checkpoints


def _truncate_state(step_dir):
    for data in (step_dir / "state" / "ocdbt.process_0" / "d").iterdir():
        with open(data, "r+b") as f:
            f.truncate(100)


def _delete_meta(step_dir):
    (step_dir / "meta" / "metadata").unlink()


def _empty(step_dir):
    shutil.rmtree(step_dir)
    step_dir.mkdir()


CORRUPTIONS = {"truncated state": _truncate_state, "deleted meta/metadata": _delete_meta,
               "empty step folder": _empty}  # fmt: skip


def test_an_unusable_newest_checkpoint_falls_back_to_the_one_before(tmp_path, straight):
    """The newest step (12) corrupt: one warning naming it and why, a resume from step 10,
    and the uninterrupted run's result; every step corrupt: one error, nothing written."""
    copies = {}
    for name, corrupt in [*CORRUPTIONS.items(), ("all", None)]:
        copies[name] = shutil.copytree(straight / "lstm", tmp_path / name.replace(" ", "_"))
        for step in [STEPS] if corrupt else [STEPS - 2, STEPS]:
            (corrupt or _delete_meta)(copies[name] / "checkpoints" / str(step))
    done = concurrently(train_cli, copies)
    for name in CORRUPTIONS:
        rc, out, err = done[name]
        assert rc == 0, err[-3000:]
        folder = copies[name] / "checkpoints"
        assert_one_line(err, rf"warning: skipping checkpoint {folder}/{STEPS}: \w+: .+")
        assert f"resumed from {copies[name]} at step {STEPS - 2}\n" in out
        assert_same_run(copies[name], straight / "lstm")
    rc, out, err = done["all"]
    assert rc == 1 and "resumed" not in out
    assert_one_line(err, rf"error: no checkpoint in {copies['all']}/checkpoints can be restored "
                    rf"\(step {STEPS}: .+; step {STEPS - 2}: .+\); .+")  # fmt: skip
    assert sorted(os.listdir(copies["all"] / "checkpoints")) == [str(STEPS - 2), str(STEPS)]


# --------------------------------------------------------------------------- bad input

BAD_FILES = {  # dataset: (path under source_dir, content, line of the error)
    "sst": ("classes/train.txt", "3 ||| a good film\nno separator here\n", 2),
    "sst_trees": ("trees/train.txt", "(3 (2 a) (3 good))\n(1 (2 a) (1 bad)\n", 2),
    "wikiner": ("tags/train.txt", "John|I-PER runs|O\nMary|I-PER walks\n", 2),
    "ewt": ("ud_english_ewt/en_ewt-ud-train.conllu",
            "1\tJohn\tJohn\tPROPN\tNNP\t_\t0\troot\t_\t_\n\n1\tMary\tMary\tPROPN\tNNP\t_\t0\troot\n",
            3),
}  # fmt: skip


def test_every_user_error_is_one_line_without_a_traceback(tmp_path, straight):
    """Bad data, config, files and runs, through each CLI: exit 1, one line saying what
    and where, no traceback; nothing created in the workdir."""
    workdir = tmp_path / "never_created"
    cases = {}  # name: (args, the one line)
    for dataset, (path, text, line) in BAD_FILES.items():
        (tmp_path / dataset / path).parent.mkdir(parents=True)
        (tmp_path / dataset / path).write_text(text)
        args = ("train", *TINY, f"--workdir={workdir}", f"--config.dataset={dataset}",
                f"--config.source_dir={tmp_path / dataset}", "--config.metric=accuracy",
                "--config.model.cell=lstm")  # fmt: skip
        cases[dataset] = args, rf"error: {tmp_path / dataset / path}:{line}: expected .+"
    lm_run = shutil.copytree(straight / "lstm", tmp_path / "lm_run")
    bad_best = shutil.copytree(straight / "lstm", tmp_path / "bad_best")
    best_step = int(os.listdir(bad_best / "best")[0])
    _truncate_state(bad_best / "best" / str(best_step))
    cases |= {
        "no config file": (("train", "--config=nope.py", f"--workdir={workdir}"),
                           r"error: --config=nope.py: no such file; the configs in .+: "
                           r"agreement.py, .+"),
        "misspelt field": (("train", "--config.model.hiden_size=3", f"--workdir={workdir}"),
                           r"error: --config.model.hiden_size: the config has no field "
                           r"'hiden_size'; did you mean 'hidden_size'\?"),
        "bad values": (("train", "--config.model.hidden_size=-3", "--config.model.cell=lstm,x",
                        f"--workdir={workdir}"),
                       r"error: bad config: model.hidden_size must be a positive int, got -3; "
                       r"unknown cell 'x'; .+"),
        "another task's run": (("train", *TINY, f"--workdir={lm_run}",
                                "--config.dataset=synthetic:classification",
                                "--config.metric=accuracy", "--config.model.cell=lstm"),
                               rf"error: {lm_run}/checkpoints/{STEPS} holds a 'lm' run, not "
                               r"'classification': use another workdir"),
        "another model": (("train", *TINY, f"--workdir={lm_run}", "--config.model.cell=lstm",
                           "--config.model.hidden_size=16"),
                          rf"error: {lm_run}/checkpoints/{STEPS} holds another model "
                          r"\(hidden_size 8 there, 16 here\): use another workdir"),
        "predictor, no run": (("retrieve", f"--workdir={workdir}", "--query=a",
                               f"--corpus={tmp_path}/sst/classes/train.txt"),
                              rf"error: no checkpoint in {workdir}/best \(is it a training "
                              r"workdir\?\)"),
        "predictor, corrupt run": (("retrieve", f"--workdir={bad_best}", "--query=a",
                                    f"--corpus={tmp_path}/sst/classes/train.txt"),
                                   rf"error: no checkpoint in {bad_best}/best can be restored "
                                   rf"\(step {best_step}: ValueError: .+\); .+"),
        "no runs to compare": (("long_distance", f"--workdirs={workdir}"),
                               rf"error: {workdir}: no checkpoint here or in its subdirectories"),
    }  # fmt: skip
    config_before = (lm_run / "config.json").read_text()
    done = concurrently(lambda case: finish(start(*case[0])), cases)
    for name, (_, line) in cases.items():
        rc, _, err = done[name]
        assert rc == 1, (name, err[-3000:])
        assert_one_line(err, line)
    assert not workdir.exists()
    assert (lm_run / "config.json").read_text() == config_before  # refused before writing


def test_a_bug_keeps_its_traceback_and_verbose_shows_a_users_error():
    code = "from experiments import cli; cli.run(lambda: None, lambda argv: 1 / 0)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=ENV,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 1 and "Traceback" in out.stderr and "ZeroDivisionError" in out.stderr
    rc, _, err = finish(start("retrieve", "--workdir=/no/such/run", "--query=a", "--corpus=x",
                              "--verbose"))  # fmt: skip
    assert rc == 1 and "Traceback" in err and "FileNotFoundError: no checkpoint in" in err
