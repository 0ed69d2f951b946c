r"""Winograd schemas by language-model scoring (Trinh & Le 2018), zero-shot.

    python -m experiments.winograd --workdirs=/tmp/ptb_lm_sent \
        --unigram_text=../shared/data/ptb/train.txt --out=/tmp/winograd.png    # 26 s CPU

after `python -m experiments.train --config=experiments/configs/lm_minibatch.py
--workdir=/tmp/ptb_lm_sent --config.num_epochs=2` (LSTM 128, PTB sentences, valid
perplexity 197.6 after 5260 steps, 1362 s niced on 2 CPU cores at load 7-11). WSC273,
accuracy [Wilson 95%]:
    LSTM 128 (PTB, 2 epochs)  full 0.502 [0.443, 0.561]  partial 0.498 [0.439, 0.557]
    unigram of PTB train      full 0.505 [0.447, 0.564]  partial 0.500 (a tie on every schema)
Chance, as expected of a 1M-word LM: Trinh & Le reach 61.5% (one LM) and 63.7%
(ensemble) with LMs trained on billions of words. 968 word tokens of the 273 x 2 substituted
sentences are outside PTB's 10k vocabulary (in 212 schemas; mostly names: jane, adam,
emma, ...); in 30 schemas both candidates become the same ids (two unknown names), a tie.
On the other 243 the LSTM scores 0.502 / 0.498. The IMDB word LM of transfer_sst_imdb
(LSTM 128, 13.4M words of reviews, dev perplexity 149.9) knows more of the words (135
unknown tokens in 42 schemas, 4 ties) and is no better: full 0.495 [0.436, 0.553],
partial 0.513 [0.454, 0.572].

Each workdir is a finished word-LM run, or a directory of such runs (as for
`experiments.long_distance`). Each schema's candidates replace its pronoun
(`rnnlab.analysis.winograd.substitute`: case, possessive "'s", the text mapped to PTB's
conventions by `rnnlab.agreement.ptb_words`); the LM keeps the candidate whose sentence
is more probable, as a whole ("full") or from the word after the candidate on
("partial"). Accuracy on WSC273 (the collection's first 273 schemas) and on all 285
with Wilson 95% intervals (a tie, both candidates equally probable, counts half);
words outside each LM's vocabulary are counted. `--unigram_text` adds a frequency-only
LM of that text as a baseline row. Writes a PNG (accuracy with intervals, chance, Trinh
& Le's 61.5% single LM and 63.7% ensemble) and JSON beside it with every schema's words,
log-probabilities and predictions. Anchors: chance 50%.
"""

import json
import pathlib

import numpy as np
from absl import flags
from matplotlib.figure import Figure

from experiments import cli, long_distance
from rnnlab import agreement
from rnnlab.analysis import winograd

ANCHORS = {"Trinh & Le 2018, one word LM": 0.615, "Trinh & Le 2018, ensemble": 0.637}
SCORINGS = ("full", "partial")


def evaluate_lms(lms: dict[str, agreement.LM], schemas: list[winograd.Schema]) -> dict:
    """{label: {"wsc273": result, "all": result}} (rnnlab.analysis.winograd.evaluate);
    per-schema items only under "all"."""
    out = {}
    for label, lm in lms.items():
        every = winograd.evaluate(lm, schemas)
        wsc273 = winograd.evaluate(lm, schemas[: winograd.WSC273])
        del wsc273["items"]
        out[label] = {"wsc273": wsc273, "all": every}
    return out


def plot(results: dict, path: pathlib.Path) -> None:
    """WSC273 accuracy per LM, full and partial, with 95% intervals and the anchors."""
    fig = Figure(figsize=(4.5 + 1.4 * len(results), 5.0))
    ax = fig.subplots()
    x = np.arange(len(results))
    for k, scoring in enumerate(SCORINGS):
        r = [by_set["wsc273"][scoring] for by_set in results.values()]
        acc = np.array([s["accuracy"] for s in r])
        ci = np.array([s["ci95_wilson"] for s in r]).T
        bars = ax.bar(x + (k - 0.5) * 0.38, acc, 0.38, color=f"C{k}", label=scoring)
        ax.errorbar(x + (k - 0.5) * 0.38, acc, yerr=[acc - ci[0], ci[1] - acc], fmt="none",
                    ecolor="black", capsize=3)  # fmt: skip
        ax.bar_label(bars, fmt="%.3f", fontsize=7, label_type="center")
    ax.axhline(0.5, color="gray", linestyle="--", linewidth=1, label="chance")
    for (name, value), style in zip(ANCHORS.items(), (":", "-."), strict=True):
        ax.axhline(value, color="C3", linestyle=style, linewidth=1, label=f"{name} ({value})")
    first = next(iter(results.values()))["wsc273"]["full"]["count"]
    ax.set_xticks(x, list(results), fontsize=8)
    ax.set_ylim(0.2, 0.9)
    ax.set_ylabel(f"accuracy on WSC273 (n={first}, Wilson 95%)")
    ax.set_title("Winograd schemas by LM scoring")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results: dict) -> str:
    lines = [f"{'':>24} {'set':>7} {'full':>22} {'partial':>22}  OOV words (schemas)"]
    for label, by_set in results.items():
        for name, r in by_set.items():
            cells = [
                f"{r[s]['accuracy']:.3f} [{lo:.3f}, {hi:.3f}]"
                for s in SCORINGS
                for lo, hi in [r[s]["ci95_wilson"]]
            ]
            lines.append(
                f"{label:>24} {name:>7} {cells[0]:>22} {cells[1]:>22}  "
                f"{r['oov_words']} ({r['schemas_with_oov']} of {r['full']['count']}, "
                f"{r['schemas_unresolved']} unresolved)"
            )
    return "\n".join(lines)


def define_flags() -> None:
    flags.DEFINE_list("workdirs", [], "word-LM training workdirs (or directories of them)")
    flags.DEFINE_list("labels", None, "a label per LM found (default: directory names)")
    flags.DEFINE_string("wsc", "../shared/data/wsc/WSCollection.xml", "the WSCollection.xml file")
    flags.DEFINE_string(
        "unigram_text", "", "also score a unigram LM of this text (one sentence a line)"
    )
    flags.DEFINE_string("out", "winograd.png", "PNG path (JSON written beside it)")


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    schemas = winograd.read_schemas(f.wsc)
    workdirs = long_distance.find_runs(f.workdirs)
    labels = f.labels or long_distance.labels_for(workdirs)
    if len(labels) != len(workdirs):
        raise ValueError(f"{len(labels)} labels for {len(workdirs)} runs: {workdirs}")
    lms = {label: agreement.load_lm(w) for label, w in zip(labels, workdirs, strict=True)}
    if f.unigram_text:
        with open(f.unigram_text, encoding="utf-8") as text:
            lms["unigram"] = agreement.unigram_lm(line.split() for line in text)
    if not lms:
        raise ValueError("no LM to score: give --workdirs or --unigram_text")
    results = evaluate_lms(lms, schemas)
    out = pathlib.Path(f.out)
    plot(results, out)
    meta = {"runs": dict(zip(labels, workdirs, strict=True)), "wsc": f.wsc,
            "unigram_text": f.unigram_text, "interval": "Wilson score, 95%"}  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, **results}, indent=1))
    print(report(results))
    print(f"wrote {out} and {out.with_suffix('.json')}")


if __name__ == "__main__":
    cli.run(define_flags, main, also=(ValueError,))  # a malformed WSC file, a non-LM run
