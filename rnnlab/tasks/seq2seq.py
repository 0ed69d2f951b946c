"""Conditioned generation: read a source sequence, generate the target (encoder-decoder).

Examples are {"source": tokens, "target": tokens[, "feature": str][, "count": int]
[, "in_name": how many of its tokens stand in a name, `Dictionary.name_cased`]}; one
vocabulary for both sides (characters for the `ewt_lemmas` lemmatizer, words for a
sequence autoencoder: `task="seq2seq"` on text data, each text its own target).
Training is teacher-forced, one loss per real target token (and
`</s>`). At the end every dev example is decoded, greedily and by beam search
(`decode.beam_sizes`), and scored by exact match, overall and on sources never seen in
train, next to two baselines (copy the source; the most frequent train target of the
(source, feature), else of the source, else the source lowercased unless its feature is
in `decode.keep_case_features`, e.g. PROPN for lemmas) and a combined
system that uses that dictionary for seen (source, feature) pairs and the model for the
rest (Stanza's lemmatizer). With `model.edits`, an edit classifier (trained jointly, its
cross-entropy added to the loss) decides whether to copy the source, lowercase it or
generate the target (or capitalize it: "asia" -> "Asia"); a copied source is never cut
or garbled. Unknown source tokens
become `<unk>`; a source longer than the maximum length is cut to it (counted).
The run folder keeps the train pairs (`inference_tables`), so a finished run's `predict`
(`rnnlab.load(workdir).lemmatize`) is the combined system, without the data.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import re
import time

import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import decode, losses
from rnnlab.data import batching, pipeline
from rnnlab.data.vocab import BOS, EOS, PAD, UNK, Vocab
from rnnlab.tasks import base

INFERENCE_MAX_LEN = 64  # tokens decoded at most by a task without its train data


class Seq2Seq(base.Task):
    name = "seq2seq"
    ENSEMBLES = True  # see `candidates`
    OPTIONS = {"model.attention": "is an encoder-decoder option",
               "model.edits": "is an encoder-decoder option"}  # fmt: skip

    def load(self, spec: str, split: str):
        """The data set's pairs; text (an LM's or a classifier's tokens) becomes a
        sequence autoencoder's, each text its own target (Dai & Le 2015's SA-LSTM), cut
        to its first `max_tokens` tokens if that is > 0."""
        examples = super().load(spec, split)
        if len(examples) == 0 or "source" in examples[0]:
            return examples
        cut = slice(self.config.max_tokens or None)  # long documents: their beginning
        return [{"source": ex["tokens"][cut], "target": ex["tokens"][cut]} for ex in examples]

    def make_vocabs(self, train):
        vocabs = {"words": self.word_vocab(s for ex in train for s in (ex["source"], ex["target"]))}
        if "feature" in train[0]:
            vocabs["features"] = Vocab.build(([ex["feature"]] for ex in train), reserved=(PAD, UNK))
        return vocabs

    def batches(self, examples, train: bool):
        ds = pipeline.pair_batches(examples, self.vocabs["words"], self.batch_spec(train),
                                   seed=self.config.seed if train else 0,
                                   feature_vocab=self.vocabs.get("features"))  # fmt: skip
        return ds if train else list(ds)

    def model_spec(self, train) -> dict:
        m = self.config.model
        return {
            "model": "EncoderDecoder",
            "vocab_size": len(self.vocabs["words"]),
            **base.model_fields(m, "bidirectional", "attention", "feature_dim"),
            "num_features": len(self.vocabs.get("features", ())),
            "num_edits": len(pipeline.EDITS) if m.edits else 0,
        }

    def model_inputs(self, batch) -> tuple:
        return (batch["source_BxS"], batch["source_mask_BxS"], batch["inputs_BxT"],
                batch["mask_BxT"], batch.get("features_B"))  # fmt: skip

    def statistics(self, params, batch, carry, train: bool, key):
        """Per target token; in training with edits, "aux_loss" is the edit classifier's
        cross-entropy per example."""
        if not train:
            logits_BxTxV = self.model.apply({"params": params}, *self.model_inputs(batch))
            return losses.token_cross_entropy(logits_BxTxV, batch["targets_BxT"],
                                              batch["mask_BxT"]), None  # fmt: skip
        features_BxTxD, edits_BxE = self.model.apply(
            {"params": params}, *self.model_inputs(batch), train=True, rngs={"dropout": key},
            method="teacher_forced",
        )  # fmt: skip
        stats = self.token_loss(params, features_BxTxD, batch, jax.random.fold_in(key, 1))
        if edits_BxE is not None:
            real_B = jnp.any(batch["mask_BxT"], axis=-1)
            stats["aux_loss"] = losses.sequence_cross_entropy(edits_BxE, batch["edits_B"], real_B)[
                "loss"
            ]
        return stats, None

    # ------------------------------------------------------------------ decoding

    @functools.cached_property
    def max_len(self) -> int:
        """decode.max_len, else the longest train target + 8 (without the data, as in
        `for_inference`: INFERENCE_MAX_LEN)."""
        if self.config.decode.max_len:
            return self.config.decode.max_len
        if not self.examples:
            return INFERENCE_MAX_LEN
        return max(len(ex["target"]) for ex in self.examples["train"]) + 8

    def generate(self, params, sources, features=None, *, beam_size: int = 1) -> list[list[str]]:
        """The decoded target of each source (token lists), greedy for beam_size 1."""
        return [c.output for c in self.candidates(params, sources, features, beam_size=beam_size)]

    def candidates(self, params, sources, features=None, *, beam_size: int = 1) -> list:
        """A `Candidates` per source: the edit classifier's choice, its output, and the
        beam's hypotheses with their log-probabilities, best first. `params` may be a
        tuple of several runs' parameters: an ensemble (`_decode`), as in every method
        here that decodes."""
        words, c = self.vocabs["words"], self.config.decode
        members = params if isinstance(params, tuple) else (params,)
        ids_N = [words.encode(s[: self.max_len]) for s in sources]
        per_row = ()
        if "features" in self.vocabs:
            per_row = (np.array([self.vocabs["features"].id(f) for f in features], np.int32),)
        fn = functools.partial(
            _decode, self.model, members, beam_size=beam_size, max_len=self.max_len,
            bos_id=words.id(BOS), eos_id=words.id(EOS),
            banned_ids=tuple(words.id(t) for t in (PAD, BOS, UNK)), length_alpha=c.length_alpha,
        )  # fmt: skip
        edit_N, tokens_NxKxM, scores_NxK = batching.map_by_length(
            fn, ids_N, rows=self.config.eval_batch_size, pad_multiple=8, per_row=per_row
        )
        eos, out = words.id(EOS), []
        for source, edit, rows_KxM, scores_K in zip(sources, edit_N, tokens_NxKxM, scores_NxK,
                                                    strict=True):  # fmt: skip
            hypotheses = [(tuple(words.decode(row[: _length(row, eos)])), float(score))
                          for row, score in zip(rows_KxM, scores_K, strict=True)
                          if np.isfinite(score)]  # fmt: skip
            out.append(Candidates(pipeline.EDITS[edit], tuple(source), hypotheses))
        return out

    def inference_tables(self) -> dict:
        """{"pairs": each distinct train (source, feature, target) with its count}: the
        dictionary of `predict`. Empty for a sequence autoencoder (no pairs to look up)."""
        train = self.examples["train"]
        if all(ex["source"] == ex["target"] for ex in train):
            return {}
        counts, names = collections.Counter(), collections.Counter()
        for ex in train:
            row = tuple(ex["source"]), ex.get("feature"), tuple(ex["target"])
            counts[row] += ex.get("count", 1)
            names[row] += ex.get("in_name", 0)
        return {"pairs": [{"source": list(s), "feature": f, "target": list(t), "count": n,
                           "in_name": names[s, f, t]}
                          for (s, f, t), n in counts.items()]}  # fmt: skip

    def pair(self, ex) -> tuple:
        """The dictionary's key of an example: (source tokens, feature or None)."""
        return tuple(ex["source"]), ex["feature"] if "features" in self.vocabs else None

    @functools.cached_property
    def dictionary(self) -> Dictionary | None:
        """The train data's `Dictionary` (a finished run's: its saved pairs; None if it
        saved none: older runs, sequence autoencoders)."""
        c = self.config.decode
        rows = self.examples["train"] if self.examples else self.tables.get("pairs")
        if rows is None:
            return None
        return Dictionary(rows, self.pair, tuple(c.keep_case_features),
                          tuple(c.restore_case_features))  # fmt: skip

    @property
    def lexical(self) -> bool:
        """Whether outputs lean towards train's targets and conventions
        (`Dictionary.prefer_known`, `Dictionary.name_cased`)."""
        c = self.config.decode
        return c.lexicon_margin > 0 or bool(c.restore_case_features) or c.name_case

    def choose(self, pair, candidates: Candidates, lexical: bool, in_name: int = 0) -> tuple:
        """The combined system's output (Stanza's): the dictionary's for a (source,
        feature) pair seen in train, else the model's; `lexical`: leaning towards train
        targets, and in a name (`in_name`) cased as train's names are."""
        dictionary = self.dictionary
        if pair in dictionary.by_pair:
            output = dictionary(pair)
        elif lexical:
            output = dictionary.prefer_known(pair, candidates, self.config.decode.lexicon_margin)
        else:
            output = tuple(candidates.output)
        if lexical and in_name and self.config.decode.name_case:
            return dictionary.name_cased(pair, output)
        return output

    def predict(self, params, sources, features=None, in_name=None, *, beam_size: int = 1,
                dictionary: bool = True) -> list[list[str]]:  # fmt: skip
        """The target of each source as the config's best system gives it: the
        dictionary for pairs seen in train, the model (leaning towards train targets if
        the config says so) for the rest, each source in a name or not (`in_name`, one
        flag per source; None: none is); `dictionary` False, or no saved dictionary: the
        model alone (`generate`)."""
        found = self.candidates(params, sources, features, beam_size=beam_size)
        if not dictionary or self.dictionary is None:
            return [c.output for c in found]
        features = features if "features" in self.vocabs else [None] * len(sources)
        in_name = [0] * len(sources) if in_name is None else in_name
        return [list(self.choose((tuple(s), f), c, self.lexical, n))
                for s, f, c, n in zip(sources, features, found, in_name, strict=True)]  # fmt: skip

    def extras(self, params) -> dict:
        train, dev = self.examples["train"], self.examples["dev"]
        key, c, dictionary = self.pair, self.config.decode, self.dictionary
        has_feature = "features" in self.vocabs
        seen_sources = {tuple(ex["source"]) for ex in train}
        gold = [tuple(ex["target"]) for ex in dev]
        unseen_N = np.array([tuple(ex["source"]) not in seen_sources for ex in dev])
        pairs = list(dict.fromkeys(key(ex) for ex in dev))  # decode each distinct pair once
        out = {
            "dev_examples": len(dev),
            "unseen_source_examples": int(unseen_N.sum()),
            "truncated_sources": sum(len(s) > self.max_len for s, _ in pairs),
            "unknown_source_tokens": sum(
                t not in self.vocabs["words"] for s, _ in pairs for t in s
            ),
            "baselines": {
                "identity": _scores([tuple(ex["source"]) for ex in dev], gold, unseen_N),
                "dictionary": _scores([dictionary(key(ex)) for ex in dev], gold, unseen_N),
            },
            "decoding": {},
        }
        for size in c.beam_sizes:
            start = time.perf_counter()
            found = self.candidates(params, [list(s) for s, _ in pairs],
                                    [f for _, f in pairs] if has_feature else None,
                                    beam_size=size)  # fmt: skip
            seconds = time.perf_counter() - start
            by_pair = dict(zip(pairs, found, strict=True))
            model = [tuple(by_pair[key(ex)].output) for ex in dev]
            chosen = {lexical: [self.choose(key(ex), by_pair[key(ex)], lexical,
                                            ex.get("in_name", 0)) for ex in dev]
                      for lexical in {False, self.lexical}}  # fmt: skip
            scores = out["decoding"][f"beam{size}"] = {
                "model": _scores(model, gold, unseen_N),
                "combined": _scores(chosen[False], gold, unseen_N),
                "distinct_sources_per_s": len(pairs) / seconds,
            }
            if self.lexical:
                scores["lexicon"] = _scores(chosen[True], gold, unseen_N)
        return out

    @staticmethod
    def format_extras(results: dict) -> list[str]:
        if "decoding" not in results:
            return []
        lines = [f"  exact match on {results['dev_examples']} dev examples "
                 f"({results['unseen_source_examples']} with a source unseen in train): "
                 "overall / unseen"]  # fmt: skip
        rows = {f"baseline {k}": v for k, v in results["baselines"].items()}
        for name, r in results["decoding"].items():
            rows[f"model {name}"] = r["model"]
            rows[f"combined {name}"] = r["combined"]
            if "lexicon" in r:
                rows[f"lexicon {name}"] = r["lexicon"]
        for name, s in rows.items():
            lines.append(f"  {name:>22}: {s['accuracy']:.4f} / {s['unseen_accuracy']:.4f}")
        return lines


