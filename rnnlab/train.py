"""Training: an explicit train-state pytree, pure jit-compiled steps, a resumable loop.

    state = {"params", "opt_state", "step", "rng", "carry"}   (carry: LM streams only)
    state, metrics = train_step(state, batch)                  one optimizer update
    stats = eval_step(params, batch, carry)                    masked sums, no update

Everything a step does is a function of (state, batch): dropout keys are
`fold_in(rng, step)`, batch i is a pure function of i (grain iterator state saved with the
checkpoint), so a run stopped at step k and resumed from its checkpoint reaches the same
parameters at step n as a run that never stopped.

`train_and_evaluate(config, workdir)` is the whole job (also from a notebook): resume
from <workdir> if it holds a checkpoint, train, evaluate on dev every `eval_every` steps,
keep the best checkpoint, write metrics.jsonl / TensorBoard events / curves.png /
results.json, and return the results dict. With `model.cell = "lstm,elman"` it trains
one model per cell (in <workdir>/<cell>) and returns them side by side; SIGTERM stops
it after saving the model it interrupts (the rerun resumes that one, then the rest); with
several processes all of them stop after the same step (`_StopSignal`). The workdir may
be a gs:// URL (rnnlab.runs). Before any data is read the whole config is checked
(`validate`); then the run says what it trains, on what, and that it compiles.

The loop knows no kind of task: data, model, objective, evaluation sums, carried state
and end-of-run evaluations come from the config's `rnnlab.tasks.Task`; the workdir's
layout is rnnlab.runs's.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from etils import epath
from jax.experimental import multihost_utils

from rnnlab import checkpoint, metrics_io, models, runs, sharding, tasks


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss is NaN/inf and `skip_nonfinite` is off."""


def enable_compilation_cache(directory: str | None = None) -> None:
    """Persist compiled steps on disk: a rerun (a resume, a test) skips recompilation.
    Call before the first jit compilation. `directory` defaults to
    $JAX_COMPILATION_CACHE_DIR if set, else ~/.cache/rnnlab/jax (a local disk: on a pod,
    each host its own)."""
    directory = (
        directory
        or jax.config.jax_compilation_cache_dir
        or str(epath.Path("~/.cache/rnnlab/jax").expanduser())
    )
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


# --------------------------------------------------------------------------- optimizer


def learning_rate(config, steps_per_epoch: int) -> Callable:
    """The rate of update number `count` (from 0), Zaremba's step decay: the first
    `decay_after_epochs` epochs at the full rate, then x `lr_decay` at the start of every
    later epoch (lr_decay 1: constant)."""

    def lr(count):
        decays = jnp.maximum(count // steps_per_epoch - config.decay_after_epochs + 1, 0)
        return config.learning_rate * jnp.float32(config.lr_decay) ** decays

    return lr


def make_optimizer(config, steps_per_epoch: int, extra=None) -> optax.GradientTransformation:
    """Adam (b2 = `adam_b2`) or SGD at `learning_rate`'s schedule; global-norm clipping
    first. `extra` (the task's `update_transform`, e.g. transfer's freeze /
    discriminative lr) last."""
    lr = learning_rate(config, steps_per_epoch)
    if config.optimizer == "sgd":
        opt = optax.sgd(lr)
    else:  # a constant rate keeps the optimizer state (and so the checkpoints) of before
        b2 = config.get("adam_b2", 0.999)  # runs saved before the option: optax's default
        opt = optax.adam(config.learning_rate if config.lr_decay == 1.0 else lr, b2=b2)
    parts = [optax.clip_by_global_norm(config.clip_norm)] if config.clip_norm > 0 else []
    parts.append(opt)
    if extra is not None:
        parts.append(extra)
    return optax.chain(*parts) if len(parts) > 1 else opt


# --------------------------------------------------------------------------- steps


def train_step(state, batch, *, task: tasks.Task, optimizer, steps_per_epoch: int,
               ema_decay: float = 0.0):  # fmt: skip
    """One update. A non-finite loss or gradient leaves the state as it was (the host
    decides whether that stops the run); metrics["finite"] says which happened. A state
    with "ema_params" moves them towards the new params by `ema_rate`."""
    key = jax.random.fold_in(state["rng"], state["step"])
    carry = state.get("carry")
    if carry is not None:  # a new epoch starts the carried state from zero
        new_epoch = state["step"] % steps_per_epoch == 0
        carry = jax.tree.map(lambda c: jnp.where(new_epoch, jnp.zeros_like(c), c), carry)
    grads_fn = jax.value_and_grad(task.loss, has_aux=True)
    (objective, (metrics, carry_out)), grads = grads_fn(state["params"], batch, key, carry)
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    # The update too: a NaN learning rate or optimizer state must not reach the params.
    finite = jnp.isfinite(objective) & jnp.isfinite(optax.tree.norm(updates))
    new = {
        "params": optax.apply_updates(state["params"], updates),
        "opt_state": opt_state,
        "rng": state["rng"],
    }
    if carry is not None:
        new["carry"] = jax.lax.stop_gradient(carry_out)
    if "ema_params" in state:
        rate = ema_rate(ema_decay, state["step"])
        new["ema_params"] = jax.tree.map(lambda e, p: rate * e + (1.0 - rate) * p,
                                         state["ema_params"], new["params"])  # fmt: skip
    keep = {k: state[k] for k in new}
    new = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, keep)
    new["step"] = state["step"] + 1
    return new, {**metrics, "grad_norm": optax.tree.norm(grads), "finite": finite}


