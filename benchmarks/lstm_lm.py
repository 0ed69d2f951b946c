"""LSTM-LM training-step speed: rnnlab (each lever) vs flax.linen.RNN vs torch.nn.LSTM.

    python -m benchmarks.lstm_lm --quick            # CPU, 2 cores, < 3 minutes
    python -m benchmarks.lstm_lm                    # CPU, every shape, 20 steps
    python -m benchmarks.lstm_lm --gpu              # GPU: every shape, fp32 and bf16, < 5 min

One full training step (embedding, L-layer LSTM, softmax cross-entropy, backward, Adam)
per implementation, on the same shapes and data in one process. Steps are interleaved
(round-robin, rotating the order) so that load from other jobs hits every implementation
alike; warm-up is excluded and compile time reported separately; the median step time
gives tokens/s. Prints one table per (precision, shape) and writes JSON under
benchmarks/results/.

Implementations (`--impls`, comma-separated): `torch`, `flax`, `rnnlab` (the default
path), and rnnlab with levers as dash-separated suffixes: `rnnlab-unroll4`,
`rnnlab-remat64` (jax.checkpoint over 64-step chunks), `rnnlab-vmap` (the reference
formulation), `rnnlab-generic` (plain autodiff of the scan: U's gradient as a rank-B
update per step), `rnnlab-cudnn` (jax.experimental.rnn, GPU only, fp32 only).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import pathlib
import platform
import statistics
import time

from benchmarks import lm_steps
from benchmarks.lm_steps import Shape

SHAPES = {
    "zaremba": Shape(10000, 650, 650, 2, 20, 35),  # "Zaremba medium"
    "small": Shape(10000, 256, 256, 1, 32, 35),
    "sentiment": Shape(16000, 64, 128, 1, 32, 50),  # course sentiment size
    "char": Shape(65, 512, 512, 2, 64, 100),  # char-level, recurrence-bound
    "large": Shape(10000, 1024, 1024, 2, 128, 64),  # large batch
    "long": Shape(256, 256, 512, 1, 64, 1024),  # long sequence
}
# --quick keeps V, E, H and L (the per-step matmul shapes) and cuts B·T so that all six
# shapes fit in under 3 minutes on 2 CPU cores.
QUICK_BT = {
    "zaremba": (20, 35),
    "small": (32, 35),
    "sentiment": (32, 50),
    "char": (64, 20),
    "large": (32, 8),
    "long": (16, 128),
}
CPU_IMPLS = "rnnlab,flax,torch"
GPU_IMPLS = "rnnlab,rnnlab-cudnn,flax,torch"  # rnnlab: unroll 4 on GPU (recurrent.default_unroll)
UNROLLS = (1, 2, 4, 8, 16)
RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def write_report(name: str, report, out: str | None = None) -> pathlib.Path:
    """`report` as JSON in `out`, else RESULTS_DIR/<name>-<date-time>.json; says where."""
    path = (
        pathlib.Path(out) if out else RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    print(f"wrote {path}")
    return path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--shapes", default=",".join(SHAPES), help="names from: " + ", ".join(SHAPES))
    p.add_argument(
        "--shape",
        action="append",
        default=[],
        metavar="V,E,H,L,B,T",
        help="an extra custom shape (repeatable)",
    )
    p.add_argument("--impls", default=None, help=f"default: {CPU_IMPLS} (GPU: {GPU_IMPLS})")
    p.add_argument("--unroll-sweep", action="store_true", help="add rnnlab-unroll1,2,4,8,16")
    p.add_argument("--precision", default=None, help="fp32, bf16 or fp32,bf16 (default fp32)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 20, quick 8)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps after compile")
    p.add_argument("--quick", action="store_true", help="CPU smoke run, < 3 min on 2 cores")
    p.add_argument("--gpu", action="store_true", help="GPU mode: fp32+bf16, GPU impls")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/...)")
    args = p.parse_args(argv)
    args.impls = args.impls or (GPU_IMPLS if args.gpu else CPU_IMPLS)
    args.precision = args.precision or ("fp32,bf16" if args.gpu else "fp32")
    args.steps = args.steps or (8 if args.quick else 20)
    return args


def selected_shapes(args) -> dict[str, Shape]:
    shapes = {}
    for name in filter(None, args.shapes.split(",")):
        if name not in SHAPES:
            raise SystemExit(f"--shapes: unknown shape {name!r}; expected one of {list(SHAPES)}")
        shape = SHAPES[name]
        shapes[name] = (
            shape._replace(B=QUICK_BT[name][0], T=QUICK_BT[name][1]) if args.quick else shape
        )
    for spec in args.shape:
        try:
            shape = Shape(*(int(v) for v in spec.split(",")))
        except (TypeError, ValueError):
            raise SystemExit(f"--shape {spec!r}: expected six integers V,E,H,L,B,T") from None
        shapes["custom" + spec.replace(",", "x")] = shape
    return shapes


def selected_impls(args) -> list[str]:
    impls = [name for name in args.impls.split(",") if name]
    if args.unroll_sweep:
        impls += [f"rnnlab-unroll{k}" for k in UNROLLS if f"rnnlab-unroll{k}" not in impls]
    if "torch" in impls and importlib.util.find_spec("torch") is None:
        print("torch is not installed (pip install -r requirements-bench.txt): skipping it")
        impls.remove("torch")
    return impls


def build(name: str, shape: Shape, tokens_np, precision: str) -> lm_steps.Runner:
    """A runner from an implementation name such as 'rnnlab-unroll4-remat64'."""
    if name == "torch":
        return lm_steps.torch_lstm(shape, tokens_np, precision)
    if name == "flax":
        return lm_steps.flax_rnn(shape, tokens_np, precision)
    base, *levers = name.split("-")
    if base != "rnnlab":
        raise ValueError(f"unknown implementation {name!r}")
    run_kwargs = {}
    for lever in levers:
        if lever.startswith("unroll"):
            run_kwargs["unroll"] = int(lever[len("unroll") :])
        elif lever.startswith("remat"):
            run_kwargs["remat_chunk"] = int(lever[len("remat") :])
        elif lever in ("vmap", "hoisted"):
            run_kwargs["impl"] = lever
        elif lever == "cudnn":
            run_kwargs["impl"] = "cudnn_lstm"
        elif lever == "generic":
            run_kwargs["generic"] = True
        else:
            raise ValueError(f"{name}: unknown lever {lever!r}")
    return lm_steps.rnnlab(shape, tokens_np, precision, name, **run_kwargs)


def matmul_peak_gflops(precision: str, n: int = 2048, reps: int = 5) -> float:
    """Measured GFLOP/s of one large square matmul (the machine's practical peak)."""
    import jax
    import jax.numpy as jnp

    dtype = jnp.bfloat16 if precision == "bf16" else jnp.float32
    a = jax.random.normal(jax.random.key(0), (n, n), dtype)
    with jax.default_matmul_precision("highest" if precision == "fp32" else "default"):
        f = jax.jit(jnp.dot).lower(a, a).compile()
    f(a, a).block_until_ready()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f(a, a).block_until_ready()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def bench_shape(shape: Shape, impls: list[str], precision: str, args, peak: float) -> list[dict]:
    tokens_np = lm_steps.tokens(shape)
    runners, rows = [], {}
    for name in impls:
        row = rows[name] = {"impl": name}
        if name == "rnnlab-cudnn" and precision != "fp32":
            row["error"] = "skipped: jax.experimental.rnn is float32 only"
            continue
        try:
            runner = build(name, shape, tokens_np, precision)
            row["compile_s"] = runner.compile()
            row["matmul_precision"] = runner.matmul_precision
            for _ in range(args.warmup):
                runner.step()
        except Exception as e:  # noqa: BLE001 - one failing implementation must not stop the run
            row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
            continue
        runners.append(runner)
        row["times_s"] = []
    load_before = os.getloadavg()[0]
    for i in range(args.steps):
        for runner in runners[i % len(runners) :] + runners[: i % len(runners)]:
            start = time.perf_counter()
            runner.step()
            rows[runner.name]["times_s"].append(time.perf_counter() - start)
    flops_per_token = shape.train_flops_per_token()
    for row in rows.values():
        if "times_s" not in row:
            continue
        row["median_s"] = statistics.median(row["times_s"])
        row["tokens_per_s"] = shape.B * shape.T / row["median_s"]
        row["gflops"] = row["tokens_per_s"] * flops_per_token / 1e9
        row["pct_peak"] = 100 * row["gflops"] / peak
    for base in ("torch", "flax"):
        if "tokens_per_s" in rows.get(base, {}):
            for row in rows.values():
                if "tokens_per_s" in row:
                    row[f"x_{base}"] = row["tokens_per_s"] / rows[base]["tokens_per_s"]
    for row in rows.values():
        row["load_1min"] = [load_before, os.getloadavg()[0]]
    return list(rows.values())


def format_table(title: str, rows: list[dict]) -> str:
    head = "| impl | tokens/s | × torch | × flax | ms/step | compile s | GFLOP/s | % peak |"
    lines = [title, "", head, "|" + "---|" * 8]

    def fmt(row, key, spec):
        return format(row[key], spec) if key in row else "–"

    for row in rows:
        if "error" in row:
            lines.append(f"| {row['impl']} | {row['error']} |" + " |" * 6)
            continue
        lines.append(
            f"| {row['impl']} | {row['tokens_per_s']:,.0f} | {fmt(row, 'x_torch', '.2f')} "
            f"| {fmt(row, 'x_flax', '.2f')} | {1e3 * row['median_s']:.1f} "
            f"| {row['compile_s']:.1f} | {row['gflops']:.1f} | {row['pct_peak']:.0f} |"
        )
    return "\n".join(lines)


def environment() -> dict:
    import flax
    import jax
    import optax

    env = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
        "cpu_cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
    }
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                env["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if importlib.util.find_spec("torch") is not None:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["torch_device"] = torch.cuda.get_device_name()
            env["cudnn"] = torch.backends.cudnn.version()
    return env


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.gpu:  # JAX and PyTorch share the GPU: do not let XLA take 75% of it up front
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    shapes, impls = selected_shapes(args), selected_impls(args)
    env = environment()
    print(" ".join(f"{k}={v}" for k, v in env.items()))
    started = time.perf_counter()
    report = {"env": env, "args": vars(args), "results": []}
    for precision in args.precision.split(","):
        peak = matmul_peak_gflops(precision, n=1024 if args.quick else 2048)
        print(f"\n## {precision}: measured matmul peak {peak:.0f} GFLOP/s")
        for shape_name, shape in shapes.items():
            rows = bench_shape(shape, impls, precision, args, peak)
            title = (
                f"### {precision} {shape_name} (V, E, H, L, B, T) = {tuple(shape)}, "
                f"{args.steps} steps, load {rows[0]['load_1min'][0]:.1f}"
            )
            print(format_table(title, rows), flush=True)
            report["results"].append(
                {
                    "precision": precision,
                    "peak_gflops": peak,
                    "shape_name": shape_name,
                    "shape": shape._asdict(),
                    "rows": rows,
                }
            )
    report["total_s"] = time.perf_counter() - started
    print(f"\ntotal {report['total_s']:.0f} s")
    mode = "gpu" if args.gpu else "quick" if args.quick else "cpu"
    write_report(f"lstm_lm-{mode}", report, args.out)
    return report


if __name__ == "__main__":
    main()
