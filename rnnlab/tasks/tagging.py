"""Tagging: one tag per word (POS, IOB entities), one loss per real token.

Options: a character BiLSTM word encoder (`model.char_hidden_size` > 0) and word dropout
(`model.word_dropout`). At the end, an IOB tag set (NER) is also scored by entities
(CoNLL precision/recall/F1, rnnlab.tagging).
"""

from __future__ import annotations

import numpy as np

from rnnlab import losses, tagging
from rnnlab.data import batching, pipeline
from rnnlab.data.vocab import PAD, UNK, Vocab
from rnnlab.tasks import base


class Tagging(base.Task):
    name = "tagging"
    OPTIONS = {"model.word_dropout": "is a tagger option"}

    def make_vocabs(self, train):
        vocabs = {
            "words": self.word_vocab(ex["tokens"] for ex in train),
            "tags": Vocab.build((ex["tags"] for ex in train), reserved=(PAD,)),
        }
        if self.config.model.char_hidden_size > 0:
            words = (t for ex in train for t in ex["tokens"])
            vocabs["chars"] = Vocab.build_chars(words, reserved=(PAD, UNK))
        return vocabs

    def batches(self, examples, train: bool):
        return self.sentence_batches(
            examples, train, tag_vocab=self.vocabs["tags"], char_vocab=self.vocabs.get("chars")
        )

    def model_spec(self, train) -> dict:
        m = self.config.model
        return {
            "model": "Tagger",
            "vocab_size": len(self.vocabs["words"]),
            "num_tags": len(self.vocabs["tags"]),
            **base.model_fields(m, "char_embed_dim", "char_hidden_size", "word_dropout"),
            "num_chars": len(self.vocabs.get("chars", ())),
            "unk_id": self.vocabs["words"].unk_id,
        }

    def model_inputs(self, batch) -> tuple:
        return batch["tokens_BxT"], batch["mask_BxT"], batch.get("chars_BxTxW")

    def statistics(self, params, batch, carry, train: bool, key):
        rngs = {"dropout": key} if train else {}
        logits_BxTxK = self.model.apply(
            {"params": params}, *self.model_inputs(batch), train=train, rngs=rngs
        )
        return losses.token_cross_entropy(logits_BxTxK, batch["tags_BxT"], batch["mask_BxT"]), None

    def tag(self, params, sentences) -> list[list[str]]:
        """The predicted tags of tokenized sentences (unknown words are <unk>, their
        characters still read), batched by length (`batching.map_by_length`)."""
        words, chars, tags = self.vocabs["words"], self.vocabs.get("chars"), self.vocabs["tags"]
        encoded = [pipeline.encode({"tokens": s}, words, char_vocab=chars) for s in sentences]
        width = max(len(s) for s in sentences)  # one output width for every batch

        def fn(tokens_BxT, mask_BxT, index_B):
            batch = {"tokens_BxT": tokens_BxT, "mask_BxT": mask_BxT}
            if chars is not None:  # filler rows (mask all False) have no characters
                words_B = [encoded[i]["chars"] if m else [] for i, m in
                           zip(index_B, mask_BxT.any(-1), strict=True)]  # fmt: skip
                batch["chars_BxTxW"] = batching.pad_chars(words_B, *tokens_BxT.shape)
            pred_BxT = np.asarray(tagging.predict_ids(self.model, params, batch, tags.id(PAD)))
            out_BxW = np.zeros((len(pred_BxT), width), pred_BxT.dtype)
            out_BxW[:, : pred_BxT.shape[1]] = pred_BxT[:, :width]
            return out_BxW

        rows = min(self.config.eval_batch_size, len(encoded))
        ids_N, index_N = [e["tokens"] for e in encoded], np.arange(len(encoded))
        pred_NxW = batching.map_by_length(fn, ids_N, rows=rows, pad_multiple=8, per_row=[index_N])
        return [tags.decode(row[: len(s)]) for row, s in zip(pred_NxW, sentences, strict=True)]

    def extras(self, params) -> dict:
        tags = self.vocabs["tags"]
        if not tagging.is_iob(tags.tokens[1:]):  # [0] is padding
            return {}
        gold, pred = tagging.predict_tags(self.model, params, self.dev, tags)
        return {"entities": tagging.entity_scores(gold, pred)}

    @staticmethod
    def format_extras(results: dict) -> list[str]:
        if "entities" not in results:
            return []
        e = results["entities"]
        return [f"  entities: F1 {e['f1']:.4f} (precision {e['precision']:.4f}, "
                f"recall {e['recall']:.4f}, {e['support']} gold)"]  # fmt: skip
