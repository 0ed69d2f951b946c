r"""Pre-train once per pre-trained arm, then fine-tune a classifier from each and from
random init, per seed.

    python -m experiments.transfer --config=experiments/configs/transfer_sst.py \
        --workdir=/tmp/transfer_sst

`config.pretrain` is one run config (one arm, "pretrained", e.g. an LM) or several by
arm name (e.g. "lm" and "sa": an LM and a sequence autoencoder, the second a seq2seq run
whose encoder the classifier takes; rnnlab.transfer):

    <workdir>/lm  or  <workdir>/pretrain_<arm>   each pre-training (config.pretrain)
    <workdir>/<arm>/seed<k>                      one classifier per arm and seed
                                                 (config.finetune; a pre-trained arm adds
                                                 init_from=its pre-training and
                                                 config.pretrained's schedule)
    <workdir>/transfer.json                      per-seed dev accuracies, mean ± std of
                                                 every arm and of each pre-trained arm's
                                                 paired difference from "random"

All arms share everything but the initialisation of the embedding and recurrent layers
(and the pre-trained arms' freeze / lr schedule): model, data order, dropout keys and the
head's init come from the same seed, the number of steps is the same, and each run's dev
accuracy is that of its best dev checkpoint, as for every other config. Every run is
resumable: rerunning the command finishes what is unfinished and rewrites transfer.json.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import flags
from etils import epath
from ml_collections import config_flags

from experiments import cli
from rnnlab import runs, tasks, train

RANDOM = "random"
SINGLE = "pretrained"  # the arm of a single pre-training config


def pretrainings(config) -> dict:
    """Pre-trained arm -> its run config."""
    if "dataset" in config.pretrain:  # one run config
        return {SINGLE: config.pretrain}
    return dict(config.pretrain.items())


def arms(config) -> tuple[str, ...]:
    return (*pretrainings(config), RANDOM)


def pretrain_dir(workdir: str, arm: str) -> str:
    return os.path.join(workdir, "lm" if arm == SINGLE else f"pretrain_{arm}")


def arm_config(config, arm: str, seed: int, pretrained_workdir: str):
    """The fine-tuning config of one arm and seed."""
    c = config.finetune.copy_and_resolve_references()
    c.seed = seed
    if arm != RANDOM:
        c.init_from = pretrained_workdir
        options = config.pretrained.to_dict()
        if options.pop("lm_vocabulary", False):
            c.vocab_from = pretrained_workdir
        c.update(options)
    return c


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "std": std}


def summarize(accuracy: dict[str, list[float]]) -> dict:
    """Every arm's dev accuracies, and per pre-trained arm the paired (same-seed)
    difference from random init with its t statistic (under "difference", by arm)."""
    out = {arm: {"dev_accuracy": acc, **mean_std(acc)} for arm, acc in accuracy.items()}
    out["difference"] = {}
    for arm in accuracy:
        if arm == RANDOM:
            continue
        diff = [p - r for p, r in zip(accuracy[arm], accuracy[RANDOM], strict=True)]
        d = out["difference"][arm] = {"per_seed": diff, **mean_std(diff)}
        if len(diff) > 1:  # the paired t statistic: is the gain more than seed noise?
            se = d["std"] / np.sqrt(len(diff))
            d["t"] = d["mean"] / se if se > 0 else float("inf")
    return out


def train_or_reuse(config, workdir: str) -> dict:
    """The results of a run finished with this very config, read back (rebuilding it would
    read its data and evaluate dev again: minutes for IMDB); else it trains (resuming).
    So runs started by hand in this layout (e.g. two at a time) are collected; a run
    from before a config field existed ran as its default (`runs.load_config`)."""
    folder = epath.Path(workdir)
    done = folder / runs.RESULTS_FILE
    if done.exists() and (folder / runs.CONFIG_FILE).exists():
        same = runs.load_config(workdir).to_dict() == json.loads(config.to_json())
        results = json.loads(done.read_text())
        if same and not results.get("preempted"):
            return results
    return train.train_and_evaluate(config, workdir)


def run(config, workdir: str) -> dict | None:
    """Every run (resuming what is there); the results dict, or None if preempted."""
    pre = pretrainings(config)
    dirs = {arm: pretrain_dir(workdir, arm) for arm in pre}
    names = arms(config)
    for c in [*pre.values()] + [arm_config(config, arm, seed, dirs.get(arm, ""))
                                for seed in config.seeds for arm in names]:  # fmt: skip
        tasks.validate(c)  # every config error before the first step, not after the LM
    pretrained = {}
    for arm, c in pre.items():
        pretrained[arm] = train_or_reuse(c.copy_and_resolve_references(), dirs[arm])
        if pretrained[arm].get("preempted"):
            return None
    runs = {arm: [] for arm in names}
    for seed in config.seeds:
        for arm in names:
            run_dir = os.path.join(workdir, arm, f"seed{seed}")
            c = arm_config(config, arm, seed, dirs.get(arm, ""))
            result = train_or_reuse(c, run_dir)
            if result.get("preempted"):
                return None
            runs[arm].append(result)
    fields = ("workdir", "step", "best_step", "dev", "summary")
    results = {
        "seeds": list(config.seeds),
        "pretraining": {arm: {k: r[k] for k in fields} for arm, r in pretrained.items()},
        **summarize({arm: [r["dev"]["accuracy"] for r in runs[arm]] for arm in names}),
        "runs": {
            arm: [{k: r[k] for k in ("workdir", "step", "best_step")} for r in runs[arm]]
            for arm in names
        },
        "init": {arm: runs[arm][0]["init"] for arm in pre},
    }
    (epath.Path(workdir) / "transfer.json").write_text(json.dumps(results, indent=1))
    return results


def format_table(results: dict) -> str:
    """Dev accuracy (%) per seed and arm, mean ± std, and where the pre-trained arms began."""
    lines = []
    for arm, r in results["pretraining"].items():
        init, dev = results["init"][arm], r["dev"]
        score = f"perplexity {dev['perplexity']:.1f}" if "perplexity" in dev else (
            f"loss {dev['loss']:.3f}")  # fmt: skip
        lines.append(
            f"{arm}: {r['summary']['task']} pre-training, dev {score} after {r['step']} "
            f"steps; {init['words'] - init['missing_words']} of the classifier's "
            f"{init['words']} words from it, {init['missing_words']} random"
        )
    names = [a for a in results if a in results["runs"]]
    diffs = results["difference"]
    lines.append(f"{'seed':>6}" + "".join(f" {a:>10}" for a in names)
                 + "".join(f" {'diff ' + a:>12}" for a in diffs))  # fmt: skip
    for i, seed in enumerate(results["seeds"]):
        lines.append(
            f"{seed:>6}"
            + "".join(f" {100 * results[a]['dev_accuracy'][i]:>10.2f}" for a in names)
            + "".join(f" {100 * d['per_seed'][i]:>+12.2f}" for d in diffs.values())
        )
    lines.append(
        f"{'mean':>6}"
        + "".join(f" {100 * results[a]['mean']:>5.2f}±{100 * results[a]['std']:.2f}" for a in names)
        + "".join(f" {100 * d['mean']:>+6.2f}±{100 * d['std']:.2f}" for d in diffs.values())
        + "  (dev accuracy %, std ddof=1)"
    )
    for arm, d in diffs.items():
        if "t" in d:
            lines.append(
                f"{arm} - random: paired t = {d['t']:.2f} ({len(results['seeds']) - 1} df)"
            )
    return "\n".join(lines)


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    config_flags.DEFINE_config_file("config", "experiments/configs/transfer_sst.py")
    flags.DEFINE_string("workdir", None, "the LM, the classifiers and transfer.json")
    flags.mark_flag_as_required("workdir")


def main(argv):
    cli.start(argv)
    config = cli.config()
    # The seeds' runs compile the same steps: compile once, reuse from (local) disk.
    train.enable_compilation_cache()
    results = run(config, flags.FLAGS.workdir)
    if results is None:
        raise SystemExit("preempted: rerun the same command to resume")
    print(format_table(results))


if __name__ == "__main__":
    cli.run(define_flags, main)
