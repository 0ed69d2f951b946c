r"""Which units of a trained RNN track quotes, line position, word starts ... or sentiment.

    python -m experiments.cell_activations --workdir=/tmp/char_act \
        --text_file=passage.txt --out=/tmp/char_act/activations \
        --labelled=sst:binary --source_dir=../shared/data   # the last line is optional

Reads the model from the run's checkpoint (a character or word LM, or a classifier),
runs it over the text and correlates every unit (h, and c for an LSTM, of every layer)
with per-token features: built-ins for a character model (inside quotes, inside
parentheses, position in line, beginning of word, after newline; Karpathy et al. 2015)
plus any in `--features` (an .npz of one array per feature, one value per token).
Writes to --out: activations.html and activations.png (the text coloured by the best
unit of each feature, and by any `--units`), activations.json (top units per feature).
With `--labelled` (a binary labelled data set spec, e.g. sst:binary, or imdb:chars for
raw review text) it also fits a logistic probe on each unit's final (or mean) state over
the train split and reports the best single units against a probe on all units, on the
dev split (Radford et al. 2017), with probe_unit.png: the best unit's value per dev
document, by label.

Measured: char_shakespeare stopped at 700 steps (2x256 LSTM, dev 1.80 nats/char), on a
1463-character dev passage: position in line 2:c:217 r = -0.90, speaker-name lines (an
--features array) 2:h:8 r = -0.88, beginning of word 2:h:26 r = -0.78, after newline
1:h:179 r = -0.64 (tiny shakespeare has no '"' or '(': those features are constant).
SST-2 probe, dev accuracy of the best single unit (chosen on train) / of all units: this
char LM 0.53 / 0.58 (final state), 0.54 / 0.69 (mean); a BiLSTM SST-2 classifier
(sentiment_lstm on sst:binary, 78.3% dev) 0.78 / 0.78.
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np
from absl import flags

from experiments import cli
from rnnlab import models, runs
from rnnlab.analysis import activations
from rnnlab.data import datasets


def load_features(path: str) -> dict[str, np.ndarray]:
    """{name: [T] array} from an .npz ("" means none)."""
    if not path:
        return {}
    with np.load(path) as data:
        return {name: data[name] for name in data.files}


def _text(example: dict) -> str:
    """The raw text of a document ("imdb:chars"), else the tokens joined by spaces."""
    return example["text"] if "text" in example else " ".join(example["tokens"])


def sentiment_probe(run, spec, *, source_dir, pooling, max_examples, l2):
    """Single-unit and all-unit logistic probes, train split -> dev split; returns the
    probe's report and the dev (vectors, labels)."""
    data = {}
    for split in ("train", "dev"):
        examples = datasets.load_dataset(spec, split, source_dir=source_dir)
        rows = np.arange(len(examples))
        if 0 < max_examples < len(examples):  # a seeded sample: SST files are sorted by label
            rows = np.sort(np.random.default_rng(0).choice(rows, max_examples, replace=False))
        texts = [_text(examples[int(i)]) for i in rows]
        labels = np.array([examples[int(i)]["label"] for i in rows])
        vecs = activations.sentence_vectors(run, texts, pooling=pooling)
        data[split] = (vecs, labels)
    return activations.probe(*data["train"], *data["dev"], l2=l2), data["dev"]


