"""Dependency parsing: each word's head and relation (graph-based, BiLSTM features).

Examples are {"tokens", "upos", "heads" (0 = the root), "deprels"} (`ewt_deps`; the
`universal` view strips relation subtypes). Every sentence is read with `<s>` in front
as the root, position 0, a real token of the BiRNN; padding is neither head nor
dependent. Loss per word: the cross-entropy of its head over the positions of its
sentence + that of its relation given the gold head (models.Parser).

During training dev is scored with greedy heads (argmax per word, relations at those
heads: `uas`, `las`, plus `label_accuracy` given the gold head). At the end every
decoder of `parser.decoders` parses dev (and test) on the host (rnnlab.parsing: "mst"
Chu-Liu/Edmonds with one root child, "eisner" projective, "greedy"): UAS/LAS over all
words, punctuation included (CoNLL 2018), per relation, by head distance, trees, and
words per second.

Options (config.parser, defaults below when absent): scorer "biaffine" | "mlp", arc_dim,
rel_dim, upos_dim (> 0: gold UPOS embeddings as input; 0 = words and characters only),
upos_loss (> 0: multi-task, that weight x the cross-entropy of a UPOS classifier over the
top BiRNN states is added to the loss; UPOS is still not an input, and dev reports
`upos_accuracy`), word_dropout (training: a word -> <unk>), distance_bins (K > 0: a
learned score per signed head distance up to K, models.distance_bins), decoders.
"""

from __future__ import annotations

import functools
import time

import grain
import jax
import jax.numpy as jnp
import numpy as np
import optax

from rnnlab import losses, models, parsing
from rnnlab.data import batching, pipeline
from rnnlab.data.vocab import BOS, PAD, UNK, Vocab
from rnnlab.tasks import base

DEFAULTS = {"scorer": "biaffine", "arc_dim": 400, "rel_dim": 100, "upos_dim": 0,
            "upos_loss": 0.0, "word_dropout": 0.0, "distance_bins": 0,
            "decoders": ("mst", "greedy")}  # fmt: skip
MAX_WORD_CHARS = 16  # as the tagger (pipeline.encode)
ROOT = BOS  # the root's token: reserved in every word vocabulary, never a word
ROOT_REL = "root"  # UD: the relation of the word under the root, and of no other word


def options(config) -> dict:
    """config.parser over the defaults (a config without a `parser` section is valid)."""
    given = config.get("parser") or {}
    given = given.to_dict() if hasattr(given, "to_dict") else dict(given)
    return {**DEFAULTS, **given}