def ema_rate(ema_decay: float, step) -> jax.Array:
    """How much of the average stays at update number `step` (from 0): min(ema_decay,
    (1 + step) / (10 + step)), so that the first updates are not averaged with the
    initial weights for thousands of steps."""
    step = jnp.asarray(step, jnp.float32)
    return jnp.minimum(jnp.float32(ema_decay), (1.0 + step) / (10.0 + step))


def eval_params(state: dict):
    """The weights that are evaluated, selected and loaded: the moving average where the
    run keeps one (config.ema_decay), else the params."""
    return state.get("ema_params", state["params"])


def evaluate(task: tasks.Task, params, batches, eval_fn=None) -> dict[str, float]:
    """The task's metrics over a whole split from summed statistics (a carried state
    flows across the batches of a stream). `eval_fn`: a jitted `task.eval_sums`."""
    eval_fn = eval_fn or jax.jit(task.eval_sums)
    totals = None
    carry = task.initial_carry(params, batches[0])
    for batch in batches:
        sums, carry_out = eval_fn(params, batch, carry)
        carry = carry_out if carry is not None else None
        sums = {k: float(v) for k, v in sums.items()}
        totals = sums if totals is None else {k: totals[k] + sums[k] for k in totals}
    return task.summarize(totals)


# --------------------------------------------------------------------------- the loop


class StopReason(enum.Enum):
    FINISHED = "finished"
    EARLY_STOP = "early stop"
    PREEMPTED = "preempted"  # SIGTERM: checkpoint saved, rerun to resume
    NON_FINITE = "non-finite loss"


class _StopSignal:
    """Preemption (SIGTERM): every process stops after the same step and saves it. One
    process: a handler sets a flag, read after every step. Several: JAX's preemption
    service (started by `jax.distributed.initialize`) catches SIGTERM on any of them and
    names a step all of them reach (`reached_preemption_sync_point`, asked after every
    step), so their collective save is of one step and cannot hang."""

    def __init__(self):
        self.received = False
        self.previous = None
        self.several = jax.process_count() > 1

    def __enter__(self):
        # (a Python handler would replace the preemption service's)
        if not self.several and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = True

    def reached(self, step: int) -> bool:
        """Whether to save and stop after `step`; ask once per step, on every process."""
        if self.several:
            return multihost_utils.reached_preemption_sync_point(step)
        return self.received

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)


def num_steps(config, steps_per_epoch: int) -> int:
    return config.num_steps if config.num_steps > 0 else config.num_epochs * steps_per_epoch