def plot_unit_by_label(path, values_N, labels_N, *, unit: str, title: str) -> None:
    """Histogram of one unit's value per dev document, by label (Radford et al.'s figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    # The central 99% of the values: a few outlying documents would squeeze the rest
    # into a couple of bins; those outside are counted in the end bins (clipped).
    low, high = np.percentile(values_N, [0.5, 99.5])
    high = high if high > low else low + 1.0
    bins = np.linspace(low, high, 41)
    outside = int(np.sum((values_N < low) | (values_N > high)))
    for label, name, color in ((0, "negative", "tab:red"), (1, "positive", "tab:blue")):
        ax.hist(np.clip(values_N[labels_N == label], low, high), bins=bins, alpha=0.6,
                color=color, label=f"{name} ({int(np.sum(labels_N == label))})")  # fmt: skip
    clipped = f" ({outside} outside the central 99%: in the end bins)" if outside else ""
    ax.set_xlabel(f"unit {unit}{clipped}")
    ax.set_ylabel("dev documents")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def analyse(
    workdir,
    text,
    out_dir,
    *,
    units=(),
    features=None,
    top_k=5,
    labelled="",
    source_dir=None,
    pooling="final",
    max_examples=0,
    l2=1.0,
    png_tokens=800,
    columns=80,
    best=True,
) -> dict:
    """Everything the CLI does; returns the JSON report (also written to out_dir)."""
    run = runs.load(workdir, best=best)
    chars = run.task == "chars"
    if not (chars or units or features or labelled):
        raise ValueError(
            f"nothing to show for a {run.task} model: the built-in features are for "
            "characters; give --units, --features or --labelled"
        )
    tokens, steps = activations.text_states(run, text)
    acts_TxU, names = activations.stack_units(steps), activations.unit_names(steps)
    extra = [activations.unit_index(u, names) for u in units]  # fails early on a bad name
    feats = activations.char_features(text) if chars else {}
    feats.update(activations.check_features(features or {}, len(tokens)))
    top = activations.top_units(acts_TxU, feats, names, top_k)
    report = {
        "workdir": str(workdir),
        "model": {
            "kind": run.task,
            **{k: getattr(run.model, k) for k in ("cell", "num_layers", "hidden_size")},
            "bidirectional": isinstance(run.model, models.Classifier) and run.model.bidirectional,
        },
        "tokens": len(tokens),
        "units": len(names),
        "features": {f: [{"unit": u, "r": r} for u, r in best] for f, best in top.items()},
        "constant_features": sorted(set(feats) - set(top)),
    }
    labels = {}  # unit index -> what it is shown for
    for feature, best_units in top.items():
        unit, r = best_units[0]
        labels.setdefault(names.index(unit), []).append(f"{feature} r={r:+.2f}")
    for u in extra:
        labels.setdefault(u, []).append("requested")
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if labelled:
        result, (dev_NxU, dev_labels_N) = sentiment_probe(
            run,
            labelled,
            source_dir=source_dir,
            pooling=pooling,
            max_examples=max_examples,
            l2=l2,
        )
        for row in result["single_units"]:
            row["unit"] = names[row["unit"]]
        report["probe"] = {"dataset": labelled, "pooling": pooling, **result}
        best_unit = result["single_units"][0]
        u = names.index(best_unit["unit"])
        labels.setdefault(u, []).append(f"{labelled} probe dev acc {best_unit['dev_accuracy']:.3f}")
        plot_unit_by_label(out / "probe_unit.png", dev_NxU[:, u], dev_labels_N,
                           unit=best_unit["unit"],
                           title=f"{pooling} value on {labelled} dev: single-unit accuracy "
                                 f"{best_unit['dev_accuracy']:.3f} ({workdir})")  # fmt: skip
    panels = [
        (
            f"unit {names[u]}{' (tanh c)' if names[u].split(':')[1] == 'c' else ''}: "
            + ", ".join(why),
            activations.shown_values(acts_TxU[:, u], names[u]),
        )
        for u, why in labels.items()
    ]
    report["shown"] = [heading for heading, _ in panels]
    m = report["model"]
    cell = ("bi" if m["bidirectional"] else "") + m["cell"]
    title = (
        f"{m['kind']} {cell} {m['num_layers']}x{m['hidden_size']} ({workdir}): {len(tokens)} tokens"
    )
    activations.write_html(out / "activations.html", tokens, panels, title=title, chars=chars)
    shown = min(png_tokens, len(tokens))
    png_panels = [(h, v[:shown]) for h, v in panels]
    png_title = title if shown == len(tokens) else f"{title}, first {shown} drawn"
    activations.write_png(
        out / "activations.png",
        tokens[:shown],
        png_panels,
        title=png_title,
        chars=chars,
        columns=columns,
    )
    (out / "activations.json").write_text(json.dumps(report, indent=1))
    return report


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_string("workdir", None, "a finished training run (its checkpoint)")
    flags.DEFINE_string("text_file", None, "the text to colour and correlate (UTF-8)")
    flags.DEFINE_string("out", None, "output directory (created)")
    flags.DEFINE_integer("top_k", 5, "units listed per feature in the JSON")
    flags.DEFINE_list("units", [], "more units to show, as layer:state:index (e.g. 2:c:17)")
    flags.DEFINE_string("features", "", ".npz of extra per-token features (name -> [T] array)")
    flags.DEFINE_string("labelled", "", "binary labelled data spec for the probe, e.g. sst:binary")
    flags.DEFINE_string("source_dir", "../shared/data", "local data directory for --labelled")
    flags.DEFINE_enum("pooling", "final", ["final", "mean"], "probe feature: final or mean state")
    flags.DEFINE_integer(
        "max_examples", 0, "probe on a random sample of this many per split (0 = all)"
    )
    flags.DEFINE_float("l2", 1.0, "L2 penalty of the logistic probes (standardised units)")
    flags.DEFINE_integer("png_tokens", 800, "tokens of the text drawn in the PNG (HTML: all)")
    flags.DEFINE_integer("columns", 80, "PNG grid width in cells")
    flags.DEFINE_bool("best", True, "the best checkpoint (else the latest)")
    flags.mark_flags_as_required(["workdir", "text_file", "out"])


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    start = time.perf_counter()
    text = pathlib.Path(f.text_file).read_text(encoding="utf-8")
    report = analyse(
        f.workdir,
        text,
        f.out,
        units=f.units,
        features=load_features(f.features),
        top_k=f.top_k,
        labelled=f.labelled,
        source_dir=f.source_dir,
        pooling=f.pooling,
        max_examples=f.max_examples,
        l2=f.l2,
        png_tokens=f.png_tokens,
        columns=f.columns,
        best=f.best,
    )
    print(f"{report['tokens']} tokens, {report['units']} units")
    for feature, rows in report["features"].items():
        print(f"{feature:>20}: " + "  ".join(f"{r['unit']} {r['r']:+.3f}" for r in rows[:3]))
    if report["constant_features"]:
        print(f"constant in this text (no correlation): {', '.join(report['constant_features'])}")
    if "probe" in report:
        p = report["probe"]
        print(
            f"probe on {p['dataset']} ({p['pooling']} state), dev accuracy "
            f"(majority {p['majority_dev_accuracy']:.3f}):"
        )
        for row in p["single_units"][:5]:
            print(
                f"  unit {row['unit']:>10}: {row['dev_accuracy']:.3f} "
                f"(train {row['train_accuracy']:.3f})"
            )
        print(
            f"  all {report['units']} units: {p['all_units']['dev_accuracy']:.3f} "
            f"(train {p['all_units']['train_accuracy']:.3f})"
        )
    print(
        f"wrote activations.html, activations.png, activations.json"
        f"{', probe_unit.png' if 'probe' in report else ''} to {f.out} "
        f"in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    cli.run(define_flags, main, also=(ValueError,))  # analysis: bad units, text, labels