class Parsing(base.Task):
    name = "parsing"
    OPTIONS = {}

    @classmethod
    def config_errors(cls, config) -> list[str]:
        o, errors = options(config), []
        if unknown := sorted(set(o) - set(DEFAULTS)):
            errors.append(f"parser has no option {unknown}; options: {sorted(DEFAULTS)}")
        if o["scorer"] not in models.SCORERS:
            errors.append(f"parser.scorer must be one of {models.SCORERS}, got {o['scorer']!r}")
        for field in ("arc_dim", "rel_dim"):
            if not isinstance(o[field], int) or o[field] <= 0:
                errors.append(f"parser.{field} must be a positive int, got {o[field]!r}")
        if not isinstance(o["upos_dim"], int) or o["upos_dim"] < 0:
            errors.append(f"parser.upos_dim must be an int >= 0, got {o['upos_dim']!r}")
        if not o["upos_loss"] >= 0.0:
            errors.append(f"parser.upos_loss must be >= 0, got {o['upos_loss']!r}")
        if not 0.0 <= o["word_dropout"] < 1.0:
            errors.append(f"parser.word_dropout must be in [0, 1), got {o['word_dropout']!r}")
        if not isinstance(o["distance_bins"], int) or o["distance_bins"] < 0:
            errors.append(f"parser.distance_bins must be an int >= 0, got {o['distance_bins']!r}")
        if bad := [d for d in o["decoders"] if d not in parsing.DECODERS]:
            errors.append(f"parser.decoders: unknown {bad}; expected some of "
                          f"{tuple(parsing.DECODERS)}")  # fmt: skip
        return errors

    @property
    def options(self) -> dict:
        return options(self.config)

    # ------------------------------------------------------------------ data

    def make_vocabs(self, train):
        vocabs = {
            "words": self.word_vocab(ex["tokens"] for ex in train),
            # An unseen relation (dev) is <unk>: never predicted, so always an error.
            "rels": Vocab.build((ex["deprels"] for ex in train), reserved=(PAD, UNK)),
        }
        if ROOT not in vocabs["words"]:
            raise base.ConfigError(f"the word vocabulary has no {ROOT!r} (the parser's root)")
        if self.config.model.char_hidden_size > 0:
            words = (t for ex in train for t in ex["tokens"])
            vocabs["chars"] = Vocab.build_chars(words, reserved=(PAD, UNK))
        if self.options["upos_dim"] > 0 or self.options["upos_loss"] > 0:
            vocabs["upos"] = Vocab.build((ex["upos"] for ex in train), reserved=(PAD, UNK))
        return vocabs

    def batches(self, examples, train: bool):
        encode = functools.partial(_encode, vocabs=self.vocabs)
        encoded = grain.MapDataset.source(examples).map_with_index(encode)
        lengths = np.array([len(ex["tokens"]) + 1 for ex in examples], dtype=np.int64)
        ds = pipeline.planned_batches(encoded, lengths, self.batch_spec(train), _batch,
                                      seed=self.config.seed if train else 0)  # fmt: skip
        return ds if train else list(ds)

    # ------------------------------------------------------------------ model

    def model_spec(self, train) -> dict:
        m, o = self.config.model, self.options
        return {
            "model": "Parser",
            "vocab_size": len(self.vocabs["words"]),
            "num_rels": len(self.vocabs["rels"]),
            **base.model_fields(m, "char_embed_dim", "char_hidden_size"),
            "num_chars": len(self.vocabs.get("chars", ())),
            "num_upos": len(self.vocabs["upos"]) if o["upos_dim"] > 0 else 0,
            "upos_dim": o["upos_dim"],
            "num_tags": len(self.vocabs["upos"]) if o["upos_loss"] > 0 else 0,
            "scorer": o["scorer"],
            "arc_dim": o["arc_dim"],
            "rel_dim": o["rel_dim"],
            "word_dropout": o["word_dropout"],
            "distance_bins": o["distance_bins"],
            "unk_id": self.vocabs["words"].unk_id,
        }

    def model_inputs(self, batch) -> tuple:
        return (batch["tokens_BxT"], batch["mask_BxT"], batch.get("chars_BxTxW"),
                batch.get("upos_BxT"))  # fmt: skip

    @property
    def root_id(self) -> int:
        """The id of the relation `root` (`tree_rels`), -1 if the relations have none."""
        rels = self.vocabs["rels"]
        return rels.id(ROOT_REL) if ROOT_REL in rels else -1

    def _scores(self, params, batch, train: bool, key, greedy_rels: bool):
        rngs = {"dropout": key} if train else {}
        return self.model.apply({"params": params}, *self.model_inputs(batch),
                                batch["heads_BxT"], train, greedy_rels,
                                method=_forward, rngs=rngs)  # fmt: skip

    def statistics(self, params, batch, carry, train: bool, key):
        """The parsing loss per word; with `upos_loss`, "aux_loss" is that weight x the
        UPOS classifier's cross-entropy per word."""
        arcs, rels, _, tags = self._scores(params, batch, train, key, greedy_rels=False)
        stats = loss_statistics(arcs, rels, batch["heads_BxT"], batch["rels_BxT"],
                                batch["mask_BxT"])  # fmt: skip
        if tags is not None:
            upos = tag_statistics(tags, batch["upos_BxT"], batch["mask_BxT"])
            stats["aux_loss"] = self.options["upos_loss"] * upos["loss"]
        return stats, None

    def eval_sums(self, params, batch, carry=None):
        arcs, rels, greedy_rels, tags = self._scores(params, batch, False, None,
                                                     greedy_rels=True)  # fmt: skip
        greedy_ids = tree_rels(greedy_rels, jnp.argmax(arcs, -1), self.root_id)
        stats = loss_statistics(arcs, rels, batch["heads_BxT"], batch["rels_BxT"],
                                batch["mask_BxT"], greedy_ids)  # fmt: skip
        keys = ("loss_sum", "correct", "count", "las_correct", "label_correct")
        sums = {k: stats[k] for k in keys}
        if tags is not None:
            sums["upos_correct"] = tag_statistics(tags, batch["upos_BxT"],
                                                  batch["mask_BxT"])["correct"]  # fmt: skip
        return sums, carry

    def summarize(self, totals):
        count = max(float(totals["count"]), 1.0)
        loss = float(totals["loss_sum"]) / count
        return {
            "loss": loss,
            "accuracy": float(totals["correct"]) / count,  # = greedy UAS
            "perplexity": float(np.exp(min(loss, 50.0))),
            "uas": float(totals["correct"]) / count,
            "las": float(totals["las_correct"]) / count,
            "label_accuracy": float(totals["label_correct"]) / count,
            "count": float(totals["count"]),
        } | ({"upos_accuracy": float(totals["upos_correct"]) / count}
             if "upos_correct" in totals else {})  # fmt: skip

    # ------------------------------------------------------------------ parsing

    def parse_batches(self, params, batches, decoder: str) -> dict[int, tuple]:
        """{example index: (heads, relation names)} of every sentence in `batches`."""
        decode, rels = parsing.DECODERS[decoder], self.vocabs["rels"]
        out = {}
        for batch in batches:
            states, logp_BxTxT = _arc_log_probs(self.model, params, *self.model_inputs(batch))
            logp_BxTxT = np.asarray(logp_BxTxT, np.float64)
            lengths_B, index_B = batch["lengths_B"], batch["index_B"]
            heads_BxT = np.zeros_like(batch["heads_BxT"])
            for b in np.flatnonzero(index_B >= 0):
                n = int(lengths_B[b]) - 1
                heads_BxT[b, 1 : n + 1] = decode(logp_BxTxT[b, : n + 1, : n + 1])
            rel_BxT = np.asarray(
                _best_rels(self.model, params, states, jnp.asarray(heads_BxT), self.root_id)
            )
            for b in np.flatnonzero(index_B >= 0):
                n = int(lengths_B[b]) - 1
                heads = heads_BxT[b, 1 : n + 1].tolist()
                out[int(index_B[b])] = (heads, rels.decode(rel_BxT[b, 1 : n + 1]))
        return out

    def parse(self, params, sentences, upos=None, decoder: str = "mst") -> list[tuple]:
        """(heads, relations) of each tokenized sentence (unknown words are <unk>, their
        characters still read); `upos`: each sentence's tags, if the model reads them."""
        if self.model.num_upos > 0 and upos is None:
            raise ValueError("this parser reads UPOS tags: pass upos (one list per sentence)")
        if any(len(s) == 0 for s in sentences):
            raise ValueError("every sentence needs at least one word")
        upos = upos or [["X"] * len(s) for s in sentences]
        examples = [
            {"tokens": list(s), "upos": list(u), "heads": [0] * len(s), "deprels": [PAD] * len(s)}
            for s, u in zip(sentences, upos, strict=True)
        ]
        parsed = self.parse_batches(params, self.batches(examples, train=False), decoder)
        return [parsed[i] for i in range(len(examples))]

    def evaluate_parses(self, params, split: str) -> dict:
        examples, batches = self.examples[split], getattr(self, split)
        gold = [(ex["heads"], ex["deprels"]) for ex in examples]
        words = sum(len(h) for h, _ in gold)
        out = {}
        shapes = {batch["tokens_BxT"].shape: batch for batch in batches}
        self.parse_batches(params, list(shapes.values()), "greedy")  # compile outside timing
        for decoder in self.options["decoders"]:
            start = time.perf_counter()
            parsed = self.parse_batches(params, batches, decoder)
            seconds = time.perf_counter() - start
            scores = parsing.attachment_scores(gold, [parsed[i] for i in range(len(examples))])
            out[decoder] = {**scores, "words_per_s": words / seconds}
        return out

    def extras(self, params) -> dict:
        out = {"parsing": {"dev": self.evaluate_parses(params, "dev")}}
        if self.test is not None:
            out["parsing"]["test"] = self.evaluate_parses(params, "test")
        return out

    @staticmethod
    def format_extras(results: dict) -> list[str]:
        lines = []
        for split, by_decoder in results.get("parsing", {}).items():
            for decoder, s in by_decoder.items():
                lines.append(f"  {split} {decoder:>6}: UAS {s['uas']:.4f}  LAS {s['las']:.4f}  "
                             f"({s['words']} words; of {s['sentences']} sentences "
                             f"{s['not_trees']} not trees, {s['not_one_root']} not one root; "
                             f"{s['words_per_s']:.0f} words/s)")  # fmt: skip
        return lines


