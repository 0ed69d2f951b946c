"""Checkpoints: orbax `CheckpointManager` around the train state, data state and metadata.

Each checkpoint step holds three items (`args=ocp.args.Composite(...)`):

    state  the train state pytree (params, optimizer state, step, RNG, LM carry)
    data   the grain iterator's state (JSON), so a resumed run sees the same batches
    meta   the model spec and loop bookkeeping (best dev metric so far), JSON

One manager keeps the latest few (resume), another the one with the best dev metric
(model selection); where they live in a run's folder is rnnlab.runs's business. Saving
is synchronous: a run that is told to stop (SIGTERM) has its checkpoint on disk before
it exits.

A kill can leave a half-written step (orbax's temporary folder, removed when training
starts) and a disk can corrupt a finished one: every restore takes the newest step that
restores completely, says which newer ones it skipped and why, and raises
`CheckpointError` only when none is usable, never starting silently from scratch.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import orbax.checkpoint as ocp
from etils import epath

ITEMS = ("state", "data", "meta")


class CheckpointError(RuntimeError):
    """No checkpoint of a directory can be restored, or they hold another kind of run."""


def _manager(directory: str, max_to_keep: int | None = None) -> ocp.CheckpointManager:
    """A writer (max_to_keep given: it also removes a killed save's temporary folders)
    or a reader, which creates and removes nothing (a run may be training there)."""
    if max_to_keep is None:  # (read_only=True would say so in a warning every time)
        options = ocp.CheckpointManagerOptions(create=False)
    else:
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False,
            cleanup_tmp_directories=True,
        )  # fmt: skip
    return ocp.CheckpointManager(_path(directory), options=options, item_names=ITEMS)


def _path(directory: str) -> epath.Path:
    """A URL (`gs://bucket/run`) unchanged; a local path made absolute, as orbax needs."""
    path = epath.Path(directory)
    return path if path.is_absolute() else path.absolute()


def _reason(error: BaseException) -> str:
    """The innermost cause of an orbax/tensorstore error, on one line."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__
    text = str(error).strip().splitlines()
    text = text[0] if text else ""
    return f"{type(error).__name__}: {text[:300]}"


def _newest_usable(manager, restore: Callable[[int], Any]) -> tuple[int, Any] | None:
    """(step, restore(step)) of the newest step that restores; None if there is no step.
    The newer steps that failed get a one-line warning each on stderr; a CheckpointError
    (another run's checkpoint, not a corrupt one) stops the search."""
    directory = str(manager.directory)
    failures = {}
    for step in sorted(manager.all_steps(), reverse=True):
        try:
            found = step, restore(step)
        except CheckpointError:
            raise
        except Exception as e:  # orbax and tensorstore raise anything from a bad file
            failures[step] = _reason(e)
            continue
        for bad, reason in failures.items():
            print(f"warning: skipping checkpoint {directory}/{bad}: {reason}", file=sys.stderr)
        return found
    if failures:
        reasons = "; ".join(f"step {step}: {reason}" for step, reason in failures.items())
        raise CheckpointError(
            f"no checkpoint in {directory} can be restored ({reasons}); "
            "move the folder away to start from scratch"
        )
    return None


def _meta_args() -> ocp.args.Composite:
    return ocp.args.Composite(meta=ocp.args.JsonRestore())


def _saved_state(manager, step: int):
    """The saved train state's tree of array metadata (shapes, dtypes; no array read)."""
    path = epath.Path(manager.directory) / str(step) / "state"
    return ocp.StandardCheckpointHandler().metadata(path).tree


def _shapes(tree) -> dict[str, tuple]:
    leaves = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: hasattr(x, "shape"))[0]
    return {jax.tree_util.keystr(path): tuple(x.shape) for path, x in leaves}