def _better(metric: str, new: float, old: float | None) -> bool:
    if old is None:
        return True
    return new < old if metric in ("loss", "perplexity") else new > old


def train_and_evaluate(config, workdir: str, *, on_step: Callable[[int], None] | None = None):
    """Trains (resuming from `workdir` if possible) and returns the results dict.

    on_step(step) is called after every step (tests use it to inject a SIGTERM).
    """
    validate(config)  # before data is read or the workdir created
    runs.check_workdir(workdir)
    cell_names = [c.strip() for c in str(config.model.cell).split(",")]
    if len(cell_names) > 1:
        results = {}
        for name in cell_names:
            sub = config.copy_and_resolve_references()
            sub.model.cell = name
            results[name] = train_and_evaluate(
                sub, str(epath.Path(workdir) / name), on_step=on_step
            )
            if results[name].get("preempted"):  # the rerun resumes this one, then goes on
                return results
        runs.write_results(workdir, results)
        return results
    _say(f"{workdir}: reading {config.dataset}...")
    task = tasks.build(config)
    start_time = time.perf_counter()
    setup = _init_or_restore(config, workdir, task)
    # After the restore: it checks the run is ours.
    runs.start(workdir, config, task.vocabs, task.inference_tables())
    _say(_header(config, task, setup.state["params"]))
    outcome = _step_loop(config, workdir, task, setup, on_step)
    return _finish(config, workdir, task, setup, outcome, time.perf_counter() - start_time)


def validate(config) -> None:
    """The task's config errors (tasks.validate) and the loop's, in one ConfigError."""
    errors = []
    for field in ("log_every", "eval_every", "checkpoint_every", "keep_checkpoints"):
        if not isinstance(config[field], int) or config[field] <= 0:
            errors.append(f"{field} must be a positive int, got {config[field]!r}")
    if not (config.num_steps > 0 or config.num_epochs > 0):
        errors.append(f"num_steps or num_epochs must be > 0, got {config.num_steps} and "
                      f"{config.num_epochs}")  # fmt: skip
    if not isinstance(config.early_stop_evals, int) or config.early_stop_evals < 0:
        errors.append(f"early_stop_evals must be an int >= 0, got {config.early_stop_evals!r}")
    for field in ("adam_b2", "ema_decay"):
        if field in config and not 0.0 <= config[field] < 1.0:
            errors.append(f"{field} must be in [0, 1), got {config[field]!r}")
    try:
        sharding.make_mesh(config.mesh_shape or None)
    except ValueError as e:  # shapes that do not fit the devices of this run
        errors.append(str(e))
    try:
        tasks.validate(config)
    except tasks.ConfigError as e:  # "bad config:\n  a\n  b": the loop's go on the list
        raise tasks.ConfigError("\n  ".join([str(e), *errors])) from None
    if errors:
        raise tasks.ConfigError("bad config:\n  " + "\n  ".join(errors))


def _say(line: str) -> None:
    """A line for the user, once per run (process 0)."""
    if jax.process_index() == 0:
        print(line, flush=True)


def _header(config, task: tasks.Task, params) -> str:
    """What is about to train: data, model, parameters and steps."""
    spec = models.spec_of(task.model)
    data = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in task.summary.items()
                     if k != "task" and isinstance(v, int))  # fmt: skip
    model = spec["model"] + (f" ({spec['cell']})" if "cell" in spec else "")
    count = sum(x.size for x in jax.tree.leaves(params))
    steps, per_epoch = num_steps(config, task.steps_per_epoch), task.steps_per_epoch
    return (f"{task.name}: {data}; {model}, {count:,} parameters\n"
            f"{steps:,} steps ({steps / per_epoch:.2f} epochs of {per_epoch:,}), batch "
            f"{config.batch_size}; dev every {config.eval_every}, checkpoint every "
            f"{config.checkpoint_every} steps")  # fmt: skip


