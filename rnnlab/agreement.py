"""Minimal-pair evaluation of a language model: does it prefer the grammatical twin?

Any word LM scores any list of `rnnlab.data.minimal_pairs.Pair` (the hand-written
English set, the synthetic corpus's pairs): a pair is passed when the grammatical twin
has the higher log-probability from the target word on, given the words before it (the
whole-sentence comparison when only the target differs; for negative polarity items,
where the licensor differs, it asks whether "ever" became likelier). Accuracy comes by
dependency distance and by construction, with counts.

Sentence LMs (trained on `<s> ... </s>`) read `<s>` first; stream LMs (truncated BPTT,
no `<s>`) read the `</s>` that ends the previous sentence in their training stream.
Words outside the LM's vocabulary become `<unk>` (counted); a pair whose twins become
the same ids is a tie, scored 0.5 like any tie.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import losses, runs
from rnnlab.data import batching, minimal_pairs
from rnnlab.data.vocab import BOS, EOS, Vocab


@dataclasses.dataclass(frozen=True)
class LM:
    """A trained word LM as the scorer needs it."""

    model: object  # rnnlab.models.LanguageModel (or anything with its apply signature)
    params: object
    vocab: Vocab
    stream: bool = False  # trained as a stream (no <s>): sentences follow a </s>


def load_lm(workdir: str, *, best: bool = True) -> LM:
    """The word LM of a finished run (its config's lowercasing and lm_mode included)."""
    run = runs.load(workdir, best=best)
    if run.task != "lm":
        raise ValueError(f"{workdir} holds a {run.task!r} model, not a word language model")
    return LM(run.model, run.params, run.vocabs["words"], stream=run.config.lm_mode == "stream")


class Unigram(nn.Module):
    """The same next-word distribution at every step, whatever the context: what a
    model that only knows word frequencies can do (a baseline; test stubs)."""

    vocab_size: int

    @nn.compact
    def __call__(self, inputs_BxT, mask_BxT, carry=None):
        logits_V = self.param("logits_V", nn.initializers.zeros, (self.vocab_size,))
        return jnp.broadcast_to(logits_V, (*inputs_BxT.shape, self.vocab_size)), carry


def unigram_lm(sentences, vocab: Vocab | None = None) -> LM:
    """The add-one-smoothed word frequencies of `sentences` (`</s>` once per sentence)
    as an LM over `vocab` (default: every word of `sentences`)."""
    sentences = [list(s) for s in sentences]
    vocab = vocab or Vocab.build(sentences)
    counts_V = np.ones(len(vocab))
    np.add.at(counts_V, np.concatenate([vocab.encode([*s, EOS]) for s in sentences]), 1.0)
    logits_V = jnp.asarray(np.log(counts_V / counts_V.sum()), jnp.float32)
    return LM(Unigram(len(vocab)), {"logits_V": logits_V}, vocab)


# Raw English -> the Mikolov PTB LM data's conventions (see ptb_words).
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$")
_NUMBER = re.compile(r"^[+-]?\d[\d,.:/]*$")
_ABBREVIATION = re.compile(r"^(?:[a-z]\.)+$|^(?:mr|mrs|ms|dr|st|jr|sr|co|corp|inc|ltd|vs)\.$")
_EDGE_PUNCTUATION = "\"'`()[]{}<>,.;:!?*"


def ptb_words(text: str) -> list[str]:
    """Raw English text as the words of the Mikolov PTB LM data: lower case, no
    punctuation, numbers as `N` (`$5` -> `$ N`, `3%` -> `N N`, as PTB writes percent),
    contractions and possessives split off as in the Treebank (`doesn't` -> `does n't`,
    `can't` -> `ca n't`, `queen's` -> `queen 's`, `parents'` -> `parents '`); hyphenated
    words and abbreviations (`u.s.`, `mr.`) stay whole. The one place analyses map text
    to PTB LMs (Winograd schemas)."""
    text = text.replace("\u2019", "'").replace("--", " ").lower()
    return [w for raw in text.split() for w in _ptb_token(raw)]


def _ptb_token(raw: str) -> list[str]:
    token = raw.strip(_EDGE_PUNCTUATION)
    if not token:
        return []
    before, after = [], []
    if raw.rstrip("\"')]!?,;:").endswith(".") and _ABBREVIATION.match(token + "."):
        token += "."
    if raw.rstrip('")]!?,;:.').endswith("s'"):  # (a closing quote after s reads so too)
        after = ["'"]
    if token.startswith("$") and len(token) > 1:
        before, token = ["$"], token[1:]
    if token.endswith("%"):
        token, after = token[:-1], ["N", *after]
    m = _CLITIC.match(token)
    parts = [*before, *(m.groups() if m else (token,)), *after]
    return ["N" if _NUMBER.match(w) else w for w in parts if w]


@functools.partial(jax.jit, static_argnums=0)
def masked_log_probs(model, params, inputs_BxT, mask_BxT, targets_BxT, start_B):
    """The model reads every real step; only those from the row's `start` on are summed."""
    logits_BxTxV, _ = model.apply({"params": params}, inputs_BxT, mask_BxT)
    scored_BxT = mask_BxT & (jnp.arange(mask_BxT.shape[1])[None, :] >= start_B[:, None])
    return losses.sequence_log_probs(logits_BxTxV, targets_BxT, scored_BxT)


def sentence_log_probs(
    lm: LM, sentences: list[list[str]], starts=None, *, batch_size: int = 128
) -> np.ndarray:
    """log p(words[start:] </s> | prefix words[:start]) of each sentence (start 0: the
    whole sentence), prefix `<s>` (sentence LM) or `</s>` (stream LM).

    Batched by length with lengths padded to a multiple of 8 (`batching.map_by_length`):
    few shapes, so few compilations."""
    prefix = EOS if lm.stream else BOS
    ids_N = [lm.vocab.encode([prefix, *s, EOS]) for s in sentences]
    starts_N = np.zeros(len(ids_N), np.int64) if starts is None else np.asarray(starts)
    inputs_N, targets_N = [ids[:-1] for ids in ids_N], [ids[1:] for ids in ids_N]
    lp_N = batching.map_by_length(
        functools.partial(masked_log_probs, lm.model, lm.params),
        inputs_N,
        rows=min(batch_size, len(ids_N)),
        pad_multiple=8,
        per_step=[targets_N],
        per_row=[starts_N],
    )
    return lp_N.astype(np.float64)


def pair_scores(lm: LM, pairs: list[minimal_pairs.Pair]) -> dict[str, np.ndarray]:
    """Per pair: log-probs of both twins from the target on, `correct` (1, 0, or 0.5 for
    a tie), OOV words (in both twins) and whether the twins became the same ids."""
    if not pairs:
        raise ValueError("no pairs to score")
    targets = [p.target for p in pairs]
    lp_2N = sentence_log_probs(lm, [p.good for p in pairs] + [p.bad for p in pairs], targets * 2)
    good_N, bad_N = np.split(lp_2N, 2)
    same_N = np.array(
        [np.array_equal(lm.vocab.encode(p.good), lm.vocab.encode(p.bad)) for p in pairs]
    )
    correct_N = np.where(same_N | (good_N == bad_N), 0.5, (good_N > bad_N).astype(np.float64))
    oov_N = np.array([sum(w not in lm.vocab for w in p.good + p.bad) for p in pairs])
    return {"good": good_N, "bad": bad_N, "correct": correct_N, "oov": oov_N, "same_ids": same_N}


def accuracy_by(keys: list, correct_N: np.ndarray, *, sort: bool) -> dict[str, dict[str, float]]:
    """{key: {"accuracy", "count"}}, keys as strings (for JSON), sorted or in order of
    first appearance."""
    groups = collections.defaultdict(list)
    for key, c in zip(keys, correct_N, strict=True):
        groups[key].append(c)
    return {
        str(k): {"accuracy": float(np.mean(groups[k])), "count": len(groups[k])}
        for k in (sorted(groups) if sort else groups)
    }


def evaluate(lm: LM, pairs: list[minimal_pairs.Pair]) -> dict:
    """Accuracy overall, by distance, by construction and by both (with counts), and OOV
    counts."""
    s = pair_scores(lm, pairs)
    words = sum(2 * len(p.good) for p in pairs)
    distances = [p.distance for p in pairs]
    constructions = [p.construction for p in pairs]
    distance_N, construction_N = np.array(distances), np.array(constructions)
    by_both = {
        c: accuracy_by(
            distance_N[construction_N == c].tolist(), s["correct"][construction_N == c], sort=True
        )
        for c in dict.fromkeys(constructions)
    }
    return {
        "accuracy": float(np.mean(s["correct"])),
        "count": len(pairs),
        "by_distance": accuracy_by(distances, s["correct"], sort=True),
        "by_construction": accuracy_by(constructions, s["correct"], sort=False),
        "by_construction_distance": by_both,
        "oov_words": int(s["oov"].sum()),
        "oov_rate": float(s["oov"].sum() / words),
        "pairs_with_oov": int(np.sum(s["oov"] > 0)),
        "pairs_unresolved": int(s["same_ids"].sum()),
    }


def minimal_pair_accuracy(model, params, vocab: Vocab, config, *, stream=False) -> dict[str, float]:
    """{distance: accuracy} of the synthetic corpus's pairs, `config.per_distance` per
    distance (config: the training config's `minimal_pairs` block)."""
    distances = tuple(int(d) for d in config.distances)
    pairs = minimal_pairs.synthetic(
        seed=config.seed,
        per_distance=config.per_distance,
        distances=distances,
        kinds=(config.kind,),
    )
    by_distance = evaluate(LM(model, params, vocab, stream), pairs)["by_distance"]
    return {str(d): by_distance[str(d)]["accuracy"] for d in distances}
