r"""Long-distance dependencies: minimal-pair accuracy of trained LMs by distance and construction.

    python -m experiments.long_distance --workdirs=/tmp/ld_agreement --pairs=synthetic \
        --per_distance=200 --out=/tmp/long_distance_synthetic.png     # ~10 s CPU

after `python -m experiments.train --config=experiments/configs/agreement.py
--workdir=/tmp/ld_agreement --config.model.cell=elman,lstm,gru` (1000 steps each, 125 s
CPU). Result, 200 pairs per point, distance 0 / 4 / 8 / 16 / 24:
    agreement  LSTM  1.00 1.00 1.00 0.995 0.99   GRU 1.00 1.00 1.00 0.99 0.995
               Elman 0.865 0.505 0.415 0.43 0.385 (below chance: it follows the attractors)
    reflexive  all three 0.50-0.58 at every distance, even 0: within this budget none of
               them has learned which nouns are male or female ("the man likes himself").

    python -m experiments.long_distance --pairs=english --out=/tmp/long_distance_english.png \
        --workdirs=/tmp/runs/lm_minibatch,/tmp/ld_ptb_elman,/tmp/runs/ptb_small \
        --labels=lstm_minibatch,elman_minibatch,ptb_small_lstm2x200          # ~9 s CPU

PTB LMs after one epoch, each `python -m experiments.train --config=<config> --workdir=<dir>`
(lm_minibatch: LSTM 128, valid perplexity 261.9; lm_minibatch with
`--config.model.cell=elman`: 227.0; ptb_small with `--config.num_epochs=1`: 2x200 LSTM
stream, 203.9), are near chance on the English set (0.52 / 0.45 / 0.49 overall, no OOV):
simple agreement 0.55 / 0.60 / 0.70, across a prepositional phrase 0.50 / 0.30 / 0.25
and a subject relative clause 0.40 / 0.30 / 0.35 (the attractor wins), reflexive gender
exactly 0.50 (every model prefers "himself" after "he" and "she" alike: the set is
balanced, so a frequency preference scores chance), NPI "ever" after "no" 0.80 / 0.40 /
0.80 (10 pairs).

Each workdir is a finished training run of a word LM, or a directory of such runs (a
multi-cell run such as `--config.model.cell=elman,lstm,gru` writes <workdir>/<cell>/):
every LM in it is scored. `--pairs` picks the pair sets: `synthetic` (the embedded
corpus's agreement and reflexive pairs, every attractor of the opposite number/gender,
`--per_distance` pairs per distance) and `english` (the hand-written set of
`rnnlab.data.minimal_pairs`, for LMs trained on PTB). A pair is passed when the LM gives
the grammatical twin the higher log-probability (`rnnlab.agreement`). Writes one PNG row
per pair set: accuracy against distance (one line per model, chance at 0.5, pair counts
under the ticks) and accuracy by construction; and the numbers as JSON beside the PNG.
"""

import json
import os
import pathlib

import numpy as np
from absl import flags
from matplotlib.figure import Figure

from experiments import cli
from rnnlab import agreement, runs
from rnnlab.data import minimal_pairs

# What "distance" counts in each pair set (the synthetic corpus's own definition).
PAIR_SETS = {
    "synthetic": "words between the head noun and the verb",
    "english": "words between the cue and the target",
}


def find_runs(workdirs: list[str]) -> list[str]:
    """Each workdir if it holds a run, else the runs directly inside it (sorted)."""
    found = []
    for w in workdirs:
        here = runs.find(w)
        if not here:
            raise FileNotFoundError(f"{w}: no checkpoint here or in its subdirectories")
        found += here
    return found


def labels_for(workdirs: list[str]) -> list[str]:
    """Directory names, or parent/name where two runs share a name."""
    names = [os.path.basename(os.path.normpath(r)) for r in workdirs]
    if len(set(names)) == len(names):
        return names
    return [os.path.join(*pathlib.Path(os.path.normpath(r)).parts[-2:]) for r in workdirs]


def make_pairs(name: str, distances, per_distance: int, kinds, seed: int):
    if name == "english":
        return minimal_pairs.english()
    if name == "synthetic":
        return minimal_pairs.synthetic(
            seed=seed, per_distance=per_distance, distances=tuple(distances), kinds=tuple(kinds)
        )
    raise ValueError(f"unknown pair set {name!r}; expected some of {list(PAIR_SETS)}")


