"""The task interface: everything the train loop needs from one kind of experiment.

A `Task` is built from a config. It owns the data (train batches as an infinite grain
dataset, dev/test batches, vocabularies), the model (built by keyword from
`model_spec()`), the objective, the evaluation sums, any state carried from batch to
batch (LM streams), and the evaluations that run at the end of training. The train
loop calls only the methods below, so it names no kind of task.

A subclass sets `name` and `OPTIONS` and implements `make_vocabs`, `batches`,
`model_spec`, `model_inputs` and `statistics`; everything else has a default.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import losses, models, runs
from rnnlab.data import datasets, pipeline
from rnnlab.data.batching import BatchSpec
from rnnlab.data.vocab import Vocab


class ConfigError(ValueError):
    """A bad config value (raised before any data is read or any step is run)."""


def _check_same_labels(train, other, split: str) -> None:
    """A dev (test) set from another file must number the classes as train does: its label
    ids come from its own train split, so other names would be silently other classes."""
    names, other_names = (getattr(e, "label_names", None) for e in (train, other))
    if names and other_names and names != other_names:
        raise ValueError(
            f"{other.name} ({split}) has the labels {list(other_names)}, but {train.name} "
            f"(train) has {list(names)}: a run's classes are train's"
        )


class Task:
    name: ClassVar[str]
    # Config fields that only this task reads ({"model.word_dropout": "is a tagger
    # option"}): set for another task, they are a config error, not silently ignored.
    OPTIONS: ClassVar[dict[str, str]] = {}
    # Whether its decoding methods take a tuple of several runs' params (an ensemble:
    # rnnlab.load_ensemble, experiments/ensemble.py).
    ENSEMBLES: ClassVar[bool] = False

    def __init__(self, config):
        self.config = config
        train = self.load(config.dataset, "train")
        dev = self.load(config.dev_dataset or config.dataset, config.dev_split)
        test = (
            self.load(config.dev_dataset or config.dataset, config.test_split)
            if config.test_split
            else None
        )
        for split, examples in (("dev", dev), ("test", test)):
            _check_same_labels(train, examples, split)
        self.examples = {"train": train, "dev": dev, "test": test}
        self.vocabs = self.make_vocabs(train)
        train_ds = self.batches(train, train=True)
        self.steps_per_epoch = len(train_ds)
        self.train = train_ds.repeat(None)  # infinite: batch i is a pure function of i
        self.dev = self.batches(dev, train=False)
        self.test = None if test is None else self.batches(test, train=False)
        self.model = models.build(self.model_spec(train))
        self.summary = {"task": self.name, "train_examples": len(train),
                        "dev_examples": len(dev)}  # fmt: skip
        self.summary.update({f"{k}_vocab": len(v) for k, v in self.vocabs.items()})

    @classmethod
    def for_inference(cls, config, vocabs: dict[str, Vocab], model, tables=None) -> Task:
        """The task of a finished run without its data (`runs.load`'s config, vocabularies,
        model and inference tables): enough for the inference helpers (`parse`,
        `generate`, `tag`, ...), which read no examples, so a trained model works where its
        data is absent."""
        task = cls.__new__(cls)
        task.config, task.vocabs, task.model, task.examples = config, vocabs, model, {}
        task.tables = tables or {}
        return task

    def inference_tables(self) -> dict:
        """{name: JSON-able data} from the train data that inference needs beyond the
        vocabularies (the run folder keeps it; `for_inference` gets it back as
        `self.tables`). Empty by default."""
        return {}

    # ------------------------------------------------------------------ config

    @classmethod
    def config_errors(cls, config) -> list[str]:
        """Errors of the options this task reads (the common ones are checked for all)."""
        del config
        return []

    # ------------------------------------------------------------------ data

    @property
    def stream(self) -> bool:
        """True when state is carried from batch to batch (`initial_carry` is not None)."""
        return False

    def load(self, spec: str, split: str):
        c = self.config
        return datasets.load_dataset(spec, split, source_dir=c.source_dir or None,
                                     data_dir=c.data_dir, seed=c.seed,
                                     synthetic_options=c.synthetic.to_dict())  # fmt: skip

    def word_vocab(self, sentences) -> Vocab:
        """The word vocabulary: a finished run's (`vocab_from`) or this train split's."""
        c = self.config
        if c.vocab_from:
            try:
                return runs.load_vocabs(c.vocab_from)["words"]
            except FileNotFoundError as e:
                raise ConfigError(f"vocab_from {c.vocab_from!r}: {e}") from None
        return Vocab.build(sentences, min_count=c.vocab_min_count,
                           max_size=c.vocab_max_size or None, lowercase=c.lowercase)  # fmt: skip

    def batch_spec(self, train: bool) -> BatchSpec:
        c = self.config
        return BatchSpec(batch_size=c.batch_size if train else c.eval_batch_size,
                         bucketing=c.bucketing, pad_multiple=c.pad_multiple,
                         shuffle=train)  # fmt: skip

    def sentence_batches(self, examples, train: bool, **kwargs):
        """Train: a grain dataset of one epoch; eval: a list of batches, in file order."""
        ds = pipeline.sentence_batches(examples, self.vocabs["words"], self.batch_spec(train),
                                       seed=self.config.seed if train else 0, num_epochs=1,
                                       **kwargs)  # fmt: skip
        return ds if train else list(ds)

    def make_vocabs(self, train) -> dict[str, Vocab]:
        raise NotImplementedError

    def batches(self, examples, train: bool):
        """Train: a one-epoch grain MapDataset; eval: a list of batches."""
        raise NotImplementedError

    # ------------------------------------------------------------------ model

    def model_spec(self, train) -> dict:
        """{"model": class name in rnnlab.models, **keyword arguments}."""
        raise NotImplementedError

    def model_inputs(self, batch) -> tuple:
        """The model's positional inputs from a batch (for `init`)."""
        raise NotImplementedError

    def init_params(self, key: jax.Array, batch: dict[str, np.ndarray]):
        """Parameters from one example batch (shapes only matter)."""
        return self.model.init(key, *self.model_inputs(batch))["params"]

    def start_from(self, params) -> tuple[Any, dict | None]:
        """At the first start of a run (not on resume): parameters from elsewhere, and a
        report of what came from where (None: nothing)."""
        return params, None

    def update_transform(self, params):
        """An optax transformation appended to the optimizer chain, or None."""
        del params
        return None

    def initial_carry(self, params, batch):
        """The state carried into the first batch (None: nothing is carried)."""
        del params, batch
        return None

    # ------------------------------------------------------------------ objective

    def statistics(self, params, batch, carry, train: bool, key):
        """(masked loss statistics of rnnlab.losses [+ "aux_loss"], carry out)."""
        raise NotImplementedError

    def token_loss(self, params, features_BxTxF, batch, key) -> dict[str, jax.Array]:
        """Training statistics per target token from the softmax's inputs (a model with
        `output_weights`): with `model.sampled_softmax` = S > 0, a sampled softmax over
        the target and S log-uniform samples (`losses.sampled_token_cross_entropy`: its
        loss is an estimate, its accuracy "target beats the samples"); else the full one.
        Evaluation always takes the full softmax."""
        W_VxF, b_V = self.model.apply({"params": params}, method="output_weights")
        return losses.softmax_cross_entropy(features_BxTxF, W_VxF, b_V, batch["targets_BxT"],
                                            batch["mask_BxT"], key,
                                            self.config.model.sampled_softmax)  # fmt: skip

    def loss(self, params, batch, key, carry=None):
        """(scalar to minimise, (metrics, carry out)): the normaliser and any auxiliary
        term are in the scalar; the metrics are the task's own loss and accuracy."""
        stats, carry = self.statistics(params, batch, carry, True, key)
        if self.config.loss_normalizer == "rows":  # Zaremba: sum over time, mean over rows
            rows = jnp.maximum(jnp.sum(jnp.any(batch["mask_BxT"], -1)), 1)
            objective = stats["loss_sum"] / rows
        else:
            objective = stats["loss"]
        accuracy = stats["correct"] / jnp.maximum(stats["count"], 1)
        metrics = {"loss": stats["loss"], "accuracy": accuracy}
        if "aux_loss" in stats:
            objective = objective + stats["aux_loss"]
            metrics["aux_loss"] = stats["aux_loss"]
        return objective, (metrics, carry)

    def eval_sums(self, params, batch, carry=None):
        """(sums over the batch's real positions, carry out); `summarize` averages them."""
        stats, carry = self.statistics(params, batch, carry, False, None)
        return {k: stats[k] for k in ("loss_sum", "correct", "count")}, carry

    def summarize(self, totals: dict[str, float]) -> dict[str, float]:
        return losses.summarize(totals)

    # ------------------------------------------------------------------ evaluations

    def dev_metrics(self, params) -> dict[str, float]:
        """Extra dev metrics at every evaluation during training."""
        del params
        return {}

    def extras(self, params) -> dict:
        """Evaluations of the selected model at the end of training (results.json)."""
        del params
        return {}

    @staticmethod
    def format_extras(results: dict) -> list[str]:
        """Lines that show `extras` in the summary printed at the end."""
        del results
        return []


def model_fields(model_config, *extra: str) -> dict:
    """Spec fields from config.model that every model reads (sizes, cell, dropout, the
    speed levers of models.Levers), and the `extra` ones of one model."""
    fields = ("embed_dim", "hidden_size", "cell", "num_layers", "dropout", *extra)
    levers = {k: model_config[k] for k in ("unroll", "remat_chunk", "compute_dtype")}
    return {**{k: model_config[k] for k in fields}, "levers": levers}


def source_dir_error(config) -> str | None:
    """Local files need a source_dir (unless a TFDS data_dir holds them prepared)."""
    names = [datasets.parse_spec(part)[0] for part in datasets.spec_parts(config.dataset)]
    local = [name for name in names if name in datasets.LOCAL_FORMATS]
    if local and config.data_dir is None:
        source = config.source_dir
        if not source or not os.path.isdir(source):
            return (f"dataset {local[0]!r} reads local files, but source_dir {source!r} is not "
                    "a directory (set --config.source_dir=/path/to/shared/data)")  # fmt: skip
    return None