@dataclasses.dataclass(frozen=True)
class Candidates:
    """What the model proposes for one source: the edit classifier's choice ("generate"
    without one) and the beam's hypotheses (tokens, log-probability), best first."""

    edit: str
    source: tuple
    hypotheses: list

    @property
    def output(self) -> list[str]:
        """The edit applied to the source, or the best hypothesis for "generate"."""
        if self.edit == "copy":
            return list(self.source)
        if self.edit == "lowercase":
            return [t.lower() for t in self.source]
        if self.edit == "capitalize":
            return pipeline.capitalized(self.source)
        return list(self.hypotheses[0][0])


class Dictionary:
    """The most frequent train target of a (source, feature) pair, else of the source,
    else the source, lowercased unless its feature is one of `keep_case`; for pairs
    unseen in train, `prefer_known` leans the model's output towards train targets."""

    def __init__(self, train, key, keep_case: tuple[str, ...] = (),
                 restore_case: tuple[str, ...] = ()):  # fmt: skip
        self.keep_case, self.restore_case = keep_case, restore_case
        self.by_pair = collections.defaultdict(collections.Counter)
        self.by_source = collections.defaultdict(collections.Counter)
        self.by_feature = collections.defaultdict(set)  # feature -> its train targets
        # feature -> its capitalized train sources in names: those whose target keeps a
        # capital less those whose target drops it
        self.name_votes = collections.Counter()
        for ex in train:
            count, target = ex.get("count", 1), tuple(ex["target"])
            self.by_pair[key(ex)][target] += count
            self.by_source[tuple(ex["source"])][target] += count
            self.by_feature[key(ex)[1]].add(target)
            if ex.get("in_name", 0) and _capitalized(ex["source"]):
                vote = 1 if _capitalized(target) else -1
                self.name_votes[key(ex)[1]] += vote * ex["in_name"]
        self.targets = set().union(*self.by_feature.values())

    def __call__(self, pair) -> tuple:
        for table, k in ((self.by_pair, pair), (self.by_source, pair[0])):
            if k in table:
                return table[k].most_common(1)[0][0]
        source, feature = pair
        return source if feature in self.keep_case else tuple(t.lower() for t in source)

    def prefer_known(self, pair, candidates: Candidates, margin: float) -> tuple:
        """The model's output for an unseen pair, unless train knows better. A source
        with capitals whose lowercase spelling train knows with the same feature takes
        that pair's target unless the feature is one of `keep_case` (a headline's or a
        sentence's first word, shouting: "Interesting" ADJ -> "interesting", "HER" PRON ->
        "she"). A lowercase source of a `restore_case` feature that the model copied
        takes its capitalized spelling if that is a train target of the feature (web text
        writes names in lowercase: "india" PROPN -> "India"). A generated output that is
        no train target gives way to the best hypothesis that is one, if its
        log-probability is within `margin` of the best's (a stem cut short: "condemned"
        -> "condem", not "condemn"). An output that is no train target, of a source that
        stretches a letter (web text again: "sooooo", "VERYYY"), is first replaced by the
        train target it stretches.
        """
        source, feature = pair
        lower = tuple(t.lower() for t in source)
        if lower != source and feature not in self.keep_case and (lower, feature) in self.by_pair:
            return self((lower, feature))
        output = tuple(candidates.output)
        if feature in self.restore_case and output == source and "".join(source).islower():
            capital = tuple(pipeline.capitalized(source))
            if capital in self.by_feature[feature]:
                return capital
        if output in self.targets:
            return output
        for unstretched in _unstretched(source):
            if unstretched in self.targets:
                return unstretched
        if candidates.edit != "generate":
            return output
        best = candidates.hypotheses[0][1]
        for tokens, score in candidates.hypotheses:
            if score >= best - margin and tokens in self.targets:
                return tokens
        return output

    def name_cased(self, pair, output: tuple) -> tuple:
        """The output of a source in a name: starting with a capital if the source does
        and most capitalized train sources of its feature in names keep theirs (EWT's
        name-internal adjectives: "Greater Houston" ADJ -> "Great", not "great"; its
        verbs and nouns there mostly drop theirs: "Leader" -> "leader")."""
        source, feature = pair
        if self.name_votes[feature] > 0 and _capitalized(source) and not _capitalized(output):
            return tuple(pipeline.capitalized(output))
        return output


