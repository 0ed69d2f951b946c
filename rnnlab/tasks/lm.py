"""Language modelling: next-token cross-entropy, one loss per real token.

    lm     words; `lm_mode="sentences"`: masked batches of whole sentences read from
           `<s>` (the course's lm-minibatch), or `"stream"`: the corpus as one stream cut
           into windows of `seq_len`, the carry flowing from batch to batch (truncated
           BPTT, Zaremba et al.). On labelled sentences (`task="lm"` on a classification
           data set) the initial state is a learned function of the label.
    chars  characters, always a stream.

At the end: minimal-pair accuracy by distance (`minimal_pairs.per_distance` > 0, also
as dev metrics during training) and samples (`sample.num` > 0).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from rnnlab import agreement, generate, losses
from rnnlab.data import batching, pipeline
from rnnlab.data.vocab import EOS, PAD, UNK, Vocab
from rnnlab.tasks import base


class LanguageModelling(base.Task):
    name = "lm"

    @property
    def stream(self) -> bool:
        return self.config.lm_mode == "stream"

    def make_vocabs(self, train):
        return {"words": self.word_vocab(ex["tokens"] for ex in train)}

    def batches(self, examples, train: bool):
        if not self.stream:
            return self.sentence_batches(examples, train, lm=True)
        c = self.config
        eos = EOS if "tokens" in examples[0] else None  # characters: no sentence ends
        stream = pipeline.token_stream(examples, self.vocabs["words"], eos=eos)
        ds = pipeline.lm_stream_dataset(stream, c.batch_size if train else c.eval_batch_size,
                                        c.seq_len)  # fmt: skip
        return ds if train else list(ds)

    def model_spec(self, train) -> dict:
        m = self.config.model
        labelled = "label" in train[0]  # a classification data set: condition on the label
        return {
            "model": "LanguageModel",
            "vocab_size": len(self.vocabs["words"]),
            **base.model_fields(m, "tie_weights"),
            "num_classes": max(ex["label"] for ex in train) + 1 if labelled else 0,
        }

    def model_inputs(self, batch) -> tuple:
        return batch["inputs_BxT"], batch["mask_BxT"], None, batch.get("labels_B")

    def initial_carry(self, params, batch):
        if not self.stream:
            return None
        batch_size = batch["inputs_BxT"].shape[0]
        return self.model.apply(
            {"params": params}, batch_size, method=lambda m, b: m.initial_carry(b)
        )

    def statistics(self, params, batch, carry, train: bool, key):
        inputs = (batch["inputs_BxT"], batch["mask_BxT"], carry, batch.get("labels_B"))
        if not train:
            logits_BxTxV, carry = self.model.apply({"params": params}, *inputs)
            stats = losses.token_cross_entropy(
                logits_BxTxV, batch["targets_BxT"], batch["mask_BxT"]
            )
            return stats, carry
        features_BxTxF, carry = self.model.apply(
            {"params": params}, *inputs, train=True, rngs={"dropout": key}, method="features"
        )
        return self.token_loss(params, features_BxTxF, batch, jax.random.fold_in(key, 1)), carry

    def log_probs(self, params, sentences) -> np.ndarray:
        """log p(words </s>) of each tokenized sentence, natural log, read after `<s>`
        (a stream LM: after `</s>`), as `agreement.sentence_log_probs` scores pairs."""
        lm = agreement.LM(self.model, params, self.vocabs["words"], stream=self.stream)
        return agreement.sentence_log_probs(lm, sentences, batch_size=self.config.eval_batch_size)

    def _pairs(self, params) -> dict[str, float]:
        return agreement.minimal_pair_accuracy(
            self.model, params, self.vocabs["words"], self.config.minimal_pairs, stream=self.stream
        )

    def dev_metrics(self, params) -> dict[str, float]:
        """Minimal-pair accuracy by distance ("pairs_d8"), to see when (and whether)
        each cell learns the long dependencies during training."""
        if self.config.minimal_pairs.per_distance <= 0:
            return {}
        return {f"pairs_d{d}": acc for d, acc in self._pairs(params).items()}

    def extras(self, params) -> dict:
        out = {}
        if self.config.minimal_pairs.per_distance > 0:
            out["minimal_pairs"] = self._pairs(params)
        if self.config.sample.num > 0:
            out["samples"] = generate.sample_text(
                self.model, params, self.vocabs["words"], self.config.sample,
                chars=self.name == "chars",
            )  # fmt: skip
        return out

    @staticmethod
    def format_extras(results: dict) -> list[str]:
        lines = []
        if "minimal_pairs" in results:
            pairs = results["minimal_pairs"]
            lines.append("  minimal-pair accuracy by distance: "
                         + "  ".join(f"{d}: {acc:.3f}" for d, acc in pairs.items()))  # fmt: skip
        for text in results.get("samples", []):
            lines.append("  sample: " + text.replace("\n", "\n          "))
        return lines


class CharacterLM(LanguageModelling):
    name = "chars"

    @classmethod
    def config_errors(cls, config) -> list[str]:
        errors = []
        if config.vocab_from:
            errors.append("vocab_from shares a word vocabulary; character data has its own")
        if config.lm_mode != "stream":
            errors.append("character data is a stream: set lm_mode='stream'")
        return errors

    def log_probs(self, params, texts) -> np.ndarray:
        """log p(text | a line break before it) of each text, natural log: a character
        stream has no sentence marks, so a text is read as the start of a line."""
        ids_N = [self.vocabs["words"].encode(["\n", *text]) for text in texts]
        return batching.map_by_length(
            functools.partial(agreement.masked_log_probs, self.model, params),
            [ids[:-1] for ids in ids_N],
            rows=min(self.config.eval_batch_size, len(ids_N)),
            pad_multiple=8,
            per_step=[[ids[1:] for ids in ids_N]],
            per_row=[np.zeros(len(ids_N), np.int64)],
        ).astype(np.float64)

    def make_vocabs(self, train):
        return {"words": Vocab.build_chars([ex["text"] for ex in train], reserved=(PAD, UNK))}
