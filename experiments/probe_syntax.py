r"""Syntax probes by layer: UPOS, dependency relation and tree depth read linearly from
each layer of trained RNNs, against random weights and Hewitt & Liang's control task.

    python -m experiments.probe_syntax --out=/tmp/probe_syntax.png \
        --workdirs=/tmp/parser_full,/tmp/pos_ud_ewt_probe,/tmp/ptb_lm_sent \
        --labels=parser,tagger,ptb_lm

Measured 2026-12-02 on the 2-core CPU shared with other jobs (load average 7-11): 609 s
wall (parser 298 s, tagger 239 s, PTB LM 65 s: states of the run and of its random twin,
then 2 x 3 probes per layer). Probes trained on 10,002 EWT train words (585 sentences,
seed 0), scored on all 25,147 dev words, L2 10. Runs: parser = parser_ud_ewt (dev UAS
86.0); tagger = pos_ud_ewt with --config.num_epochs=2 (dev UPOS 93.3%, 824 s); ptb_lm =
lm_minibatch with --config.num_epochs=2 (one LSTM layer of 128, valid perplexity 197.6).
Dev accuracy of the trained model / of its random-weight twin / selectivity (trained):

                    UPOS                 relation                depth
    parser emb   0.869 0.755 +0.188 | 0.599 0.541 -0.087 | 0.382 0.360 -0.304
    parser 1     0.919 0.644 +0.335 | 0.817 0.536 +0.238 | 0.561 0.420 -0.041
    parser 2     0.913 0.438 +0.426 | 0.863 0.382 +0.383 | 0.617 0.399 +0.088
    tagger emb   0.876 0.755 +0.218 | 0.586 0.541 -0.085 | 0.378 0.360 -0.290
    tagger 1     0.928 0.644 +0.354 | 0.771 0.535 +0.209 | 0.475 0.414 -0.124
    tagger 2     0.929 0.435 +0.428 | 0.780 0.379 +0.297 | 0.476 0.398 -0.068
    ptb_lm emb   0.717 0.576 +0.204 | 0.538 0.473 -0.010 | 0.358 0.349 -0.192
    ptb_lm 1     0.763 0.514 +0.288 | 0.623 0.458 +0.126 | 0.427 0.377 -0.083
    imdb_lm emb  0.826 0.625 +0.176 | 0.584 0.502 -0.063 | 0.373 0.357 -0.281
    imdb_lm 1    0.838 0.508 +0.310 | 0.672 0.445 +0.133 | 0.430 0.389 -0.132
    majority     0.167               | 0.122               | 0.280

imdb_lm (run alone later, 72 s) is transfer_sst_imdb's LM: Treebank words of IMDB
reviews, one LSTM layer of 128, dev perplexity 149.9. OOV on dev: parser and tagger
6.8%, PTB LM 23.0% (punctuation, which PTB has none of, is <unk>), IMDB LM 5.9%. Trained
layers beat their random twins everywhere, and more so higher up: a random LSTM loses
the word layer by layer (UPOS 0.755 -> 0.438), training keeps and adds context
(selectivity of UPOS doubles from the embeddings to layer 2). The parser's top layer
reads relation (0.863) and depth (0.617) best, what it was trained for; the tagger's
second layer adds little to its first. The PTB LM sees only the left context. Depth
selectivity is negative but for the parser's top layer: a label per word type is easier
to memorise than depth, which is not a property of the word, so for depth compare with
the random twin rather than the control. The parser's and tagger's twins coincide: same
architecture and sizes, and Flax draws initial weights by parameter name and seed.

Each workdir is a finished run (LM, tagger, parser or classifier) or a directory of runs.
Probes (`rnnlab.analysis.probes`, multinomial logistic regression on the standardised
states, L2 `--l2`) are trained on `--train_words` words of EWT train (whole sentences in
a seeded random order) and scored on all of EWT dev, for every layer (0 = the word
representations the recurrent stack reads) of the run and of its twin with random
weights; task accuracy − control-task accuracy is the selectivity. Writes a PNG (accuracy
and selectivity by layer, one colour per model; solid trained, dashed random weights;
grey: the majority label) and the numbers as JSON beside it.
"""

import json
import pathlib
import time

import numpy as np
from absl import flags
from matplotlib.figure import Figure

from experiments import cli
from experiments.long_distance import find_runs, labels_for
from rnnlab import runs
from rnnlab.analysis import probes
from rnnlab.data import formats

SPLIT_FILES = {"train": "en_ewt-ud-train.conllu", "dev": "en_ewt-ud-dev.conllu"}
TITLES = {"upos": "UPOS tag", "deprel": "dependency relation", "depth": "depth in the tree"}


