r"""Pre-train an LM once, then fine-tune a classifier from it and from random init, per seed.

    python -m experiments.transfer --config=experiments/configs/transfer_sst.py \
        --workdir=/tmp/transfer_sst

    <workdir>/lm                             the LM (config.pretrain)
    <workdir>/{pretrained,random}/seed<k>    one classifier per arm and seed (config.finetune;
                                             the pretrained arm adds init_from=<workdir>/lm
                                             and config.pretrained's schedule)
    <workdir>/transfer.json                  per-seed dev accuracies, mean ± std of both arms
                                             and of the paired difference

Both arms share everything but the initialisation of the embedding and recurrent layers
(and the pretrained arm's freeze / lr schedule): model, data order, dropout keys and the
head's init come from the same seed, the number of steps is the same, and each run's dev
accuracy is that of its best dev checkpoint, as for every other config. Every run is
resumable: rerunning the command finishes what is unfinished and rewrites transfer.json.
"""

from __future__ import annotations

import json
import os

import numpy as np
from absl import flags
from ml_collections import config_flags

from experiments import cli
from rnnlab import tasks, train

ARMS = ("pretrained", "random")


def arm_config(config, arm: str, seed: int, lm_workdir: str):
    """The fine-tuning config of one arm and seed."""
    c = config.finetune.copy_and_resolve_references()
    c.seed = seed
    if arm == "pretrained":
        c.init_from = lm_workdir
        options = config.pretrained.to_dict()
        if options.pop("lm_vocabulary", False):
            c.vocab_from = lm_workdir
        c.update(options)
    return c


def mean_std(values: list[float]) -> dict:
    """Mean and sample standard deviation (ddof=1; 0 for one value)."""
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "std": std}


def summarize(accuracy: dict[str, list[float]]) -> dict:
    """Both arms' dev accuracies and the paired (same-seed) difference pretrained - random."""
    out = {arm: {"dev_accuracy": accuracy[arm], **mean_std(accuracy[arm])} for arm in ARMS}
    diff = [p - r for p, r in zip(accuracy["pretrained"], accuracy["random"], strict=True)]
    out["difference"] = {"per_seed": diff, **mean_std(diff)}
    if len(diff) > 1:  # the paired t statistic: is the gain more than seed noise?
        se = out["difference"]["std"] / np.sqrt(len(diff))
        out["difference"]["t"] = out["difference"]["mean"] / se if se > 0 else float("inf")
    return out


def run(config, workdir: str) -> dict | None:
    """Every run (resuming what is there); the results dict, or None if preempted."""
    lm_workdir = os.path.join(workdir, "lm")
    for c in [config.pretrain] + [arm_config(config, arm, seed, lm_workdir)
                                  for seed in config.seeds for arm in ARMS]:  # fmt: skip
        tasks.validate(c)  # every config error before the first step, not after the LM
    lm = train.train_and_evaluate(config.pretrain.copy_and_resolve_references(), lm_workdir)
    if lm.get("preempted"):
        return None
    runs = {arm: [] for arm in ARMS}
    for seed in config.seeds:
        for arm in ARMS:
            run_dir = os.path.join(workdir, arm, f"seed{seed}")
            result = train.train_and_evaluate(arm_config(config, arm, seed, lm_workdir), run_dir)
            if result.get("preempted"):
                return None
            runs[arm].append(result)
    results = {
        "seeds": list(config.seeds),
        "lm": {k: lm[k] for k in ("workdir", "step", "best_step", "dev", "summary")},
        **summarize({arm: [r["dev"]["accuracy"] for r in runs[arm]] for arm in ARMS}),
        "runs": {
            arm: [{k: r[k] for k in ("workdir", "step", "best_step")} for r in runs[arm]]
            for arm in ARMS
        },
        "init": runs["pretrained"][0]["init"],
    }
    with open(os.path.join(workdir, "transfer.json"), "w") as f:
        json.dump(results, f, indent=1)
    return results


def format_table(results: dict) -> str:
    """Dev accuracy (%) per seed and arm, mean ± std, and the LM it came from."""
    lm, init = results["lm"], results["init"]
    lines = [
        f"LM: dev perplexity {lm['dev']['perplexity']:.1f} after {lm['step']} steps; "
        f"{init['words'] - init['missing_words']} of the "
        f"classifier's {init['words']} words from the LM, {init['missing_words']} random",
        f"{'seed':>6} {'pretrained':>11} {'random':>8} {'diff':>7}",
    ]
    pre, rnd, diff = results["pretrained"], results["random"], results["difference"]
    for i, seed in enumerate(results["seeds"]):
        lines.append(
            f"{seed:>6} {100 * pre['dev_accuracy'][i]:>11.2f} {100 * rnd['dev_accuracy'][i]:>8.2f}"
            f" {100 * diff['per_seed'][i]:>+7.2f}"
        )
    lines.append(
        f"{'mean':>6} {100 * pre['mean']:>6.2f} ± {100 * pre['std']:.2f} "
        f"{100 * rnd['mean']:>5.2f} ± {100 * rnd['std']:.2f} "
        f"{100 * diff['mean']:>+5.2f} ± {100 * diff['std']:.2f}  (dev accuracy %, std ddof=1)"
    )
    if "t" in diff:
        lines.append(f"paired t = {diff['t']:.2f} ({len(results['seeds']) - 1} df)")
    return "\n".join(lines)


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    config_flags.DEFINE_config_file("config", "experiments/configs/transfer_sst.py")
    flags.DEFINE_string("workdir", None, "the LM, the classifiers and transfer.json")
    flags.mark_flag_as_required("workdir")


def main(argv):
    cli.start(argv)
    config = cli.config()
    # The seeds' runs compile the same steps: compile once, reuse from disk.
    train.enable_compilation_cache(os.path.join(flags.FLAGS.workdir, "jax_cache"))
    results = run(config, flags.FLAGS.workdir)
    if results is None:
        raise SystemExit("preempted: rerun the same command to resume")
    print(format_table(results))


if __name__ == "__main__":
    cli.run(define_flags, main)
