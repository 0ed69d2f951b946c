"""From a config to data + model + loss: one `Task` per kind of experiment.

    classification  sentence batches -> Classifier, one loss per sentence
    tagging         sentence batches (+ characters) -> Tagger, one loss per real token
    lm              sentence batches (course lm-minibatch) or a truncated-BPTT stream
                    (Zaremba; the carry flows from batch to batch) -> LanguageModel
    chars           a character stream -> LanguageModel over characters

`Task.forward(params, batch, carry, train, key)` returns the masked loss statistics of
`rnnlab.losses` and the LM's final carry (None for the others).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import cells, losses, models
from rnnlab.data import datasets, pipeline
from rnnlab.data.batching import BatchSpec
from rnnlab.data.vocab import BOS, EOS, PAD, UNK, Vocab

LM_MODES = ("sentences", "stream")


@dataclasses.dataclass
class Task:
    kind: str
    model: nn.Module
    vocabs: dict[str, Vocab]
    train: grain.MapDataset  # infinite: batch i is a pure function of i
    steps_per_epoch: int
    dev: list[dict[str, np.ndarray]]
    test: list[dict[str, np.ndarray]] | None
    stream: bool
    forward: Callable = dataclasses.field(repr=False, default=None)
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)


class ConfigError(ValueError):
    """A bad config value (raised before any data is read or any step is run)."""


def validate(config) -> None:
    """All config errors in one message, before any data is read."""
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
    if config.task not in ("", "lm", *datasets.TASKS):
        errors.append(f"task must be '' (the data set's own) or one of {datasets.TASKS}")
    try:
        kind = config.task or datasets.task_of(config.dataset)
    except ValueError as e:
        errors.append(str(e))
    else:
        names = [datasets.parse_spec(part)[0] for part in datasets.spec_parts(config.dataset)]
        local = [name for name in names if name in datasets.LOCAL_FORMATS]
        if local and config.data_dir is None:
            source = config.source_dir
            if not source or not os.path.isdir(source):
                errors.append(
                    f"dataset {local[0]!r} reads local files, but source_dir {source!r} is not "
                    "a directory (set --config.source_dir=/path/to/shared/data)"
                )
        if m.word_dropout and kind != "tagging":
            errors.append(f"model.word_dropout is a tagger option; this config's task is {kind!r}")
        if m.aux_lm_weight and (kind != "classification" or m.bidirectional):
            errors.append("model.aux_lm_weight is for a unidirectional classifier (a "
                          "backward state has read the next word)")  # fmt: skip
        if config.vocab_from and kind == "chars":
            errors.append("vocab_from shares a word vocabulary; character data has its own")
        if kind == "chars" and config.lm_mode != "stream":
            errors.append("character data is a stream: set lm_mode='stream'")
        errors += _transfer_errors(config, kind)
    if errors:
        raise ConfigError("bad config:\n  " + "\n  ".join(errors))


def _transfer_errors(config, kind: str) -> list[str]:
    """init_from / freeze_steps / pretrained_lr_scale (see rnnlab.transfer)."""
    errors = []
    if config.init_from:  # read at the first start only: a resumed run needs no LM
        if kind != "classification":
            errors.append(f"init_from initialises a classifier; this config's task is {kind!r}")
    elif config.freeze_steps or config.pretrained_lr_scale != 1.0:
        errors.append("freeze_steps and pretrained_lr_scale act on init_from's parameters: set it")
    if not isinstance(config.freeze_steps, int) or config.freeze_steps < 0:
        errors.append(f"freeze_steps must be an int >= 0, got {config.freeze_steps!r}")
    if not config.pretrained_lr_scale >= 0.0:
        errors.append(f"pretrained_lr_scale must be >= 0, got {config.pretrained_lr_scale!r}")
    return errors


def _load(config, split: str, spec: str = ""):
    return datasets.load_dataset(
        spec or config.dataset,
        split,
        source_dir=config.source_dir or None,
        data_dir=config.data_dir,
        seed=config.seed,
        synthetic_options=config.synthetic.to_dict(),
    )


def _spec(config, batch_size: int, shuffle: bool) -> BatchSpec:
    return BatchSpec(
        batch_size=batch_size,
        bucketing=config.bucketing,
        pad_multiple=config.pad_multiple,
        shuffle=shuffle,
    )


def _sentence_eval(examples, vocabs, config, lm: bool) -> list[dict]:
    ds = pipeline.sentence_batches(
        examples,
        vocabs["words"],
        _spec(config, config.eval_batch_size, shuffle=False),
        seed=0,
        num_epochs=1,
        tag_vocab=vocabs.get("tags"),
        char_vocab=vocabs.get("chars"),
        lm=lm,
        bos=BOS if lm else None,
        eos=EOS if lm else None,
    )
    return list(ds)


def _stream_eval(examples, vocab, config) -> list[dict]:
    stream = pipeline.token_stream(examples, vocab, eos=EOS if "tokens" in examples[0] else None)
    return list(pipeline.lm_stream_dataset(stream, config.eval_batch_size, config.seq_len))


def build(config) -> Task:
    """Reads the data, builds vocabularies (train split only) and the model."""
    validate(config)
    data_kind = datasets.task_of(config.dataset)
    kind = config.task or data_kind
    train = _load(config, "train")
    dev = _load(config, config.dev_split, config.dev_dataset)
    test = _load(config, config.test_split, config.dev_dataset) if config.test_split else None
    max_size = config.vocab_max_size or None
    m = config.model
    if config.vocab_from:
        words = run_vocab(config.vocab_from)
    elif kind == "chars":
        words = Vocab.build_chars([ex["text"] for ex in train], reserved=(PAD, UNK))
    else:
        words = Vocab.build(
            (ex["tokens"] for ex in train),
            min_count=config.vocab_min_count,
            max_size=max_size,
            lowercase=config.lowercase,
        )
    vocabs = {"words": words}
    if kind == "tagging":
        vocabs["tags"] = Vocab.build((ex["tags"] for ex in train), reserved=(PAD,))
        if m.char_hidden_size > 0:
            vocabs["chars"] = Vocab.build_chars(
                (t for ex in train for t in ex["tokens"]), reserved=(PAD, UNK)
            )

    stream = kind == "chars" or (kind == "lm" and config.lm_mode == "stream")
    if stream:
        train_stream = pipeline.token_stream(train, words, eos=None if kind == "chars" else EOS)
        ds = pipeline.lm_stream_dataset(train_stream, config.batch_size, config.seq_len)
        dev_batches = _stream_eval(dev, words, config)
        test_batches = _stream_eval(test, words, config) if test is not None else None
    else:
        ds = pipeline.sentence_batches(
            train,
            words,
            _spec(config, config.batch_size, shuffle=True),
            seed=config.seed,
            num_epochs=1,
            tag_vocab=vocabs.get("tags"),
            char_vocab=vocabs.get("chars"),
            lm=kind == "lm",
        )
        lm = kind == "lm"
        dev_batches = _sentence_eval(dev, vocabs, config, lm)
        test_batches = _sentence_eval(test, vocabs, config, lm) if test is not None else None
    steps_per_epoch = len(ds)
    # A classifier, or an LM over labelled sentences: conditioned on the label.
    labelled = data_kind == "classification" and kind in ("classification", "lm")
    num_classes = max(ex["label"] for ex in train) + 1 if labelled else 0
    model = make_model(config, kind, vocabs, num_classes)
    summary = {"task": kind, "train_examples": len(train), "dev_examples": len(dev)}
    summary.update({f"{k}_vocab": len(v) for k, v in vocabs.items()})
    return Task(
        kind=kind,
        model=model,
        vocabs=vocabs,
        train=ds.repeat(None),
        steps_per_epoch=steps_per_epoch,
        dev=dev_batches,
        test=test_batches,
        stream=stream,
        forward=make_forward(kind, model, config.model.aux_lm_weight),
        summary=summary,
    )


def make_model(config, kind: str, vocabs: dict[str, Vocab], num_classes: int = 0) -> nn.Module:
    m = config.model
    V = len(vocabs["words"])
    # Configs saved before the levers existed simply lack them (defaults then).
    levers = models.Levers(
        **{f.name: m[f.name] for f in dataclasses.fields(models.Levers) if f.name in m}
    )
    if kind == "classification":
        return models.Classifier(
            V, num_classes, m.embed_dim, m.hidden_size, m.cell, m.num_layers, m.bidirectional,
            m.pooling, m.dropout, levers, m.get("aux_lm_weight", 0.0) > 0,
        )  # fmt: skip
    if kind == "tagging":
        return models.Tagger(
            V, len(vocabs["tags"]), m.embed_dim, m.hidden_size, m.cell, m.num_layers, m.dropout,
            len(vocabs.get("chars", ())), m.char_embed_dim, m.char_hidden_size, levers,
            m.get("word_dropout", 0.0), vocabs["words"].unk_id,
        )  # fmt: skip
    return models.LanguageModel(
        V, m.embed_dim, m.hidden_size, m.cell, m.num_layers, m.dropout, m.tie_weights,
        num_classes, levers,
    )  # fmt: skip


def make_forward(kind: str, model: nn.Module, aux_lm_weight: float = 0.0) -> Callable:
    """(params, batch, carry, train, key) -> (loss statistics, final carry or None).

    A classifier with `aux_lm_weight` > 0 adds, in training only, "aux_loss": that weight
    x the next-word cross-entropy of its `lm_out` head over the batch's sentences (the
    step minimises loss + aux_loss; dev metrics stay the classifier's own)."""

    def forward(params, batch, carry, train: bool, key):
        rngs = {"dropout": key} if train else {}
        variables = {"params": params}
        if kind == "classification":
            tokens_BxT, mask_BxT = batch["tokens_BxT"], batch["mask_BxT"]
            with_lm = train and aux_lm_weight > 0
            outputs = model.apply(
                variables, tokens_BxT, mask_BxT, train=train, rngs=rngs, with_lm=with_lm
            )
            real_B = jnp.any(mask_BxT, axis=-1)
            stats = losses.sequence_cross_entropy(outputs[0], batch["labels_B"], real_B)
            if with_lm:  # the state at t predicts the word at t + 1
                lm = losses.token_cross_entropy(
                    outputs[2][:, :-1], tokens_BxT[:, 1:], mask_BxT[:, 1:]
                )
                stats["aux_loss"] = aux_lm_weight * lm["loss"]
            return stats, None
        if kind == "tagging":
            logits_BxTxK = model.apply(
                variables,
                batch["tokens_BxT"],
                batch["mask_BxT"],
                batch.get("chars_BxTxW"),
                train=train,
                rngs=rngs,
            )
            stats = losses.token_cross_entropy(logits_BxTxK, batch["tags_BxT"], batch["mask_BxT"])
            return stats, None
        logits_BxTxV, carry = model.apply(
            variables,
            batch["inputs_BxT"],
            batch["mask_BxT"],
            carry,
            batch.get("labels_B"),
            train=train,
            rngs=rngs,
        )
        stats = losses.token_cross_entropy(logits_BxTxV, batch["targets_BxT"], batch["mask_BxT"])
        return stats, carry

    return forward