def _forward(module, tokens_BxT, mask_BxT, chars_BxTxW, upos_BxT, heads_BxT, train: bool,
             greedy_rels: bool):  # fmt: skip
    """(arc scores, relation scores at the gold heads, at the greedy heads or None, UPOS
    logits or None)."""
    states = module.encode(tokens_BxT, mask_BxT, chars_BxTxW, upos_BxT, train=train)
    arcs_BxTxT = module.arcs(states, mask_BxT, train=train)
    rels_BxTxR = module.rels(states, heads_BxT, train=train)
    greedy = module.rels(states, jnp.argmax(arcs_BxTxT, -1)) if greedy_rels else None
    tags = module.tags(states) if module.num_tags > 0 else None
    return arcs_BxTxT, rels_BxTxR, greedy, tags


@functools.partial(jax.jit, static_argnames="model")
def _arc_log_probs(model, params, tokens_BxT, mask_BxT, chars_BxTxW, upos_BxT):
    def fn(module):
        states = module.encode(tokens_BxT, mask_BxT, chars_BxTxW, upos_BxT)
        return states, jax.nn.log_softmax(module.arcs(states, mask_BxT), -1)

    return model.apply({"params": params}, method=fn)


@functools.partial(jax.jit, static_argnames=("model", "root_id"))
def _best_rels(model, params, states_BxTxH, heads_BxT, root_id: int):
    fn = lambda module: module.rels(states_BxTxH, heads_BxT)  # noqa: E731
    return tree_rels(model.apply({"params": params}, method=fn), heads_BxT, root_id)


