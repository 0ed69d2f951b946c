"""Sentence classification: one label per sentence, one loss per sentence.

Options: pooling and bidirectionality of the Classifier; `init_from` an LM's best
checkpoint (rnnlab.transfer: embedding rows by word, recurrent layers) with
`freeze_steps` / `pretrained_lr_scale`; `model.aux_lm_weight`, an auxiliary next-word
loss in training (a unidirectional classifier only: a backward state has read the
next word); `model.truncate` K: truncated BPTT inside the document (models.Classifier).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import losses, transfer
from rnnlab.data import batching
from rnnlab.data.user_formats import label_vocabs
from rnnlab.tasks import base


class Classification(base.Task):
    name = "classification"
    OPTIONS = {"init_from": "initialises a classifier",
               "model.aux_lm_weight": "is a classifier option",
               "model.truncate": "is a classifier option"}  # fmt: skip

    @classmethod
    def config_errors(cls, config) -> list[str]:
        errors = []
        if config.model.aux_lm_weight and config.model.bidirectional:
            errors.append("model.aux_lm_weight is for a unidirectional classifier (a "
                          "backward state has read the next word)")  # fmt: skip
        if config.model.truncate and (config.model.bidirectional or config.model.aux_lm_weight):
            errors.append("model.truncate (truncated BPTT inside a document) needs "
                          "model.bidirectional=False and no aux_lm_weight")  # fmt: skip
        return errors

    def make_vocabs(self, train):
        return {"words": self.word_vocab(ex["tokens"] for ex in train), **label_vocabs(train)}

    def batches(self, examples, train: bool):
        return self.sentence_batches(examples, train)

    def model_spec(self, train) -> dict:
        m = self.config.model
        return {
            "model": "Classifier",
            "vocab_size": len(self.vocabs["words"]),
            "num_classes": max(ex["label"] for ex in train) + 1,
            **base.model_fields(m, "bidirectional", "pooling", "truncate"),
            "aux_lm": m.aux_lm_weight > 0,
        }

    def model_inputs(self, batch) -> tuple:
        return batch["tokens_BxT"], batch["mask_BxT"]

    def start_from(self, params):
        if not self.config.init_from:
            return params, None
        return transfer.init_from_lm(self.config.init_from, params, self.vocabs["words"])

    def update_transform(self, params):
        if not self.config.init_from:
            return None
        c = self.config
        mask = transfer.pretrained_mask(params)
        return transfer.scale_pretrained(mask, c.freeze_steps, c.pretrained_lr_scale)

    def statistics(self, params, batch, carry, train: bool, key):
        m = self.config.model
        return statistics(self.model, m.aux_lm_weight, params, batch, train, key,
                          m.sampled_softmax), None  # fmt: skip

    def class_probs(self, params, sentences) -> np.ndarray:
        """[N, C] class probabilities of tokenized sentences (unknown words are <unk>),
        batched by length (`batching.map_by_length`: padding is masked out)."""
        ids_N = [self.vocabs["words"].encode(s) for s in sentences]
        rows = min(self.config.eval_batch_size, len(ids_N))
        fn = functools.partial(_probs, self.model, params)
        return batching.map_by_length(fn, ids_N, rows=rows, pad_multiple=8)


@functools.partial(jax.jit, static_argnums=0)
def _probs(model, params, tokens_BxT, mask_BxT):
    return jax.nn.softmax(model.apply({"params": params}, tokens_BxT, mask_BxT)[0], axis=-1)


def statistics(model, aux_lm_weight: float, params, batch, train: bool, key,
               num_samples: int = 0) -> dict:  # fmt: skip
    """Per-sentence loss statistics; with `aux_lm_weight` > 0, in training only, also
    "aux_loss": that weight x the next-word cross-entropy of the `lm_out` head, over
    `num_samples` log-uniform samples if > 0 (documents: the full softmax's [B, T, V]
    logits do not fit; dev metrics stay the classifier's own)."""
    tokens_BxT, mask_BxT = batch["tokens_BxT"], batch["mask_BxT"]
    rngs = {"dropout": key} if train else {}
    with_lm = train and aux_lm_weight > 0
    method = "with_lm_features" if with_lm else "__call__"
    logits_BxC, features_BxTxH = model.apply(
        {"params": params}, tokens_BxT, mask_BxT, train=train, rngs=rngs, method=method
    )
    real_B = jnp.any(mask_BxT, axis=-1)
    stats = losses.sequence_cross_entropy(logits_BxC, batch["labels_B"], real_B)
    if with_lm:  # the state at t predicts the word at t + 1
        W_VxH, b_V = model.apply({"params": params}, method="output_weights")
        lm = losses.softmax_cross_entropy(features_BxTxH[:, :-1], W_VxH, b_V, tokens_BxT[:, 1:],
                                          mask_BxT[:, 1:], jax.random.fold_in(key, 1),
                                          num_samples)  # fmt: skip
        stats["aux_loss"] = aux_lm_weight * lm["loss"]
    return stats
