r"""Train one config under several seeds and score the runs as one ensemble, which
decodes by the mean of their probabilities (seq2seq configs, e.g. the lemmatizer).

    python -m experiments.ensemble --config=experiments/configs/lemmatizer_ud_ewt.py \
        --workdir=/tmp/lemmatizer_ensemble --seeds=0,1,2

    <workdir>/seed<k>          one run per seed, as experiments.train makes it (resumable;
                               a run finished with this very config is reused)
    <workdir>/ensemble.json    the ensemble's dev extras (the task's table: for the
                               lemmatizer exact match overall / on unseen forms per system
                               and beam size) and each member's

The finished ensemble as calls: rnnlab.load_ensemble([<workdir>/seed0, ...]).lemmatize(...).
"""

from __future__ import annotations

import json
import os
import time

from absl import flags
from etils import epath
from ml_collections import config_flags

from experiments import cli
from experiments.transfer import train_or_reuse
from rnnlab import predict, tasks, train


def member_dir(workdir: str, seed: int) -> str:
    return os.path.join(workdir, f"seed{seed}")


def run(config, workdir: str, seeds: list[int]) -> dict | None:
    """Every member (resuming what is there), then the ensemble's extras on dev; None if
    a member was preempted."""
    if not seeds:
        raise tasks.ConfigError("--seeds: at least one seed")
    tasks.validate(config)
    if not tasks.REGISTRY[tasks.kind_of(config)].ENSEMBLES:
        raise tasks.ConfigError(f"a {tasks.kind_of(config)!r} config does not decode as an "
                                "ensemble (seq2seq configs do)")  # fmt: skip
    members = {}
    for seed in seeds:
        c = config.copy_and_resolve_references()
        c.seed = seed
        members[seed] = train_or_reuse(c, member_dir(workdir, seed))
        if members[seed].get("preempted"):
            return None
    ensemble = predict.load_ensemble([member_dir(workdir, s) for s in seeds])
    task = tasks.build(ensemble.run.config)  # the data, to score dev
    if any(task.vocabs[k].tokens != v.tokens for k, v in ensemble.run.vocabs.items()):
        raise ValueError(f"the data under {config.source_dir} is not what the runs in "
                         f"{workdir} were trained on (other vocabularies)")  # fmt: skip
    start = time.perf_counter()
    results = {
        "seeds": list(seeds),
        "members": {s: {k: r.get(k) for k in ("workdir", "best_step", "wall_time_s", "dev",
                                                "decoding")} for s, r in members.items()},
        **task.extras(ensemble.run.params),
    }  # fmt: skip
    results["decoding_wall_time_s"] = round(time.perf_counter() - start, 1)
    (epath.Path(workdir) / "ensemble.json").write_text(json.dumps(results, indent=1))
    return results


def format_results(results: dict, task: str) -> str:
    extras = tasks.REGISTRY[task].format_extras
    lines = []
    for seed, r in results["members"].items():
        lines.append(f"seed {seed} alone (best step {r['best_step']}, {r['wall_time_s']} s):")
        lines += [line for line in extras({**results, "decoding": r["decoding"]})[1:]
                  if "baseline" not in line]  # fmt: skip
    lines.append(f"ensemble of seeds {results['seeds']} ({results['decoding_wall_time_s']} s "
                 "to decode dev):")  # fmt: skip
    return "\n".join(lines + extras(results))


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    config_flags.DEFINE_config_file("config", "experiments/configs/lemmatizer_ud_ewt.py")
    flags.DEFINE_string("workdir", None, "the members' runs and ensemble.json")
    flags.mark_flag_as_required("workdir")
    flags.DEFINE_list("seeds", ["0", "1", "2"], "one member per seed")


def main(argv):
    cli.start(argv)
    config = cli.config()
    # The members compile the same steps: compile once, reuse from (local) disk.
    train.enable_compilation_cache()
    seeds = [int(s) for s in flags.FLAGS.seeds]
    results = run(config, flags.FLAGS.workdir, seeds)
    if results is None:
        raise SystemExit("preempted: rerun the same command to resume")
    print(format_results(results, tasks.kind_of(config)))


if __name__ == "__main__":
    cli.run(define_flags, main)