def _devices(mesh) -> str:
    """Where the steps run: 'cpu: 1 x cpu (data 1 x fsdp 1)', + the processes if several."""
    axes = " x ".join(f"{name} {size}" for name, size in mesh.shape.items())
    processes = f", {jax.process_count()} processes" if jax.process_count() > 1 else ""
    kind = mesh.devices.flat[0].device_kind
    return f"{jax.default_backend()}: {mesh.size} x {kind} ({axes}{processes})"


@dataclasses.dataclass
class _Setup:
    """What the loop steps: the train state and the functions and data around it."""

    state: dict
    step_fn: Callable
    eval_fn: Callable
    put: Callable  # host batch -> global array, split over the mesh
    dev: list  # the dev batches, on the mesh (placed once, evaluated many times)
    data_iter: Any  # grain iterator; its state is checkpointed
    ckpt: checkpoint.Checkpointer
    meta: dict  # saved with every checkpoint
    mesh: jax.sharding.Mesh

    def save(self, *, best: bool = False) -> None:
        self.ckpt.save(self.state, self.data_iter.get_state(), self.meta, best=best)


def _init_or_restore(config, workdir: str, task: tasks.Task) -> _Setup:
    """Fresh parameters (or the task's start, e.g. a pre-trained LM's), or the state of
    the latest checkpoint; the jitted, sharded step around them."""
    mesh = sharding.make_mesh(config.mesh_shape or None)
    put = functools.partial(sharding.global_batch, mesh=mesh)
    data_iter = iter(task.train.to_iter_dataset())
    first = task.train[0]
    init_key, rng = jax.random.split(jax.random.PRNGKey(config.seed))
    params = task.init_params(init_key, first)
    ckpt = runs.checkpointer(workdir, config.keep_checkpoints)
    optimizer = make_optimizer(config, task.steps_per_epoch, task.update_transform(params))
    init_report = None
    if ckpt.latest.latest_step() is None:  # a resumed run keeps its own parameters
        params, init_report = task.start_from(params)
    state = {
        "params": params,
        "opt_state": optimizer.init(params),
        "step": jnp.array(0, jnp.int32),
        "rng": rng,
    }
    if config.get("ema_decay", 0.0) > 0:  # a copy: the state is donated to the step
        state["ema_params"] = jax.tree.map(jnp.copy, params)
    carry = task.initial_carry(params, put(first))
    if carry is not None:  # distinct buffers per leaf: the state is donated to the step
        state["carry"] = jax.tree.map(jnp.copy, carry)
    state_sharding = sharding.state_shardings(state, mesh, config.fsdp_min_size)
    state = jax.device_put(state, state_sharding)
    step_fn = jax.jit(
        functools.partial(
            train_step,
            task=task,
            optimizer=optimizer,
            steps_per_epoch=task.steps_per_epoch,
            ema_decay=config.get("ema_decay", 0.0),
        ),
        in_shardings=(state_sharding, sharding.batch_sharding(mesh)),
        out_shardings=(state_sharding, None),
        donate_argnums=0,
    )
    meta = {"task": task.name, "model": models.spec_of(task.model), "best": None,
            "best_step": None, "stale_evals": 0, "summary": task.summary,
            "init": init_report, "window": []}  # fmt: skip
    dev = [put(b) for b in task.dev]
    setup = _Setup(state, step_fn, jax.jit(task.eval_sums), put, dev, data_iter, ckpt, meta, mesh)
    restored = ckpt.restore(state, meta)
    if restored is not None:
        setup.state, data_state, saved_meta = restored
        data_iter.set_state(data_state)
        meta.update({k: saved_meta[k] for k in ("best", "best_step", "stale_evals", "init")})
        meta["window"] = saved_meta.get("window", [])  # (absent from older checkpoints)
        print(f"resumed from {workdir} at step {int(setup.state['step'])}", flush=True)
    return setup


