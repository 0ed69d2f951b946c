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
one model per cell (in <workdir>/<cell>) and returns them side by side.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import threading
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from rnnlab import checkpoint, losses, metrics_io, sharding, tasks, transfer


class NonFiniteLossError(RuntimeError):
    """Raised when a training loss is NaN/inf and `skip_nonfinite` is off."""


def enable_compilation_cache(directory: str) -> None:
    """Persist compiled steps on disk: a rerun (a resume, a test) skips recompilation.
    Call before the first jit compilation."""
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


# --------------------------------------------------------------------------- optimizer


def make_optimizer(config, steps_per_epoch: int, pretrained=None) -> optax.GradientTransformation:
    """Adam or SGD with Zaremba's step decay: the first `decay_after_epochs` epochs at
    the full learning rate, then x `lr_decay` at the start of every later epoch
    (lr_decay 1: constant); global-norm clipping first. `pretrained` (a bool mask over
    the params, from init_from) adds the freeze / discriminative-lr scale."""

    def lr(count):
        decays = jnp.maximum(count // steps_per_epoch - config.decay_after_epochs + 1, 0)
        return config.learning_rate * jnp.float32(config.lr_decay) ** decays

    if config.optimizer == "sgd":
        opt = optax.sgd(lr)
    else:  # a constant rate keeps the optimizer state (and so the checkpoints) of before
        opt = optax.adam(config.learning_rate if config.lr_decay == 1.0 else lr)
    parts = [optax.clip_by_global_norm(config.clip_norm)] if config.clip_norm > 0 else []
    parts.append(opt)
    if pretrained is not None:
        parts.append(
            transfer.scale_pretrained(pretrained, config.freeze_steps, config.pretrained_lr_scale)
        )
    return optax.chain(*parts) if len(parts) > 1 else opt


# --------------------------------------------------------------------------- steps


def train_step(state, batch, *, forward, optimizer, steps_per_epoch, loss_normalizer):
    """One update. A non-finite loss or gradient leaves the state as it was (the host
    decides whether that stops the run); metrics["finite"] says which happened."""
    key = jax.random.fold_in(state["rng"], state["step"])
    carry = state.get("carry")
    if carry is not None:  # a new epoch starts the stream from the zero state
        new_epoch = state["step"] % steps_per_epoch == 0
        carry = jax.tree.map(lambda c: jnp.where(new_epoch, jnp.zeros_like(c), c), carry)

    def loss_fn(params):
        stats, carry_out = forward(params, batch, carry, True, key)
        aux = stats.get("aux_loss", 0.0)  # an auxiliary objective (tasks.make_forward)
        if loss_normalizer == "rows":  # Zaremba: sum over time, mean over rows
            rows = jnp.maximum(jnp.sum(jnp.any(batch["mask_BxT"], -1)), 1)
            return stats["loss_sum"] / rows + aux, (stats, carry_out)
        return stats["loss"] + aux, (stats, carry_out)

    grads_fn = jax.value_and_grad(loss_fn, has_aux=True)
    (_, (stats, carry_out)), grads = grads_fn(state["params"])
    updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
    grad_norm = optax.tree.norm(grads)
    # The update too: a NaN learning rate or optimizer state must not reach the params.
    finite = jnp.isfinite(stats["loss"]) & jnp.isfinite(optax.tree.norm(updates))
    new = {
        "params": optax.apply_updates(state["params"], updates),
        "opt_state": opt_state,
        "rng": state["rng"],
    }
    if carry is not None:
        new["carry"] = jax.lax.stop_gradient(carry_out)
    keep = {k: state[k] for k in new}
    new = jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, keep)
    new["step"] = state["step"] + 1
    metrics = {"loss": stats["loss"], "accuracy": stats["correct"] / jnp.maximum(stats["count"], 1)}
    if "aux_loss" in stats:
        metrics["aux_loss"] = stats["aux_loss"]
    return new, {**metrics, "grad_norm": grad_norm, "finite": finite}


def eval_step(params, batch, carry, *, forward):
    stats, carry = forward(params, batch, carry, False, None)
    return {k: stats[k] for k in ("loss_sum", "correct", "count")}, carry


def evaluate(eval_fn, params, batches, stream: bool, zero_carry) -> dict[str, float]:
    """Loss per real token/sentence over a whole split (streams carry state across)."""
    totals = {"loss_sum": 0.0, "correct": 0.0, "count": 0.0}
    carry = zero_carry(batches[0]) if stream else None
    for batch in batches:
        stats, carry = eval_fn(params, batch, carry if stream else None)
        for k in totals:
            totals[k] += float(stats[k])
    return losses.summarize(totals)


# --------------------------------------------------------------------------- the loop


class _StopSignal:
    """SIGTERM (preemption) sets a flag; the loop checkpoints and returns at the next step."""

    def __init__(self):
        self.received = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = True

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
    cell_names = [c.strip() for c in str(config.model.cell).split(",")]
    if len(cell_names) > 1:
        tasks.validate(config)
        results = {}
        for name in cell_names:
            sub = config.copy_and_resolve_references()
            sub.model.cell = name
            results[name] = train_and_evaluate(sub, os.path.join(workdir, name), on_step=on_step)
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        return results
    os.makedirs(workdir, exist_ok=True)
    task = tasks.build(config)
    return _train(config, workdir, task, on_step)


