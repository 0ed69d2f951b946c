"""A run's folder: the only code that knows its layout, and `load`, which reads a run back.

    <workdir>/config.json         the config of the latest start (JSON of the ConfigDict)
    <workdir>/vocab.<name>.json   its vocabularies (`Vocab.save`): words, tags, chars
    <workdir>/table.<name>.json   what else its inference needs from the train data
                                  (`Task.inference_tables`: a lemmatizer's dictionary)
    <workdir>/checkpoints/<step>  the latest checkpoints (resume): train state, data
                                  iterator state, meta (model spec, task, best so far)
    <workdir>/best/<step>         the checkpoint with the best dev metric
    <workdir>/results.json        what training returned (+ metrics.jsonl, tb/, curves.png
                                  from rnnlab.metrics_io)

    run = runs.load(workdir)       # Run(task, model, params, vocabs, config, step)
    logits = run.model.apply({"params": run.params}, ...)

The model is rebuilt from the spec its checkpoint stores (`models.build`), so nothing is
guessed from parameter names. Runs written before this layout (config and vocabularies
inside the checkpoint's meta, Flax auto-names) still load: see `_load_old_layout`.

A workdir is a local path or any URL `etils.epath` opens (`gs://bucket/run`): every read
and write goes through `epath.Path`, never `open()`/`os`, so a pod resumes from its bucket.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import ml_collections
from etils import epath

from rnnlab import checkpoint, models
from rnnlab import config as config_lib
from rnnlab.data.vocab import Vocab

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
_VOCAB_FILE = "vocab.{}.json"
_TABLE_FILE = "table.{}.json"


@dataclasses.dataclass(frozen=True)
class Run:
    workdir: str
    task: str  # the registry name of its task (rnnlab.tasks)
    model: nn.Module
    params: Any
    vocabs: dict[str, Vocab]
    config: ml_collections.ConfigDict
    step: int
    tables: dict[str, Any] = dataclasses.field(default_factory=dict)


def checkpoint_dir(workdir: str, *, best: bool) -> str:
    return str(epath.Path(workdir) / ("best" if best else "checkpoints"))


def checkpointer(workdir: str, max_to_keep: int) -> checkpoint.Checkpointer:
    return checkpoint.Checkpointer(
        checkpoint_dir(workdir, best=False), checkpoint_dir(workdir, best=True), max_to_keep
    )


def has_checkpoint(workdir: str, *, best: bool = True) -> bool:
    """Whether `workdir` holds a checkpoint (usable or not: `load` says which)."""
    return bool(checkpoint.steps(checkpoint_dir(workdir, best=best)))


def find(root: str) -> list[str]:
    """`root` if it is a run, else the runs directly inside it (a multi-cell run's)."""
    if has_checkpoint(root):
        return [root]
    if not epath.Path(root).is_dir():
        return []
    return sorted(str(d) for d in epath.Path(root).iterdir() if has_checkpoint(str(d)))


def check_workdir(workdir: str) -> None:
    """OSError unless the workdir's storage can be used: a URL must be gs:// (the only
    bucket orbax checkpoints to) with its clients installed. Checked before any data is
    read; a missing client would otherwise stop the run at its first checkpoint."""
    if "://" in workdir and not workdir.startswith("gs://"):
        raise OSError(f"{workdir}: a workdir is a local path or a gs:// URL")
    try:
        epath.Path(workdir).exists()  # epath's gs:// backend: gcsfs
        if workdir.startswith("gs://"):
            importlib.import_module("google.cloud.storage")  # orbax asks the bucket's layout
    except ImportError as e:
        raise OSError(f"{workdir}: {e}; a gs:// workdir needs "
                      "`pip install gcsfs google-cloud-storage`") from None  # fmt: skip


def start(workdir: str, config, vocabs: dict[str, Vocab], tables=None) -> None:
    """Writes the config, vocabularies and inference tables (JSON-able) of a run that
    starts (or resumes) training."""
    if jax.process_index() != 0:  # one writer per workdir in multi-process runs
        return
    folder = epath.Path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(config.to_json(indent=1))
    for name, vocab in vocabs.items():
        vocab.save(folder / _VOCAB_FILE.format(name))
    for name, table in (tables or {}).items():
        (folder / _TABLE_FILE.format(name)).write_text(json.dumps(table))


def write_results(workdir: str, results: dict) -> None:
    if jax.process_index() == 0:
        (epath.Path(workdir) / RESULTS_FILE).write_text(json.dumps(results, indent=1))


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The run's saved config; fields added since it ran at their defaults (rnnlab.config)."""
    return config_lib.complete(json.loads((epath.Path(workdir) / CONFIG_FILE).read_text()))


def load_vocabs(workdir: str) -> dict[str, Vocab]:
    """The vocabularies of the run in `workdir` (the words with the run's lowercasing)."""
    folder = epath.Path(workdir)
    files = sorted(f.name for f in folder.iterdir()) if folder.is_dir() else []
    names = [f for f in files if f.startswith("vocab.")]
    if names:
        return {f.split(".")[1]: Vocab.load(folder / f) for f in names}
    meta = _read(workdir, True, checkpoint.load_meta)
    if "vocabs" not in meta:
        raise FileNotFoundError(f"{workdir} holds no vocabularies")
    return _old_vocabs(meta)


def load(workdir: str, *, best: bool = True) -> Run:
    """The model of a run's best (or latest) usable checkpoint, ready to apply.
    FileNotFoundError: no checkpoint; checkpoint.CheckpointError: none restores."""
    step, meta, params = _read(workdir, best, checkpoint.load)
    if "model" not in meta:
        return _load_old_layout(workdir, meta, params, step)
    return Run(workdir, meta["task"], models.build(meta["model"]), params,
               load_vocabs(workdir), load_config(workdir), step, load_tables(workdir))  # fmt: skip


def load_tables(workdir: str) -> dict[str, Any]:
    """The inference tables of the run in `workdir` ({} for runs that wrote none)."""
    folder = epath.Path(workdir)
    names = sorted(f.name for f in folder.glob(_TABLE_FILE.format("*")))
    return {name.split(".")[1]: json.loads((folder / name).read_text()) for name in names}


def _read(workdir: str, best: bool, read: Callable[[str], Any]) -> Any:
    """read(directory) of a run's best (or latest) checkpoints, which must exist."""
    directory = checkpoint_dir(workdir, best=best)
    found = read(directory) if epath.Path(directory).is_dir() else None
    if found is None:
        raise FileNotFoundError(f"no checkpoint in {directory} (is it a training workdir?)")
    return found


# ----------------------------------------------------------------------------- old layout
# Runs written before rnnlab.runs: config and vocabularies in the checkpoint's meta, no
# model spec, Flax auto-names for the Classifier's and Tagger's parts, and a GRU/Elman
# LM's label_to_carry twice as wide as it is used. tests/fixtures/old_layout has one of
# each kind; these functions turn them into what today's code writes.

_OLD_NAMES = {"Embed_0": "embed", "Recurrent_0": "rnn", "CharWordEncoder_0": "chars"}


def _old_vocabs(meta: dict) -> dict[str, Vocab]:
    lowercase = bool(meta["config"].get("lowercase", False))
    return {k: Vocab(tuple(v), lowercase and k == "words") for k, v in meta["vocabs"].items()}


def _renamed(tree: dict, head: str) -> dict:
    out = {}
    for name, sub in tree.items():
        new = head if name == "Dense_0" else _OLD_NAMES.get(name, name)
        out[new] = _renamed(sub, head) if name == "CharWordEncoder_0" else sub
    return out


def _load_old_layout(workdir: str, meta: dict, params, step: int) -> Run:
    from rnnlab.data import datasets

    config = config_lib.complete(meta["config"])
    task = config.get("task") or datasets.task_of(config.dataset)
    vocabs = _old_vocabs(meta)
    m = config.model
    sizes = {k: m[k] for k in ("embed_dim", "hidden_size", "cell", "num_layers", "dropout")}
    levers = {k: m[k] for k in ("unroll", "remat_chunk", "compute_dtype") if k in m}
    V = len(vocabs["words"])
    if task == "classification":
        params = _renamed(params, head="classify")
        spec = {"model": "Classifier", "vocab_size": V,
                "num_classes": params["classify"]["bias"].shape[0], **sizes,
                "bidirectional": m.bidirectional, "pooling": m.pooling,
                "aux_lm": "lm_out" in params}  # fmt: skip
    elif task == "tagging":
        params = _renamed(params, head="out")
        spec = {"model": "Tagger", "vocab_size": V, "num_tags": len(vocabs["tags"]), **sizes,
                "num_chars": len(vocabs.get("chars", ())), "char_embed_dim": m.char_embed_dim,
                "char_hidden_size": m.char_hidden_size,
                "word_dropout": m.get("word_dropout", 0.0),
                "unk_id": vocabs["words"].unk_id}  # fmt: skip
    else:
        num_classes = params["label_embed"]["embedding"].shape[0] if "label_embed" in params else 0
        spec = {"model": "LanguageModel", "vocab_size": V, **sizes,
                "tie_weights": m.tie_weights, "num_classes": num_classes}  # fmt: skip
    model = models.build({**spec, "levers": levers})
    if "label_to_carry" in params:  # only the first leaves x layers x H columns were read
        width = len(jax.tree.leaves(model.apply({}, 1, method="initial_carry"))) * m.hidden_size
        params["label_to_carry"] = jax.tree.map(lambda x: x[..., :width], params["label_to_carry"])
    return Run(workdir, task, model, params, vocabs, config, step)