class Checkpointer:
    """The latest checkpoints (for resuming) and the best one (for evaluation)."""

    def __init__(self, latest_dir: str, best_dir: str, max_to_keep: int = 2):
        self.latest = _manager(latest_dir, max_to_keep)
        self.best = _manager(best_dir, 1)
        self._saved = {}  # manager -> the step this process saved last

    def save(self, state: dict, data: dict, meta: dict, *, best: bool = False) -> None:
        step = int(state["step"])
        manager = self.best if best else self.latest
        if self._saved.get(manager) == step:  # e.g. the last step, saved again on SIGTERM
            return
        if step in manager.all_steps():  # written before a resume from an older step
            manager.delete(step)  # (it may be the unusable one that was skipped)
        args = ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=ocp.args.JsonSave(data),
            meta=ocp.args.JsonSave(meta),
        )
        manager.save(step, args=args, force=True)
        manager.wait_until_finished()
        self._saved[manager] = step

    def restore(
        self, like_state: dict, like_meta: dict, *, best: bool = False
    ) -> tuple[dict, dict, dict] | None:
        """(state, data, meta) of the newest usable latest (or best) checkpoint; None if
        there is none. `like_state` gives the tree structure, shapes and dtypes to restore
        into; a checkpoint of another task or parameter shapes than `like_meta` and
        `like_state` is another run's: CheckpointError, whatever older steps hold."""
        manager = self.best if best else self.latest
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like_state)
        args = ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract),
            data=ocp.args.JsonRestore(),
            meta=ocp.args.JsonRestore(),
        )

        def restore(step: int):
            saved = manager.restore(step, args=_meta_args())["meta"]
            error = _other_run(saved, _saved_state(manager, step), like_meta, like_state)
            if error is not None:
                raise CheckpointError(f"{manager.directory}/{step} {error}")
            return manager.restore(step, args=args)

        found = _newest_usable(manager, restore)
        if found is None:
            return None
        out = found[1]
        return out["state"], out["data"], out["meta"]

    def close(self) -> None:
        self.latest.close()
        self.best.close()


def _other_run(saved_meta: dict, saved_state, meta: dict, state: dict) -> str | None:
    """Why a checkpoint is another run's than (meta, state) would save; None: ours.
    Shapes decide, so a resume may change what leaves them (dropout, levers)."""
    if saved_meta.get("task") != meta["task"]:
        return f"holds a {saved_meta.get('task')!r} run, not {meta['task']!r}: use another workdir"
    if ("ema_params" in saved_state) != ("ema_params" in state):
        kept = "keeps a" if "ema_params" in saved_state else "keeps no"
        return (f"{kept} moving average of the weights (config.ema_decay): resume with the "
                "ema_decay it was trained with, or use another workdir")  # fmt: skip
    if _shapes(saved_state["params"]) == _shapes(state["params"]):
        return None
    old, new = saved_meta.get("model", {}), meta["model"]
    diff = [f"{k} {old.get(k)!r} there, {new.get(k)!r} here"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]  # fmt: skip
    return f"holds another model ({', '.join(diff) or 'parameter shapes'}): use another workdir"


def steps(directory: str) -> list[int]:
    """The checkpoint steps in `directory`, usable or not (none if it does not exist)."""
    return list(_manager(directory).all_steps()) if epath.Path(directory).is_dir() else []


def load_meta(directory: str) -> dict[str, Any] | None:
    """The metadata of the newest usable checkpoint in `directory` (None: there is none)."""
    manager = _manager(directory)
    found = _newest_usable(manager, lambda step: manager.restore(step, args=_meta_args()))
    return None if found is None else found[1]["meta"]


def load(directory: str) -> tuple[int, dict, Any] | None:
    """(step, meta, params) of the newest usable checkpoint in `directory`, the
    parameters (the moving average, where the run kept one) on one local device whatever
    mesh or number of processes the run was trained on; None if there is no checkpoint."""
    manager = _manager(directory)
    device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

    def restore(step: int):
        abstract = jax.tree.map(
            lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
            _saved_state(manager, step),
            is_leaf=lambda m: hasattr(m, "shape"),
        )
        args = ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
        )
        return manager.restore(step, args=args)

    found = _newest_usable(manager, restore)
    if found is None:
        return None
    step, out = found
    state = out["state"]  # the weights a run evaluates: its moving average if it kept one
    return step, out["meta"], state.get("ema_params", state["params"])
