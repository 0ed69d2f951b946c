"""The trainer on device meshes: 8 simulated CPU devices (conftest.py) and 2 processes.

Data parallelism and FSDP change where numbers live, not what they are: the loss curve
and the final parameters must match the single-device run on the same global batches.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest
from conftest import REPO_ROOT
from test_train import CACHE, tiny_config

from rnnlab import runs, train

# A stream LM (the carry is sharded like the batch), 2 layers; FSDP splits every matrix.
SHARDED = {"dataset": "synthetic:lm", "lm_mode": "stream", "seq_len": 6,
           "model.num_layers": 2, "fsdp_min_size": 64, "eval_every": 8}  # fmt: skip


def _run(workdir, **overrides):
    train.train_and_evaluate(tiny_config(**SHARDED, **overrides), str(workdir))
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["split"] == "train"]
    return losses, runs.load(str(workdir), best=False).params


def _assert_same_run(got, want):
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
    for g, w in zip(jax.tree.leaves(got[1]), jax.tree.leaves(want[1]), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def single_device(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("single"))  # the default: one device on a CPU host


@pytest.mark.parametrize("mesh_shape", [(8,), (2, 4)])
def test_training_on_a_mesh_equals_single_device(mesh_shape, single_device, tmp_path):
    _assert_same_run(_run(tmp_path, mesh_shape=mesh_shape), single_device)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(workdir, config_file, num_steps: int, sigterm_at: int = 0) -> list[str]:
    """`experiments.train` as 2 local processes x 2 CPU devices, data x FSDP = 2 x 2;
    `sigterm_at`: SIGTERM to process 1 alone once it logs that step. Their outputs."""
    port = _free_port()
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_CPU_COLLECTIVES_IMPLEMENTATION": "gloo", "JAX_COMPILATION_CACHE_DIR": CACHE,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests")])}  # fmt: skip
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "experiments.train",
                f"--config={config_file}",
                f"--workdir={workdir}",
                f"--config.num_steps={num_steps}",
                "--config.distributed.initialize=True",
                f"--config.distributed.coordinator_address=127.0.0.1:{port}",
                "--config.distributed.num_processes=2",
                f"--config.distributed.process_id={i}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    head = []
    if sigterm_at:
        for line in procs[1].stdout:
            head.append(line)
            if line.startswith(f"run step {sigterm_at}/"):
                procs[1].send_signal(signal.SIGTERM)
                break
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    outputs[1] = "".join(head) + outputs[1]
    want = 1 if sigterm_at else 0  # preempted: "rerun the same command to resume"
    for i, (p, out) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == want, f"process {i} ended with {p.returncode}:\n{out[-3000:]}"
    return outputs


def test_two_processes_stop_together_on_one_sigterm_resume_and_match_one_process(tmp_path):
    """SIGTERM reaches process 1 only; both save the same step and exit; the resumed
    pair ends where one process training straight through does."""
    config_file = tmp_path / "two_process_config.py"
    config_file.write_text(
        "from test_train import CACHE, tiny_config\n\n\n"
        f"def get_config():\n    return tiny_config(**{SHARDED!r}, mesh_shape=(2, 2))\n"
    )
    workdir = tmp_path / "run"
    outputs = _two_processes(workdir, config_file, num_steps=10_000, sigterm_at=2)
    saved = [re.findall(r"SIGTERM: checkpoint saved at step (\d+)", out) for out in outputs]
    assert saved[0] == saved[1] and len(saved[0]) == 1, outputs
    stopped = int(saved[0][0])
    assert runs.load(str(workdir), best=False).step == stopped
    _two_processes(workdir, config_file, num_steps=stopped + 4)  # resume from it, finish
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if r["split"] == "train"]
    got = losses, runs.load(str(workdir), best=False).params
    _assert_same_run(got, _run(tmp_path / "straight", num_steps=stopped + 4))
