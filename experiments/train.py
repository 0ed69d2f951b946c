r"""Train and evaluate one experiment config (resumes if --workdir holds a checkpoint).

    python -m experiments.train --config=experiments/configs/agreement.py --workdir=/tmp/agr
    python -m experiments.train --config=experiments/configs/ptb_small.py \
        --workdir=/tmp/ptb --config.num_epochs=2      # any field: --config.<field>=<value>

The workdir may be a bucket URL (--workdir=gs://bucket/run). Compiled steps are kept in
~/.cache/rnnlab/jax (or $JAX_COMPILATION_CACHE_DIR), so a rerun or resume starts at once;
--nocompilation_cache turns that off.
"""

from absl import flags
from ml_collections import config_flags

from experiments import cli
from rnnlab import sharding, train


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    config_flags.DEFINE_config_file("config", "experiments/configs/agreement.py")
    flags.DEFINE_string("workdir", None, "checkpoints, metrics and results go here")
    flags.mark_flag_as_required("workdir")
    flags.DEFINE_bool("compilation_cache", True, "keep compiled steps on disk for the next run")


def main(argv):
    cli.start(argv)
    config = cli.config()
    if config.distributed.initialize:  # before any other JAX call
        d = config.distributed
        sharding.initialize_distributed(
            d.coordinator_address or None,
            d.num_processes or None,
            None if d.process_id < 0 else d.process_id,
        )
    if flags.FLAGS.compilation_cache:
        train.enable_compilation_cache()
    results = train.train_and_evaluate(config, flags.FLAGS.workdir)
    print(train.format_results(results))
    if results.get("preempted") or any(
        isinstance(r, dict) and r.get("preempted") for r in results.values()
    ):
        raise SystemExit("preempted: rerun the same command to resume")


if __name__ == "__main__":
    cli.run(define_flags, main)