class _PendingMetrics:
    """The metrics of steps still on the device, read in one transfer at log, eval and
    checkpoint steps (no per-step host sync: the host prepares the next batch while the
    device works). A non-finite step left the state as it was, so a state saved after
    a drain that found none is good."""

    def __init__(self, skip_nonfinite: bool):
        self.skip_nonfinite = skip_nonfinite
        self.pending, self.window, self.last = [], [], {}
        self.skipped = 0

    def add(self, step: int, metrics) -> None:
        self.pending.append((step, metrics))

    def drain(self) -> tuple[int, float] | None:
        """(step, loss) of the first non-finite step that stops the run, else None."""
        drained = jax.device_get([m for _, m in self.pending])
        for (at, _), m in zip(self.pending, drained, strict=True):
            if not m["finite"]:
                if not self.skip_nonfinite:
                    return at, float(m["loss"])
                self.skipped += 1
            self.window.append(float(m["loss"]))
            self.last.update({k: float(v) for k, v in m.items()})
        self.pending.clear()
        return None

    def logged(self) -> dict[str, float]:
        """The latest metrics, the loss averaged over the steps since the last line."""
        out = {**self.last, "loss": sum(self.window) / len(self.window)}
        self.window.clear()
        return out


@dataclasses.dataclass
class _Outcome:
    reason: StopReason
    step: int
    skipped: int
    last_eval: tuple[int, dict] | None  # (step, dev metrics) of the latest evaluation
    nonfinite: tuple[int, float] | None = None


def _step_loop(config, workdir: str, task: tasks.Task, setup: _Setup, on_step) -> _Outcome:
    """Steps until the end, an early stop, SIGTERM or a non-finite loss."""
    total_steps = num_steps(config, task.steps_per_epoch)
    step = int(setup.state["step"])
    # From the checkpoint's step (0: a fresh start): rows of a run killed after it go.
    writer = metrics_io.MetricsWriter(workdir, step, config.to_json(indent=1))
    lr = learning_rate(config, task.steps_per_epoch)
    progress = metrics_io.Progress(total_steps, step, config.log_every, epath.Path(workdir).name)

    metrics = _PendingMetrics(config.skip_nonfinite)
    metrics.window = list(setup.meta["window"])
    meta, reason, last_eval, nonfinite = setup.meta, StopReason.FINISHED, None, None

    def save(*, best: bool = False) -> None:
        writer.flush()  # first: the rows up to the checkpoint survive a kill
        meta["window"] = list(metrics.window)  # a resume's next row averages the same steps
        setup.save(best=best)

    if step < total_steps:
        cache = jax.config.jax_compilation_cache_dir
        _say(f"{_devices(setup.mesh)}; compiling the train step"
             f"{f' (cached in {cache})' if cache else ''}...")  # fmt: skip
    with _StopSignal() as stop:
        while step < total_steps:
            batch = next(setup.data_iter)
            setup.state, step_metrics = setup.step_fn(setup.state, setup.put(batch))
            step += 1
            metrics.add(step, step_metrics)
            real_tokens = int(batch["mask_BxT"].sum()) * jax.process_count()
            log = step % config.log_every == 0 or step == total_steps
            evaluate_now = step % config.eval_every == 0 or step == total_steps
            save_now = step % config.checkpoint_every == 0 or step == total_steps
            if log or evaluate_now or save_now:
                nonfinite = metrics.drain()
                if nonfinite is not None:
                    reason = StopReason.NON_FINITE
                    break
            logged = {**metrics.logged(), "learning_rate": float(lr(step - 1))} if log else None
            progress.update(step, real_tokens, logged)
            if log:
                writer.write(step, "train", logged)
            if evaluate_now:
                params = eval_params(setup.state)
                dev = evaluate(task, params, setup.dev, setup.eval_fn)
                last_eval = (step, dict(dev))
                dev.update(task.dev_metrics(params))
                writer.write(step, "dev", dev)
                progress.write(f"{progress.desc} step {step}: dev " + _fmt(dev))
                if config.metric not in dev:  # (known only once the task has evaluated)
                    names = ", ".join(k for k in dev if k != "count")
                    raise tasks.ConfigError(
                        f"bad config: metric {config.metric!r} is not one of this task's dev "
                        f"metrics: {names}"
                    )
                if _better(config.metric, dev[config.metric], meta["best"]):
                    meta.update(best=dev[config.metric], best_step=step, stale_evals=0)
                    save(best=True)
                else:
                    meta["stale_evals"] += 1
                if config.early_stop_evals and meta["stale_evals"] >= config.early_stop_evals:
                    reason = StopReason.EARLY_STOP
            if save_now:
                save()
            if on_step is not None:
                on_step(step)
            if stop.reached(step):
                nonfinite = metrics.drain()
                if nonfinite is not None:
                    reason = StopReason.NON_FINITE
                    break
                save()
                reason = StopReason.PREEMPTED
                break
            if reason is StopReason.EARLY_STOP:
                save()
                break
    progress.close()
    writer.close()
    return _Outcome(reason, step, metrics.skipped, last_eval, nonfinite)


