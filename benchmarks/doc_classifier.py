"""What the lecture's answers to long documents cost: one classifier training step on
IMDB-length documents, full BPTT vs truncated BPTT vs pooling vs remat.

    python -m benchmarks.doc_classifier                  # T = 256, 1024, 3072; B = 32
    python -m benchmarks.doc_classifier --T 512 --steps 5

`models.Classifier` (embeddings 128 -> LSTM 128 -> 2 classes, as
experiments/configs/imdb_lstm.py) + Adam, jitted with donated state (`lm_steps`), all
variants in one process on the same documents, interleaved round-robin, median step time
and XLA's temporary memory. Rows are padded to T with real lengths uniform in [T/2, T].
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from benchmarks import lm_steps
from benchmarks.lstm_lm import write_report

VARIANTS = {  # name -> Classifier fields
    "full, final": {},
    "truncate 50, final": {"truncate": 50},
    "full, mean": {"pooling": "mean"},
    "full, max": {"pooling": "max"},
    "full remat 64, final": {"levers": {"remat_chunk": 64}},
}


def runner(name: str, fields: dict, docs_BxT1: np.ndarray, vocab_size: int) -> lm_steps.Runner:
    """docs_BxT1: token ids, 0 = padding, and the label in the last column."""
    import jax
    import jax.numpy as jnp
    import optax

    from rnnlab import models

    spec = {"model": "Classifier", "vocab_size": vocab_size, "num_classes": 2,
            "embed_dim": 128, "hidden_size": 128, "bidirectional": False, **fields}  # fmt: skip
    model = models.build(spec)
    tokens_BxT = jnp.asarray(docs_BxT1[:, :-1])
    params = model.init(jax.random.key(0), tokens_BxT, tokens_BxT > 0)["params"]

    def loss_fn(params, docs_BxT1):
        tokens_BxT, labels_B = docs_BxT1[:, :-1], docs_BxT1[:, -1]
        logits_BxC, _ = model.apply({"params": params}, tokens_BxT, tokens_BxT > 0)
        return optax.softmax_cross_entropy_with_integer_labels(logits_BxC, labels_B).mean()

    return lm_steps._jax_runner(name, loss_fn, params, docs_BxT1, "fp32", "default")


def documents(B: int, T: int, vocab_size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ids_BxT = rng.integers(1, vocab_size, (B, T), np.int32)
    lengths_B = rng.integers(T // 2, T + 1, B)
    ids_BxT[np.arange(T)[None, :] >= lengths_B[:, None]] = 0
    return np.concatenate([ids_BxT, rng.integers(0, 2, (B, 1), np.int32)], axis=1)


def bench(B: int, T: int, steps: int, vocab_size: int) -> list[dict]:
    docs = documents(B, T, vocab_size)
    runners, rows = [], {}
    for name, fields in VARIANTS.items():
        r = runner(name, fields, docs, vocab_size)
        rows[name] = {"variant": name, "B": B, "T": T, "compile_s": r.compile(), "times_s": []}
        rows[name]["temp_MiB"] = r.memory_analysis().temp_size_in_bytes / 2**20
        r.step()  # warm-up
        runners.append(r)
    load = os.getloadavg()[0]
    for i in range(steps):
        for r in runners[i % len(runners) :] + runners[: i % len(runners)]:
            start = time.perf_counter()
            r.step()
            rows[r.name]["times_s"].append(time.perf_counter() - start)
    base = statistics.median(rows["full, final"]["times_s"])
    for row in rows.values():
        row["median_s"] = statistics.median(row["times_s"])
        row["x_full"] = row["median_s"] / base
        row["load_1min"] = [load, os.getloadavg()[0]]
    return list(rows.values())


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--T", default="256,1024,3072", help="document lengths (padded)")
    p.add_argument("--B", type=int, default=32)
    p.add_argument("--steps", type=int, default=7)
    p.add_argument("--vocab", type=int, default=16000)
    args = p.parse_args(argv)
    print(
        "| T | variant | median step s | x full | temp MiB | compile s |\n|---|---|---|---|---|---|"
    )
    rows = []
    for T in (int(t) for t in args.T.split(",")):
        for row in bench(args.B, T, args.steps, args.vocab):
            rows.append(row)
            print(f"| {T} | {row['variant']} | {row['median_s']:.3f} | {row['x_full']:.2f} "
                  f"| {row['temp_MiB']:,.0f} | {row['compile_s']:.1f} |", flush=True)  # fmt: skip
    write_report("doc_classifier", rows)
    return rows


if __name__ == "__main__":
    main()