def init_params(task: Task, key: jax.Array, batch: dict[str, np.ndarray]):
    """Parameters from one example batch (shapes only matter)."""
    if task.kind in ("lm", "chars"):
        args = (batch["inputs_BxT"], batch["mask_BxT"], None, batch.get("labels_B"))
    elif task.kind == "tagging":
        args = (batch["tokens_BxT"], batch["mask_BxT"], batch.get("chars_BxTxW"))
    else:
        args = (batch["tokens_BxT"], batch["mask_BxT"])
    return task.model.init(key, *args)["params"]


def saved_vocabs(meta: dict) -> dict[str, Vocab]:
    """The vocabularies of a checkpoint's metadata, with the run's lowercasing of words
    (so that "The" finds "the" in a lowercased run's vocabulary, as in training)."""
    lowercase = bool(meta["config"].get("lowercase", False))
    return {k: Vocab(tuple(v), lowercase and k == "words") for k, v in meta["vocabs"].items()}


def run_vocab(workdir: str) -> Vocab:
    """The word vocabulary of the run in `workdir` (its best checkpoint's)."""
    from rnnlab import checkpoint

    meta = checkpoint.load_meta(workdir, best=True) if os.path.isdir(workdir) else None
    if meta is None:
        raise ConfigError(
            f"vocab_from {workdir!r}: no checkpoint in {os.path.join(workdir, 'best')}"
        )
    return saved_vocabs(meta)["words"]


def load_model(workdir: str, *, best: bool = True):
    """(model, params, vocabs, config) of a finished run, from its checkpoint alone."""
    import ml_collections

    from rnnlab import checkpoint

    meta = checkpoint.load_meta(workdir, best=best)
    if meta is None:
        raise FileNotFoundError(f"no checkpoint under {workdir}")
    config = ml_collections.ConfigDict(meta["config"])
    vocabs = saved_vocabs(meta)
    params = checkpoint.load_params(workdir, best=best)
    kind = config.get("task") or datasets.task_of(config.dataset)
    if kind == "classification":
        num_classes = params["Dense_0"]["bias"].shape[0]
    else:
        num_classes = params["label_embed"]["embedding"].shape[0] if "label_embed" in params else 0
    return make_model(config, kind, vocabs, num_classes), params, vocabs, config
