"""experiments.retrieve end to end: a tiny classifier trained for 2 steps finds the query."""

import subprocess
import sys

from conftest import REPO_ROOT
from test_train import tiny_config

from rnnlab import train
from rnnlab.data import datasets


def test_cli_prints_the_nearest_corpus_sentences(tmp_path):
    config = tiny_config(
        dataset="synthetic:classification", metric="accuracy", num_steps=2, eval_every=2
    )
    train.train_and_evaluate(config, str(tmp_path / "run"))
    dev = datasets.load_dataset("synthetic:classification", "dev")
    corpus = [" ".join(dev[i]["tokens"]) for i in range(20)]
    (tmp_path / "corpus.txt").write_text("".join(f"0 ||| {s}\n" for s in corpus))
    args = [
        sys.executable, "-m", "experiments.retrieve", f"--workdir={tmp_path / 'run'}",
        f"--query={corpus[3]}", f"--corpus={tmp_path / 'corpus.txt'}", "--k=3",
    ]  # fmt: skip
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [line.split("  ", 1) for line in out.stdout.splitlines()]
    assert len(rows) == 3 and rows[0] == ["1.000", corpus[3]]  # the query itself is nearest
    cosines = [float(cosine) for cosine, _ in rows]
    assert cosines == sorted(cosines, reverse=True) and all(-1 <= c <= 1 for c in cosines)
    assert all(sentence in corpus for _, sentence in rows)