def distance_bins(counts: dict[int, int], min_count: int) -> list[list[int]]:
    """Neighbouring distances merged left to right until each bin has >= min_count pairs
    (a short last bin joins the one before), so sparse hand-written sets plot readably."""
    bins, current, n = [], [], 0
    for d in sorted(counts):
        current.append(d)
        n += counts[d]
        if n >= min_count:
            bins.append(current)
            current, n = [], 0
    if current:
        bins[-1:] = [(bins[-1] if bins else []) + current]
    return bins


def binned(by_distance: dict, bins: list[list[int]]) -> tuple[np.ndarray, list[int]]:
    """Accuracy (nan where empty) and pair count per bin."""
    acc, counts = [], []
    for b in bins:
        cells = [by_distance[str(d)] for d in b if str(d) in by_distance]
        n = sum(c["count"] for c in cells)
        acc.append(sum(c["accuracy"] * c["count"] for c in cells) / n if n else np.nan)
        counts.append(n)
    return np.array(acc), counts


LINE_STYLES = ("-", "--", ":")
MARKERS = "os^Dv"  # one per model: lines that coincide stay visible


def distance_panel(ax, set_name: str, by_model: dict, min_bin: int) -> None:
    """Accuracy against (binned) distance, a line per model; with at most three
    constructions (the synthetic set) a line per model and construction."""
    first = next(iter(by_model.values()))
    counts = {int(d): c["count"] for d, c in first["by_distance"].items()}
    bins = distance_bins(counts, min_bin)
    split = len(first["by_construction"]) <= len(LINE_STYLES)
    n_bins = [[] for _ in bins]
    for k, (label, r) in enumerate(by_model.items()):
        series = r["by_construction_distance"] if split else {"": r["by_distance"]}
        for style, (construction, by_distance) in zip(LINE_STYLES, series.items(), strict=False):
            acc, n = binned(by_distance, bins)
            overall = r["by_construction"][construction] if construction else r
            text = f"{' '.join(filter(None, (label, construction)))} ({overall['accuracy']:.2f}"
            text += f", OOV {100 * r['oov_rate']:.0f}%)" if r["oov_rate"] > 0 else ")"
            marker = MARKERS[k % len(MARKERS)]
            ax.plot(np.arange(len(bins)), acc, marker + style, color=f"C{k}", lw=2, label=text)
            if k == 0:
                for i, c in enumerate(n):
                    n_bins[i].append(str(c))
    ticks = [
        (f"{b[0]}" if len(b) == 1 else f"{b[0]}–{b[-1]}") + "\nn=" + "/".join(dict.fromkeys(n))
        for b, n in zip(bins, n_bins, strict=True)
    ]
    ax.set_xticks(np.arange(len(bins)), ticks, fontsize=8)
    ax.set_xlabel(f"distance: {PAIR_SETS[set_name]} (pairs per point and line below)")
    ax.set_title(f"{set_name} pairs: accuracy by distance")


def construction_panel(ax, set_name: str, by_model: dict) -> None:
    """Grouped bars: accuracy per construction, a bar per model."""
    first = next(iter(by_model.values()))
    constructions = list(first["by_construction"])
    x = np.arange(len(constructions))
    width = 0.8 / len(by_model)
    for k, r in enumerate(by_model.values()):
        acc = [r["by_construction"][c]["accuracy"] for c in constructions]
        bars = ax.bar(x + (k - (len(by_model) - 1) / 2) * width, acc, width, color=f"C{k}")
        ax.bar_label(bars, fmt="%.2f", fontsize=6, rotation=90, padding=2)
    ticks = [f"{c}\nn={first['by_construction'][c]['count']}" for c in constructions]
    ax.set_xticks(x, ticks, fontsize=8, rotation=30, ha="right")
    ax.set_title(f"{set_name} pairs: accuracy by construction (colours as on the left)")