def _train(config, workdir: str, task: tasks.Task, on_step) -> dict:
    start_time = time.perf_counter()
    total_steps = num_steps(config, task.steps_per_epoch)
    # Every batch is this process's rows of a global batch, split over the mesh.
    mesh = sharding.make_mesh(config.mesh_shape or None)
    put = functools.partial(sharding.global_batch, mesh=mesh)
    eval_fn = jax.jit(functools.partial(eval_step, forward=task.forward))

    def zero_carry(batch):
        return task.model.apply(
            {"params": state["params"]},
            batch["inputs_BxT"].shape[0],
            method=lambda m, b: m.initial_carry(b),
        )

    data_iter = iter(task.train.to_iter_dataset())
    first = task.train[0]
    init_key, rng = jax.random.split(jax.random.PRNGKey(config.seed))
    params = tasks.init_params(task, init_key, first)
    ckpt = checkpoint.Checkpointer(workdir, config.keep_checkpoints)
    pretrained, init_report = None, None
    if config.init_from:
        pretrained = transfer.pretrained_mask(params)
        if ckpt.latest.latest_step() is None:  # a resumed run keeps its own parameters
            words = task.vocabs["words"]
            params, init_report = transfer.init_from_lm(config.init_from, params, words)
    optimizer = make_optimizer(config, task.steps_per_epoch, pretrained)
    state = {
        "params": params,
        "opt_state": optimizer.init(params),
        "step": jnp.array(0, jnp.int32),
        "rng": rng,
    }
    if task.stream:
        # Distinct buffers per leaf: the state is donated to the step.
        state["carry"] = jax.tree.map(jnp.copy, zero_carry(put(first)))
    state_sharding = sharding.state_shardings(state, mesh, config.fsdp_min_size)
    state = jax.device_put(state, state_sharding)
    step_fn = jax.jit(
        functools.partial(
            train_step,
            forward=task.forward,
            optimizer=optimizer,
            steps_per_epoch=task.steps_per_epoch,
            loss_normalizer=config.loss_normalizer,
        ),
        in_shardings=(state_sharding, sharding.batch_sharding(mesh)),
        out_shardings=(state_sharding, None),
        donate_argnums=0,
    )
    dev_batches = [put(b) for b in task.dev]
    test_batches = None if task.test is None else [put(b) for b in task.test]
    vocab_meta = {k: list(v.tokens) for k, v in task.vocabs.items()}
    meta = {"config": config.to_dict(), "vocabs": vocab_meta, "best": None, "best_step": None,
            "stale_evals": 0, "summary": task.summary, "init": init_report}  # fmt: skip
    restored = ckpt.restore(state)
    if restored is not None:
        state, data_state, saved_meta = restored
        data_iter.set_state(data_state)
        meta.update({k: saved_meta[k] for k in ("best", "best_step", "stale_evals")})
        meta["init"] = saved_meta.get("init")
        print(f"resumed from {workdir} at step {int(state['step'])}", flush=True)
    metric = config.metric
    step = int(state["step"])
    writer = metrics_io.MetricsWriter(workdir, resume_step=step if restored is not None else None)
    progress = metrics_io.Progress(total_steps, step, config.log_every, os.path.basename(workdir))
    stopped, skipped, pending, window, last = None, 0, [], [], {}
    last_eval = (None, None)  # (step, dev metrics) of this process's latest evaluation

    def save(best=False):
        ckpt.save(state, data_iter.get_state(), meta, best=best)

    def drain() -> bool:
        """Reads the metrics of the steps still on the device in one transfer (no
        per-step host sync: the host prepares the next batch while the device works).
        Returns False, setting `stopped`, at the first non-finite step. Such a step left
        the state as it was, so a state saved after a drain that passed is good."""
        nonlocal stopped, skipped
        drained = jax.device_get([m for _, m in pending])
        for (at, _), m in zip(pending, drained, strict=True):
            if not m["finite"]:
                if not config.skip_nonfinite:
                    stopped = f"non-finite loss {float(m['loss'])} at step {at}"
                    return False
                skipped += 1
            window.append(float(m["loss"]))
            last.update({k: float(v) for k, v in m.items()})
        pending.clear()
        return True

    with _StopSignal() as stop:
        while step < total_steps:
            batch = next(data_iter)
            state, metrics = step_fn(state, put(batch))
            step += 1
            pending.append((step, metrics))
            real_tokens = int(batch["mask_BxT"].sum()) * jax.process_count()
            log = step % config.log_every == 0 or step == total_steps
            evaluate_now = step % config.eval_every == 0 or step == total_steps
            save_now = step % config.checkpoint_every == 0 or step == total_steps
            if (log or evaluate_now or save_now or stop.received) and not drain():
                break
            logged = None
            if log:  # the loss averaged over the steps since the last line (less noise)
                logged = {**last, "loss": sum(window) / len(window)}
                window.clear()
            progress.update(step, real_tokens, logged)
            if log:
                writer.write(step, "train", logged)
            if evaluate_now:
                dev = evaluate(eval_fn, state["params"], dev_batches, task.stream, zero_carry)
                last_eval = (step, dict(dev))
                dev.update(_pair_metrics(config, task, state["params"]))
                writer.write(step, "dev", dev)
                progress.write(f"{progress.desc} step {step}: dev " + _fmt(dev))
                if _better(metric, dev[metric], meta["best"]):
                    meta.update(best=dev[metric], best_step=step, stale_evals=0)
                    save(best=True)
                else:
                    meta["stale_evals"] += 1
                if config.early_stop_evals and meta["stale_evals"] >= config.early_stop_evals:
                    stopped = f"early stop at step {step}"
            if save_now:
                save()
            if on_step is not None:
                on_step(step)
            if stop.received:
                if not drain():
                    break
                save()
                stopped = f"SIGTERM: checkpoint saved at step {step}"
                break
            if stopped:
                save()
                break
    progress.close()
    writer.close()
    if stopped and stopped.startswith("non-finite"):
        ckpt.close()
        raise NonFiniteLossError(
            f"{stopped}; the last good checkpoint is in {workdir}/checkpoints "
            "(set --config.skip_nonfinite=True to skip such batches)"
        )
    results = {"workdir": workdir, "step": step, "skipped_nonfinite": skipped,
               "stopped": stopped, "wall_time_s": round(time.perf_counter() - start_time, 1),
               "summary": task.summary}  # fmt: skip
    if meta["init"] is not None:
        results["init"] = meta["init"]
    if stopped and stopped.startswith("SIGTERM"):
        ckpt.close()
        results["preempted"] = True
        print(stopped, flush=True)
        return results
    best = ckpt.restore(state, best=True)
    best_params = best[0]["params"] if best is not None else state["params"]
    results["best_step"] = meta["best_step"]
    if last_eval[0] is not None and last_eval[0] == meta["best_step"]:  # just evaluated
        results["dev"] = last_eval[1]
    else:
        results["dev"] = evaluate(eval_fn, best_params, dev_batches, task.stream, zero_carry)
    if test_batches is not None:
        results["test"] = evaluate(eval_fn, best_params, test_batches, task.stream, zero_carry)
    ckpt.close()
    results.update(_extras(config, task, best_params))
    if jax.process_index() == 0:  # one writer per workdir in multi-process runs
        with open(os.path.join(workdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        metrics_io.plot_curves(workdir, metric)
    print(f"{workdir}: best dev {metric} {results['dev'][metric]:.4f} at step "
          f"{results['best_step']} ({results['wall_time_s']} s)", flush=True)  # fmt: skip
    return results


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if k != "count")


def _pair_metrics(config, task: tasks.Task, params) -> dict[str, float]:
    """Minimal-pair accuracy by distance as dev metrics ("pairs_d8"), to see when
    (and whether) each cell learns the long dependencies during training."""
    if config.minimal_pairs.per_distance <= 0:
        return {}
    from rnnlab import agreement

    accuracy = agreement.minimal_pair_accuracy(
        task.model, params, task.vocabs["words"], config.minimal_pairs, stream=task.stream
    )
    return {f"pairs_d{d}": acc for d, acc in accuracy.items()}


def _extras(config, task: tasks.Task, params) -> dict:
    """Task-specific evaluations of the selected model (minimal pairs, samples)."""
    out = {}
    if config.minimal_pairs.per_distance > 0:
        from rnnlab import agreement

        out["minimal_pairs"] = agreement.minimal_pair_accuracy(
            task.model, params, task.vocabs["words"], config.minimal_pairs, stream=task.stream
        )
    if task.kind == "tagging":
        from rnnlab import tagging

        tags = task.vocabs["tags"]
        if tagging.is_iob(tags.tokens[1:]):  # [0] is padding
            gold, pred = tagging.predict_tags(task.model, params, task.dev, tags)
            out["entities"] = tagging.entity_scores(gold, pred)
    if config.sample.num > 0:
        from rnnlab import generate

        chars = task.kind == "chars"
        vocab = task.vocabs["words"]
        out["samples"] = generate.sample_text(task.model, params, vocab, config.sample, chars=chars)
    return out


def format_results(results: dict) -> str:
    """A readable summary: dev metrics (and minimal-pair accuracy by distance) per run."""
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
        if "minimal_pairs" in r:
            pairs = r["minimal_pairs"]
            lines.append("  minimal-pair accuracy by distance: "
                         + "  ".join(f"{d}: {acc:.3f}" for d, acc in pairs.items()))  # fmt: skip
        if "entities" in r:
            e = r["entities"]
            lines.append(f"  entities: F1 {e['f1']:.4f} (precision {e['precision']:.4f}, "
                         f"recall {e['recall']:.4f}, {e['support']} gold)")  # fmt: skip
        for text in r.get("samples", []):
            lines.append("  sample: " + text.replace("\n", "\n          "))
    return "\n".join(lines)
