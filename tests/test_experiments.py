"""Every shipped config loads, validates and documents its command; the CLI runs."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, SHARED_DATA
from ml_collections import config_flags  # noqa: F401 (the CLI's loader)

from rnnlab import tasks

CONFIGS = sorted(
    p.stem for p in (REPO_ROOT / "experiments" / "configs").glob("*.py")
    if p.stem not in ("__init__", "base")
)  # fmt: skip


@pytest.mark.parametrize("name", CONFIGS)
def test_config_docstring_gives_its_command_and_validates(name):
    import importlib

    module = importlib.import_module(f"experiments.configs.{name}")
    config = module.get_config()
    # A driver config (experiments/transfer.py) holds the trainer configs it runs.
    driver = "transfer" if "finetune" in config else "train"
    command = f"python -m experiments.{driver} --config=experiments/configs/{name}.py"
    assert command in module.__doc__  # the exact command (first, by convention)
    if driver == "transfer":
        from experiments import transfer

        runs = [*transfer.pretrainings(config).values(), config.finetune]
    else:
        runs = [config]
    for run in runs:
        if run.dataset.split(":")[0] != "synthetic":
            if not SHARED_DATA.is_dir():
                pytest.skip("real data not here")
            run.source_dir = str(SHARED_DATA)
        tasks.validate(run)


def test_cli_trains_a_tiny_config_and_prints_a_result(tmp_path: pathlib.Path):
    args = [
        sys.executable, "-m", "experiments.train",
        "--config=experiments/configs/agreement.py", f"--workdir={tmp_path}",
        "--config.model.cell=gru", "--config.synthetic.size=64", "--config.num_steps=4",
        "--config.model.hidden_size=8", "--config.model.embed_dim=8", "--config.batch_size=8",
        "--config.eval_every=4", "--config.pad_multiple=32",
        "--config.minimal_pairs.per_distance=4",
    ]  # fmt: skip
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "minimal-pair accuracy by distance" in out.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["step"] == 4 and results["dev"]["count"] > 0
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["split"] == "dev"] == [4]
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert any(name.startswith("events") for name in os.listdir(tmp_path / "tb"))


def test_every_cli_imports_into_one_process():
    """A notebook imports several CLIs (for their functions): none may define a flag at
    import time, or the second import fails with DuplicateFlagError."""
    scripts = sorted(p.stem for p in (REPO_ROOT / "experiments").glob("*.py"))
    code = "import importlib\n" + "".join(
        f"importlib.import_module('experiments.{s}')\n" for s in scripts
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=120)
