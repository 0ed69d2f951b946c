r"""Plot ‖∂ loss_T / ∂ h_t‖ against T − t for Elman RNN, LSTM and GRU on the same data.

    python -m experiments.gradients_through_time --out=/tmp/gradients.png   # ~10 s on CPU

The data is a window of the embedded synthetic corpus (sentences joined into one stream),
embedded with a fixed random embedding; every cell is freshly initialised with the same
seed. The loss is a fixed random linear read-out of the final hidden state. Prints the
mean norm at a few distances and writes a log-scale PNG (and the numbers as JSON).
"""

import json
import pathlib

import jax
import numpy as np
from absl import flags
from matplotlib.figure import Figure

from experiments import cli
from rnnlab import cells
from rnnlab.analysis import gradients
from rnnlab.data import pipeline, synthetic
from rnnlab.data.vocab import Vocab


def windows(batch: int, length: int, seed: int) -> tuple[np.ndarray, int]:
    """[batch, length] token ids from the synthetic corpus stream, and the vocab size."""
    sentences = synthetic.examples("lm", "train", seed=seed, size=batch * length // 4)
    vocab = Vocab.build([ex["tokens"] for ex in sentences])
    stream = pipeline.token_stream(sentences, vocab)
    rows = stream[: batch * length].reshape(batch, length)
    return rows, len(vocab)


def measure(cell_names, hidden, embed, length, batch, seed) -> dict[str, np.ndarray]:
    """Mean ‖∂L/∂h_t‖ by distance T − t (index 0 = the last step), per cell."""
    tokens_BxT, vocab_size = windows(batch, length, seed)
    k_emb, k_cell, k_out = jax.random.split(jax.random.key(seed), 3)
    xs_BxTxD = jax.random.normal(k_emb, (vocab_size, embed))[tokens_BxT]
    w_H = jax.random.normal(k_out, (hidden,)) / np.sqrt(hidden)
    result = {}
    for name in cell_names:
        cell = cells.make(name, hidden)
        norms_BxT = gradients.hidden_gradient_norms(
            cell, cell.init(k_cell, embed), xs_BxTxD, None, lambda h_BxH: h_BxH @ w_H
        )
        result[name] = np.asarray(gradients.norms_by_distance(norms_BxT))
    return result


def plot(by_cell: dict[str, np.ndarray], path: pathlib.Path, title: str) -> None:
    # A bare Figure (no pyplot): no global backend switch when imported from a notebook.
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for name, norms in by_cell.items():
        ax.semilogy(np.arange(len(norms)), norms, label=name, linewidth=2)
    ax.set_xlabel("distance T − t (steps back from the loss)")
    ax.set_ylabel("mean ‖∂ loss_T / ∂ h_t‖ (log scale)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_list("cells", ["elman", "lstm", "gru"], "cells to compare")
    flags.DEFINE_integer("hidden", 64, "hidden size")
    flags.DEFINE_integer("embed", 32, "embedding size")
    flags.DEFINE_integer("length", 60, "window length T")
    flags.DEFINE_integer("batch", 16, "windows averaged over")
    flags.DEFINE_integer("seed", 0, "random seed (data windows, embedding, cells)")
    flags.DEFINE_string("out", "gradients_through_time.png", "PNG path (JSON written beside it)")


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    by_cell = measure(f.cells, f.hidden, f.embed, f.length, f.batch, f.seed)
    out = pathlib.Path(f.out)
    plot(by_cell, out, f"Vanishing gradients at initialisation (H={f.hidden}, synthetic corpus)")
    out.with_suffix(".json").write_text(json.dumps({k: v.tolist() for k, v in by_cell.items()}))
    shown = [d for d in (1, 5, 10, 20, 40) if d < f.length]
    print("mean gradient norm by distance: " + "  ".join(f"{d:>9d}" for d in shown))
    for name, norms in by_cell.items():
        print(f"{name:>31}: " + "  ".join(f"{norms[d]:9.2e}" for d in shown))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    cli.run(define_flags, main)