def _capitalized(tokens) -> bool:
    return bool(tokens) and tokens[0][:1].isupper()


def _unstretched(source: tuple) -> list[tuple]:
    """A word spelt in characters whose letters run 3+ times: lowercased, each run cut to
    two letters, then to one ("Sooooo" -> "soo", "so"); [] for any other source."""
    word = "".join(source)
    if not (all(len(t) == 1 for t in source) and word.isalpha() and re.search(r"(.)\1\1", word)):
        return []
    return [tuple(re.sub(r"(.)\1{2,}", cut, word.lower())) for cut in (r"\1\1", r"\1")]


def _scores(predicted, gold, unseen_N) -> dict[str, float]:
    correct_N = np.array([p == g for p, g in zip(predicted, gold, strict=True)])
    unseen = float(correct_N[unseen_N].mean()) if unseen_N.any() else float("nan")
    return {"accuracy": float(correct_N.mean()), "unseen_accuracy": unseen}


def _length(row_N: np.ndarray, eos_id: int) -> int:
    """Tokens before the first `</s>` or padding."""
    stop = np.flatnonzero((row_N == eos_id) | (row_N == 0))
    return int(stop[0]) if stop.size else len(row_N)


@functools.partial(
    jax.jit,
    static_argnames=("model", "beam_size", "max_len", "bos_id", "eos_id", "banned_ids"),
)
def _decode(model, members, source_BxS, source_mask_BxS, features_B=None, *, beam_size,
            max_len, bos_id, eos_id, banned_ids, length_alpha):  # fmt: skip
    """(edit_B, tokens_BxKxN, scores_BxK): the edit classifier's choice ("generate"
    without one) and the K hypotheses with their log-probabilities, best first (K = 1:
    greedy). `members` is a tuple of `model`'s parameters: more than one is an ensemble,
    whose edit and next-token distributions are the means of the members'."""
    variables = [{"params": params} for params in members]
    memories = tuple(model.apply(v, source_BxS, source_mask_BxS, features_B, method="encode")
                     for v in variables)  # fmt: skip
    edit_B = jnp.zeros(source_BxS.shape[:1], jnp.int32)
    if model.num_edits > 0:
        probs_MxBxE = jnp.stack([jax.nn.softmax(model.apply(v, m, method="edit_logits"))
                                 for v, m in zip(variables, memories, strict=True)])  # fmt: skip
        edit_B = jnp.argmax(jnp.mean(probs_MxBxE, axis=0), axis=-1)
    apply_step = functools.partial(model.apply, method="step")
    step = decode.ensemble(*(jax.tree_util.Partial(apply_step, v) for v in variables))
    carry0 = memories[0] if len(memories) == 1 else memories
    bos_B = jnp.full(source_BxS.shape[:1], bos_id, jnp.int32)
    options = {"eos_id": eos_id, "max_len": max_len, "banned_ids": banned_ids}
    if beam_size == 1:
        tokens_BxN, _, scores_B = decode.greedy(step, carry0, bos_B, **options)
        return edit_B, tokens_BxN[:, None], scores_B[:, None]
    tokens_BxKxN, _, scores_BxK = decode.beam_search(
        step, carry0, bos_B, beam_size=beam_size, length_alpha=length_alpha, **options
    )
    return edit_B, tokens_BxKxN, scores_BxK