def plot(results: dict, path: pathlib.Path, min_bin: int) -> None:
    """One row per pair set: accuracy vs distance (lines) and by construction (bars)."""
    fig = Figure(figsize=(13, 4.8 * len(results)))  # bare Figure: no pyplot backend switch
    axes = fig.subplots(len(results), 2, squeeze=False, gridspec_kw={"width_ratios": [1, 1.3]})
    for (set_name, by_model), (ax_d, ax_c) in zip(results.items(), axes, strict=True):
        distance_panel(ax_d, set_name, by_model, min_bin)
        construction_panel(ax_c, set_name, by_model)
        for ax in (ax_d, ax_c):
            ax.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="chance")
            ax.set_ylim(0, 1.1)
            ax.set_ylabel("minimal-pair accuracy")
            ax.grid(True, axis="y", alpha=0.3)
        ax_d.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def evaluate_runs(workdirs, labels, pair_sets, distances, per_distance, kinds, seed) -> dict:
    """{pair set: {label: agreement.evaluate result}}."""
    pairs = {name: make_pairs(name, distances, per_distance, kinds, seed) for name in pair_sets}
    lms = [agreement.load_lm(r) for r in workdirs]
    return {
        name: {label: agreement.evaluate(lm, ps) for label, lm in zip(labels, lms, strict=True)}
        for name, ps in pairs.items()
    }


def report(results: dict) -> str:
    """Tables for the terminal: accuracy by construction (with OOV) and by distance."""
    lines = []
    for set_name, by_model in results.items():
        first = next(iter(by_model.values()))
        w = max(len(label) for label in by_model)
        cols = list(first["by_construction"])
        lines.append(f"{set_name} pairs ({first['count']}): accuracy by construction")
        lines.append(f"{'':>{w}} {'all':>6} " + " ".join(f"{c[:12]:>12}" for c in cols) + "  OOV")
        for label, r in by_model.items():
            accs = " ".join(f"{r['by_construction'][c]['accuracy']:12.3f}" for c in cols)
            lines.append(f"{label:>{w}} {r['accuracy']:6.3f} {accs}  {100 * r['oov_rate']:.1f}%")
        dists = list(first["by_distance"])
        lines.append(f"{set_name} pairs: accuracy by distance")
        lines.append(f"{'':>{w}} " + " ".join(f"{d:>5}" for d in dists))
        for label, r in by_model.items():
            accs = " ".join(f"{r['by_distance'][d]['accuracy']:5.2f}" for d in dists)
            lines.append(f"{label:>{w}} {accs}")
        lines.append(
            f"{'pairs':>{w}} " + " ".join(f"{first['by_distance'][d]['count']:5d}" for d in dists)
        )
    return "\n".join(lines)


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_list("workdirs", None, "training workdirs (or directories of them)")
    flags.DEFINE_list("labels", None, "a legend label per LM found (default: directory names)")
    flags.DEFINE_list("pairs", ["synthetic", "english"], "pair sets: synthetic, english")
    flags.DEFINE_list(
        "distances", [str(d) for d in (0, 2, 4, 6, 8, 12, 16, 20, 24)], "synthetic distances"
    )
    flags.DEFINE_integer("per_distance", 100, "synthetic pairs per distance and kind")
    flags.DEFINE_list("kinds", ["agreement", "reflexive"], "synthetic pair kinds")
    flags.DEFINE_integer("seed", 0, "seed of the synthetic pairs")
    flags.DEFINE_integer(
        "min_bin", 12, "plot: merge neighbouring distances until a bin has this many"
    )
    flags.DEFINE_string("out", "long_distance.png", "PNG path (JSON written beside it)")
    flags.mark_flag_as_required("workdirs")


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    workdirs = find_runs(f.workdirs)
    labels = f.labels or labels_for(workdirs)
    if len(labels) != len(workdirs):
        raise ValueError(f"{len(labels)} labels for {len(workdirs)} runs: {workdirs}")
    distances = [int(d) for d in f.distances]
    results = evaluate_runs(workdirs, labels, f.pairs, distances, f.per_distance, f.kinds, f.seed)
    out = pathlib.Path(f.out)
    plot(results, out, f.min_bin)
    meta = {"runs": dict(zip(labels, workdirs, strict=True)), "per_distance": f.per_distance}
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, **results}, indent=1))
    print(report(results))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    cli.run(define_flags, main, also=(ValueError,))  # bad pair sets, labels, a non-LM run