def tree_rels(scores_BxTxR, heads_BxT, root_id: int):
    """Each word's best relation given its head, as a tree allows: the word under the
    root gets `root_id`, every other word its best relation but that one (-1: the
    relations have no root label, so each word simply gets its best)."""
    if root_id < 0:
        return jnp.argmax(scores_BxTxR, -1)
    best_other_BxT = jnp.argmax(scores_BxTxR.at[..., root_id].set(-jnp.inf), -1)
    return jnp.where(heads_BxT == 0, root_id, best_other_BxT)


def loss_statistics(arcs_BxTxT, rels_BxTxR, heads_BxT, rels_BxT, mask_BxT, greedy_rels_BxT=None):
    """Sums over the words (real positions but the root): loss = head cross-entropy over
    the sentence's positions + relation cross-entropy at the gold head; correct = greedy
    head right (`las_correct`: and its relation, given the relation ids at the greedy
    heads `greedy_rels_BxT`, as `parse_batches` chooses them: `tree_rels`)."""
    dep_BxT = models.dependents(mask_BxT)
    arc_nll = optax.softmax_cross_entropy_with_integer_labels(arcs_BxTxT, heads_BxT)
    rel_nll = optax.softmax_cross_entropy_with_integer_labels(rels_BxTxR, rels_BxT)
    loss_sum = jnp.sum(jnp.where(dep_BxT, arc_nll + rel_nll, 0.0))
    count = jnp.sum(dep_BxT).astype(loss_sum.dtype)
    head_ok = (jnp.argmax(arcs_BxTxT, -1) == heads_BxT) & dep_BxT
    label_ok = (jnp.argmax(rels_BxTxR, -1) == rels_BxT) & dep_BxT
    out = {"loss_sum": loss_sum, "count": count, "loss": loss_sum / jnp.maximum(count, 1.0),
           "correct": jnp.sum(head_ok), "label_correct": jnp.sum(label_ok)}  # fmt: skip
    if greedy_rels_BxT is not None:
        out["las_correct"] = jnp.sum(head_ok & (greedy_rels_BxT == rels_BxT))
    return out


def tag_statistics(tags_BxTxK, upos_BxT, mask_BxT) -> dict[str, jax.Array]:
    """`losses.token_cross_entropy` of the UPOS classifier over the words (not the root)."""
    return losses.token_cross_entropy(tags_BxTxK, upos_BxT, models.dependents(mask_BxT))


def _encode(index: int, ex: dict, vocabs: dict) -> dict:
    """An example -> ids with the root in front (its head and relation are 0, padding)."""
    words = vocabs["words"]
    tokens = words.encode([ROOT, *ex["tokens"]])
    rels = [0, *(vocabs["rels"].id(r) for r in ex["deprels"])]
    out = {"tokens": tokens, "index": index, "heads": np.array([0, *ex["heads"]], np.int32),
           "rels": np.array(rels, np.int32)}  # fmt: skip
    if "chars" in vocabs:  # the root has no characters (a zero vector)
        chars = [vocabs["chars"].encode(t[:MAX_WORD_CHARS]) for t in ex["tokens"]]
        out["chars"] = [np.zeros(0, np.int32), *chars]
    if "upos" in vocabs:
        out["upos"] = np.array([0, *(vocabs["upos"].id(u) for u in ex["upos"])], np.int32)
    return out


def _batch(examples, spec) -> dict[str, np.ndarray]:
    batch = batching.sentence_batch(examples, spec)
    B, T = batch["tokens_BxT"].shape
    for key in ("heads", "rels", "upos"):
        if key in examples[0]:
            batch[f"{key}_BxT"] = batching.pad_rows([ex[key] for ex in examples], B, T)[0]
    batch["index_B"] = np.full(B, -1, np.int32)
    batch["index_B"][: len(examples)] = [ex["index"] for ex in examples]
    return batch
