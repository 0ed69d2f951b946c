"""Where training metrics go: JSON lines, TensorBoard events (no TensorFlow), a progress
bar on a terminal (plain log lines otherwise), and a PNG of the training curves."""

from __future__ import annotations

import json
import os
import sys
import time

import jax
from tqdm import tqdm

METRICS_FILE = "metrics.jsonl"


class MetricsWriter:
    """Appends `{"step", "split", **metrics}` lines to <workdir>/metrics.jsonl and writes
    the same scalars as TensorBoard events (tensorboardX, if installed) under <workdir>/tb."""

    def __init__(self, workdir: str, resume_step: int | None = None):
        self.path = os.path.join(workdir, METRICS_FILE)
        # In a multi-process run every process computes the same metrics; one writes.
        self.enabled = jax.process_index() == 0
        if self.enabled and resume_step is not None:
            # Rows past the checkpoint were written by the interrupted run; the resumed
            # run recomputes those steps and writes them again.
            kept = [r for r in read_metrics(workdir) if r["step"] <= resume_step]
            with open(self.path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)
        try:
            from tensorboardX import SummaryWriter
        except ImportError:  # TensorBoard events are optional; the JSON lines are not
            self.tb = None
        else:
            self.tb = SummaryWriter(os.path.join(workdir, "tb"))

    def write(self, step: int, split: str, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        scalars = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"step": step, "split": split, **scalars}) + "\n")
        if self.tb is not None:
            for name, value in scalars.items():
                self.tb.add_scalar(f"{split}/{name}", value, step)
            self.tb.flush()

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


class Progress:
    """tqdm with loss and tokens/s on a terminal; a plain line every `log_every` steps
    when stderr is not a TTY (logs of batch jobs stay readable)."""

    def __init__(self, total: int, initial: int, log_every: int, desc: str = "train"):
        self.tty = sys.stderr.isatty()
        self.log_every, self.desc, self.total = log_every, desc, total
        self.bar = tqdm(total=total, initial=initial, desc=desc, disable=not self.tty)
        self.tokens, self.start = 0, time.perf_counter()

    def update(self, step: int, tokens: int, metrics: dict[str, float] | None) -> float:
        """Advances by one step; returns tokens/s since the last report."""
        self.tokens += tokens
        self.bar.update(1)
        if metrics is None:
            return 0.0
        rate = self.tokens / max(time.perf_counter() - self.start, 1e-9)
        self.tokens, self.start = 0, time.perf_counter()
        if self.tty:
            self.bar.set_postfix(loss=f"{metrics['loss']:.4f}", tok_s=f"{rate:,.0f}")
        else:
            print(
                f"{self.desc} step {step}/{self.total}: loss {metrics['loss']:.4f}, "
                f"{rate:,.0f} tokens/s",
                flush=True,
            )
        return rate

    def write(self, line: str) -> None:
        (self.bar.write if self.tty else print)(line)

    def close(self) -> None:
        self.bar.close()


def read_metrics(workdir: str) -> list[dict]:
    path = os.path.join(workdir, METRICS_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_curves(workdir: str, metric: str, filename: str = "curves.png") -> str | None:
    """Training loss and the dev loss/metric against steps, as <workdir>/curves.png."""
    # A bare Figure, not pyplot: no global backend switch (a notebook keeps its plots).
    from matplotlib.figure import Figure

    rows = read_metrics(workdir)
    if not rows:
        return None
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_metric = fig.subplots(1, 2)
    for split, style in (("train", "-"), ("dev", "o-")):
        points = [(r["step"], r["loss"]) for r in rows if r["split"] == split and "loss" in r]
        if points:
            ax_loss.plot(*zip(*points, strict=True), style, label=f"{split} loss", markersize=3)
    dev = [(r["step"], r[metric]) for r in rows if r["split"] == "dev" and metric in r]
    if dev:
        ax_metric.plot(*zip(*dev, strict=True), "o-", markersize=3)
    ax_loss.set(xlabel="step", ylabel="loss per token / sentence (nats)")
    ax_loss.legend()
    ax_metric.set(xlabel="step", ylabel=f"dev {metric}")
    fig.tight_layout()
    path = os.path.join(workdir, filename)
    fig.savefig(path, dpi=100)
    return path
