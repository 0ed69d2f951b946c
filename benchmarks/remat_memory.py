"""Peak temporary memory of one LSTM-LM training step at T=4096, with and without remat.

    python -m benchmarks.remat_memory            # "long" shape at T=4096, chunks 0,16,64,256

Compiles (does not run) the training step of the long-sequence LM and reads XLA's memory
analysis: `temp` is the scratch on top of parameters, optimizer state and inputs (on CPU
this is the peak the step needs beyond its arguments). `remat_chunk=K` keeps one carry
per K steps instead of every step's gate activations. Works on any backend.
"""

from __future__ import annotations

import argparse

from benchmarks import lm_steps
from benchmarks.lstm_lm import SHAPES, write_report


def measure(shape: lm_steps.Shape, remat_chunk: int | None, precision: str) -> dict:
    runner = lm_steps.rnnlab(
        shape, lm_steps.tokens(shape), precision, "rnnlab", remat_chunk=remat_chunk
    )
    compile_s = runner.compile()
    analysis = runner.memory_analysis()
    return {
        "remat_chunk": remat_chunk,
        "temp_MiB": analysis.temp_size_in_bytes / 2**20,
        "argument_MiB": analysis.argument_size_in_bytes / 2**20,
        "compile_s": compile_s,
    }


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--T", type=int, default=4096)
    p.add_argument("--chunks", default="0,16,64,256", help="remat_chunk values; 0 = no remat")
    p.add_argument("--precision", default="fp32")
    args = p.parse_args(argv)
    shape = SHAPES["long"]._replace(T=args.T)
    print(f"training step of the LM {tuple(shape)} (V, E, H, L, B, T), {args.precision}")
    print("| remat_chunk | temp MiB | arguments MiB | compile s |\n|---|---|---|---|")
    rows = []
    for chunk in (int(c) for c in args.chunks.split(",")):
        row = measure(shape, chunk or None, args.precision)
        rows.append(row)
        print(
            f"| {chunk or 'none'} | {row['temp_MiB']:,.0f} | {row['argument_MiB']:,.0f} "
            f"| {row['compile_s']:.1f} |",
            flush=True,
        )
    write_report("remat_memory", {"shape": shape._asdict(), "rows": rows})
    return rows


if __name__ == "__main__":
    main()
