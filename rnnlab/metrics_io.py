"""Where training metrics go: JSON lines, TensorBoard events (no TensorFlow), a progress
bar on a terminal (plain log lines otherwise), and a PNG of the training curves.

Every file goes through `etils.epath`, so a workdir may be a bucket URL; bucket objects
cannot be appended to, so metrics.jsonl (and a URL's event file) is rewritten whole."""

from __future__ import annotations

import io
import json
import sys
import time

import jax
from etils import epath
from tqdm import tqdm

METRICS_FILE = "metrics.jsonl"


class MetricsWriter:
    """`{"step", "split", **metrics}` rows in <workdir>/metrics.jsonl and the same scalars
    as TensorBoard events (tensorboardX, if installed) under <workdir>/tb, written by
    process 0 (every process computes the same metrics). Files are written at most every
    `flush_every_s` seconds and at `flush()`, which the loop calls before each checkpoint:
    the rows up to a checkpoint survive a kill."""

    def __init__(self, workdir: str, resume_step: int, config_text: str = "",
                 flush_every_s: float = 10.0):  # fmt: skip
        self.path = epath.Path(workdir) / METRICS_FILE
        self.enabled = jax.process_index() == 0
        self.flush_every_s, self.flushed = flush_every_s, time.monotonic()
        self.rows, self.tb = [], None
        if not self.enabled:
            return
        # Rows past the checkpoint were written by the interrupted run; the resumed
        # run recomputes those steps and writes them again.
        self.rows = [json.dumps(r) for r in read_metrics(workdir) if r["step"] <= resume_step]
        self.flush()
        self.tb = _tensorboard(str(epath.Path(workdir) / "tb"), resume_step, config_text)

    def write(self, step: int, split: str, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        scalars = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        self.rows.append(json.dumps({"step": step, "split": split, **scalars}))
        if self.tb is not None:
            for name, value in scalars.items():
                self.tb.add_scalar(f"{split}/{name}", value, step)
        if time.monotonic() - self.flushed >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        if not self.enabled:
            return
        # Through a temporary file: a kill mid-write leaves the previous file whole.
        tmp = self.path.with_name(METRICS_FILE + ".tmp")
        tmp.write_text("".join(row + "\n" for row in self.rows), encoding="utf-8")
        tmp.replace(self.path)
        if self.tb is not None:
            self.tb.flush()
        self.flushed = time.monotonic()

    def close(self) -> None:
        self.flush()
        if self.tb is not None:
            self.tb.close()


def _tensorboard(logdir: str, resume_step: int, config_text: str):
    """A tensorboardX writer (None if it is not installed) that drops the events an
    interrupted run wrote after its checkpoint, with the config as text."""
    try:
        from tensorboardX import SummaryWriter, record_writer
    except ImportError:  # TensorBoard events are optional; the JSON lines are not
        return None
    if "://" in logdir:  # tensorboardX's own gs:// writer needs google-cloud-storage
        record_writer.register_writer_factory(logdir.split(":")[0], _EpathEventsFactory())
    # (a resume in the same second as the start must not reuse its file name)
    tb = SummaryWriter(logdir, purge_step=resume_step + 1 if resume_step else None,
                       filename_suffix=f".from{resume_step}")  # fmt: skip
    if config_text:
        tb.add_text("config", "".join(f"    {line}\n" for line in config_text.splitlines()))
    return tb


class _EpathEvents:
    """An event file at a URL: buffered, written whole through epath at each flush."""

    def __init__(self, path: str):
        self.path, self.buffer = epath.Path(path), io.BytesIO()

    def write(self, data: bytes) -> None:
        self.buffer.write(data)

    def flush(self) -> None:
        self.path.write_bytes(self.buffer.getvalue())

    def close(self) -> None:
        self.flush()


class _EpathEventsFactory:
    def open(self, path: str) -> _EpathEvents:
        return _EpathEvents(path)

    def directory_check(self, path: str) -> None:
        epath.Path(path).mkdir(parents=True, exist_ok=True)


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
    path = epath.Path(workdir) / METRICS_FILE
    if not path.exists():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


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
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    path = epath.Path(workdir) / filename
    path.write_bytes(png.getvalue())
    return str(path)