def read_ewt(ewt_dir: str) -> dict[str, list[dict]]:
    """{split: sentences with tokens, tags (UPOS), heads, deprels}."""
    directory = pathlib.Path(ewt_dir)
    missing = [f for f in SPLIT_FILES.values() if not (directory / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory}: no {missing} (UD English-EWT CoNLL-U files)")
    return {
        split: list(formats.read_conllu(directory / f, syntax=True))
        for split, f in SPLIT_FILES.items()
    }


def probe_runs(workdirs, labels, data, *, train_words: int, l2: float, max_steps: int,
               seed: int) -> dict:  # fmt: skip
    """{"meta": ..., "majority": {kind: accuracy}, "models": {label: probes.probe_run}}."""
    if len(labels) != len(workdirs):
        raise ValueError(f"{len(labels)} labels for {len(workdirs)} runs: {workdirs}")
    train = probes.sample_sentences(data["train"], train_words, seed)
    models = {}
    for label, workdir in zip(labels, workdirs, strict=True):
        start = time.perf_counter()
        models[label] = probes.probe_run(runs.load(workdir), train, data["dev"], l2=l2,
                                         max_steps=max_steps, seed=seed)  # fmt: skip
        models[label]["workdir"] = workdir
        models[label]["seconds"] = round(time.perf_counter() - start, 1)
    meta = {
        "train_sentences": len(train),
        "train_words": sum(len(s["tokens"]) for s in train),
        "dev_words": sum(len(s["tokens"]) for s in data["dev"]),
        "l2": l2,
        "max_steps": max_steps,
        "seed": seed,
    }
    return {"meta": meta, "majority": probes.majority_accuracy(train, data["dev"]),
            "models": models}  # fmt: skip


def plot(results: dict, path: pathlib.Path) -> None:
    """Top: dev accuracy by layer per label kind; bottom: selectivity (task − control)."""
    kinds = probes.LABEL_KINDS
    fig = Figure(figsize=(4.6 * len(kinds), 7.6), layout="constrained")
    axes = fig.subplots(2, len(kinds), squeeze=False)
    for col, kind in enumerate(kinds):
        top, bottom = axes[0, col], axes[1, col]
        for k, (label, r) in enumerate(results["models"].items()):
            x = np.arange(len(r["layer_sizes"]))
            oov = f", OOV {100 * r['oov_rate']['dev']:.0f}%" if r["oov_rate"]["dev"] else ""
            for name, style in (("trained", "o-"), ("random", "s--")):
                shown = f"{label}{oov}" if name == "trained" else f"{label} random weights"
                top.plot(x, r[name][kind]["accuracy"], style, color=f"C{k}", label=shown)
                bottom.plot(x, r[name][kind]["selectivity"], style, color=f"C{k}", label=shown)
        top.axhline(results["majority"][kind], color="gray", ls=":", label="majority label")
        bottom.axhline(0.0, color="gray", lw=0.8)
        layers = max(len(r["layer_sizes"]) for r in results["models"].values())
        for ax in (top, bottom):
            ax.set_xticks(range(layers), ["emb", *range(1, layers)])
            ax.set_xlabel("layer (emb = the input the RNN reads)")
            ax.grid(True, alpha=0.3)
        top.set_ylim(0, 1)
        top.set_title(f"{TITLES[kind]}: dev accuracy")
        bottom.set_title(f"{TITLES[kind]}: selectivity (task − control)")
    axes[0, 0].set_ylabel("probe accuracy")
    axes[1, 0].set_ylabel("accuracy − control accuracy")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 5), fontsize=8)
    m = results["meta"]
    fig.suptitle(f"Linear probes by layer on EWT dev ({m['dev_words']} words; trained on "
                 f"{m['train_words']} EWT train words, L2 {m['l2']:g})", fontsize=10)  # fmt: skip
    fig.savefig(path, dpi=110)


def report(results: dict) -> str:
    """The table: model × layer × kind, trained / random weights / selectivity."""
    kinds = probes.LABEL_KINDS
    head = "".join(f" | {k + ' acc rand sel':>23}" for k in kinds)
    lines = [f"{'model':>12} {'layer':>5}{head}"]
    for label, r in results["models"].items():
        for layer in range(len(r["layer_sizes"])):
            cells = "".join(
                f" | {r['trained'][k]['accuracy'][layer]:7.3f}"
                f" {r['random'][k]['accuracy'][layer]:7.3f}"
                f" {r['trained'][k]['selectivity'][layer]:+7.3f}"
                for k in kinds
            )
            lines.append(f"{label:>12} {layer or 'emb':>5}{cells}")
        lines.append(f"{'':>12} OOV on dev {100 * r['oov_rate']['dev']:.1f}%, {r['seconds']} s")
    lines.append(f"{'majority':>18}" + "".join(f" | {results['majority'][k]:7.3f}{'':16}"
                                            for k in kinds))  # fmt: skip
    return "\n".join(lines)


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_list("workdirs", None, "training workdirs (or directories of them)")
    flags.DEFINE_list("labels", None, "a label per run found (default: directory names)")
    flags.DEFINE_string(
        "ewt_dir", "/work/shared/data/ud_english_ewt", "UD English-EWT CoNLL-U files"
    )
    flags.DEFINE_integer("train_words", 10000, "EWT train words for the probes (0: all)")
    flags.DEFINE_float("l2", 10.0, "L2 penalty of the probes (on standardised states)")
    flags.DEFINE_integer("max_steps", 500, "L-BFGS steps per probe at most")
    flags.DEFINE_integer("seed", 0, "seed of the train sample, random weights, control labels")
    flags.DEFINE_string("out", "probe_syntax.png", "PNG path (JSON written beside it)")
    flags.mark_flag_as_required("workdirs")


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    data, workdirs = read_ewt(f.ewt_dir), find_runs(f.workdirs)
    results = probe_runs(workdirs, f.labels or labels_for(workdirs), data,
                         train_words=f.train_words, l2=f.l2, max_steps=f.max_steps,
                         seed=f.seed)  # fmt: skip
    out = pathlib.Path(f.out)
    plot(results, out)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    print(report(results))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    cli.run(define_flags, main, also=(ValueError,))  # labels, a run with no word states
