"""Tasks as plug-ins: one module per kind of experiment behind `base.Task`, and a registry.

    task = tasks.build(config)     validated config -> data, vocabularies, model
    tasks.kind_of(config)          which task a config trains ("" = the data set's own)

Adding a task: a module with a `base.Task` subclass, and one line in `REGISTRY`
(WORKSPACE.md, "Adding a task").
"""

from __future__ import annotations

from rnnlab import cells, models
from rnnlab.data import datasets
from rnnlab.tasks import base, classification, lm, parsing, seq2seq, tagging
from rnnlab.tasks.base import ConfigError, Task

REGISTRY: dict[str, type[Task]] = {
    "classification": classification.Classification,
    "tagging": tagging.Tagging,
    "lm": lm.LanguageModelling,
    "chars": lm.CharacterLM,
    "seq2seq": seq2seq.Seq2Seq,
    "parsing": parsing.Parsing,
}
LM_MODES = ("sentences", "stream")

__all__ = ["REGISTRY", "ConfigError", "Task", "build", "kind_of", "validate"]


def kind_of(config) -> str:
    """The task a config trains: `config.task`, or else its data set's own."""
    return config.task or datasets.task_of(config.dataset)


def build(config) -> Task:
    """Validates the config, then reads the data and builds vocabularies and model."""
    validate(config)
    return REGISTRY[kind_of(config)](config)


def validate(config) -> None:
    """All config errors in one message, before any data is read."""
    errors = _common_errors(config)
    if config.task not in ("", *REGISTRY):
        errors.append(f"task must be '' (the data set's own) or one of {tuple(REGISTRY)}")
    try:
        kind = kind_of(config)
    except ValueError as e:
        errors.append(str(e))
    else:
        if (error := base.source_dir_error(config)) is not None:
            errors.append(error)
        for name, task in REGISTRY.items():
            for path, what in task.OPTIONS.items():
                if name != kind and _get(config, path):
                    errors.append(f"{path} {what}; this config's task is {kind!r}")
        aux_lm = kind == "classification" and config.model.aux_lm_weight > 0
        if config.model.sampled_softmax and kind not in ("lm", "chars", "seq2seq") and not aux_lm:
            errors.append(f"model.sampled_softmax is for LMs, seq2seq and a classifier's "
                          f"auxiliary LM loss (model.aux_lm_weight); this config's task is "
                          f"{kind!r}")  # fmt: skip
        errors += REGISTRY[kind].config_errors(config)
    if errors:
        raise ConfigError("bad config:\n  " + "\n  ".join(errors))


def _get(config, path: str):
    for part in path.split("."):
        config = config[part]
    return config


def _common_errors(config) -> list[str]:
    errors = []
    m = config.model
    for field in ("embed_dim", "hidden_size", "num_layers"):
        if not isinstance(m[field], int) or m[field] <= 0:
            errors.append(f"model.{field} must be a positive int, got {m[field]!r}")
    for field in ("batch_size", "eval_batch_size"):
        if not isinstance(config[field], int) or config[field] <= 0:
            errors.append(f"{field} must be a positive int, got {config[field]!r}")
    for name in str(m.cell).split(","):
        if name.strip().lower() not in cells.CELLS:
            errors.append(f"unknown cell {name!r}; expected one of {sorted(cells.CELLS)}")
    if not isinstance(config.max_tokens, int) or config.max_tokens < 0:
        errors.append(f"max_tokens must be an int >= 0, got {config.max_tokens!r}")
    if not isinstance(m.sampled_softmax, int) or m.sampled_softmax < 0:
        errors.append(f"model.sampled_softmax must be an int >= 0, got {m.sampled_softmax!r}")
    if not 0.0 <= m.dropout < 1.0:
        errors.append(f"model.dropout must be in [0, 1), got {m.dropout}")
    if not m.aux_lm_weight >= 0.0:
        errors.append(f"model.aux_lm_weight must be >= 0, got {m.aux_lm_weight!r}")
    if not 0.0 <= m.word_dropout < 1.0:
        errors.append(f"model.word_dropout must be in [0, 1), got {m.word_dropout}")
    if not isinstance(m.unroll, int) or m.unroll < 0:
        errors.append(f"model.unroll must be an int >= 0 (0 = by backend), got {m.unroll!r}")
    if not isinstance(m.remat_chunk, int) or m.remat_chunk < 0:
        errors.append(f"model.remat_chunk must be an int >= 0 (0 = off), got {m.remat_chunk!r}")
    if m.compute_dtype not in models.COMPUTE_DTYPES:
        errors.append(f"model.compute_dtype must be one of {models.COMPUTE_DTYPES}, "
                      f"got {m.compute_dtype!r}")  # fmt: skip
    if config.lm_mode not in LM_MODES:
        errors.append(f"lm_mode must be one of {LM_MODES}, got {config.lm_mode!r}")
    if config.optimizer not in ("adam", "sgd"):
        errors.append(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
    # Transfer (rnnlab.transfer); init_from is read at the first start only.
    if not config.init_from and (config.freeze_steps or config.pretrained_lr_scale != 1.0):
        errors.append("freeze_steps and pretrained_lr_scale act on init_from's parameters: set it")
    if not isinstance(config.freeze_steps, int) or config.freeze_steps < 0:
        errors.append(f"freeze_steps must be an int >= 0, got {config.freeze_steps!r}")
    if not config.pretrained_lr_scale >= 0.0:
        errors.append(f"pretrained_lr_scale must be >= 0, got {config.pretrained_lr_scale!r}")
    return errors