def _finish(config, workdir, task: tasks.Task, setup: _Setup, outcome: _Outcome, wall_s: float):
    """The results of the best checkpoint: dev (and test) metrics and the task's extras."""
    if outcome.reason is StopReason.NON_FINITE:
        setup.ckpt.close()
        at, loss = outcome.nonfinite
        raise NonFiniteLossError(
            f"non-finite loss {loss} at step {at}; the last good checkpoint is in "
            f"{runs.checkpoint_dir(workdir, best=False)} "
            "(set --config.skip_nonfinite=True to skip such batches)"
        )
    stopped = {
        StopReason.FINISHED: None,
        StopReason.EARLY_STOP: f"early stop at step {outcome.step}",
        StopReason.PREEMPTED: f"SIGTERM: checkpoint saved at step {outcome.step}",
    }
    results = {"workdir": workdir, "step": outcome.step, "skipped_nonfinite": outcome.skipped,
               "stopped": stopped[outcome.reason], "wall_time_s": round(wall_s, 1),
               "summary": task.summary}  # fmt: skip
    if setup.meta["init"] is not None:
        results["init"] = setup.meta["init"]
    if outcome.reason is StopReason.PREEMPTED:
        setup.ckpt.close()
        results["preempted"] = True
        print(results["stopped"], flush=True)
        return results
    best = setup.ckpt.restore(setup.state, setup.meta, best=True)
    params = eval_params(best[0] if best is not None else setup.state)
    results["best_step"] = setup.meta["best_step"]
    if outcome.last_eval is not None and outcome.last_eval[0] == results["best_step"]:
        results["dev"] = outcome.last_eval[1]  # just evaluated: no second pass over dev
    else:
        results["dev"] = evaluate(task, params, setup.dev, setup.eval_fn)
    if task.test is not None:
        results["test"] = evaluate(task, params, [setup.put(b) for b in task.test], setup.eval_fn)
    setup.ckpt.close()
    results.update(task.extras(params))
    runs.write_results(workdir, results)
    if jax.process_index() == 0:
        metrics_io.plot_curves(workdir, config.metric)
    print(f"{workdir}: best dev {config.metric} {results['dev'][config.metric]:.4f} at step "
          f"{results['best_step']} ({results['wall_time_s']} s)", flush=True)  # fmt: skip
    return results


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "count")


def format_results(results: dict) -> str:
    """A readable summary: dev metrics and each task's extras, per run."""
    runs = results if "dev" not in results and "preempted" not in results else {"": results}
    lines = []
    for name, r in runs.items():
        if r.get("preempted"):
            lines.append(f"{name or r['workdir']}: preempted at step {r['step']}; rerun to resume")
            continue
        dev = r["dev"]
        head = f"{name + ': ' if name else ''}dev loss {dev['loss']:.4f}"
        head += f", accuracy {dev['accuracy']:.4f}, perplexity {dev['perplexity']:.2f}"
        lines.append(f"{head} (best step {r['best_step']}, {r['wall_time_s']} s)")
        lines += tasks.REGISTRY[r["summary"]["task"]].format_extras(r)
    return "\n".join(lines)
