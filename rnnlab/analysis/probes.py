"""Syntax probes by layer: how linearly readable are a word's UPOS tag, dependency relation
and depth in the tree from each layer of a trained RNN (Shi et al. 2016; the probing
literature), next to two baselines that give the numbers a meaning.

    sentences = list(formats.read_conllu(path, syntax=True))   # tokens, tags, heads, deprels
    labels = word_labels(sentences)                 # {"upos": [N], "deprel": [N], "depth": [N]}
    layers_N, oov = word_states(run, sentences)     # [N, D] per layer; layer 0 = the input
    twin = random_twin(run)                         # the same architecture, random weights
    train_c, dev_c = control_labels(train_types, train_labels, dev_types)

Layer 0 is what the recurrent stack reads (word embeddings, with a character encoder's
vectors beside them); layer l its l-th layer's h (forward and backward concatenated in a
bidirectional layer). The probe is `activations.softmax_probe` on all units of one layer.
The baselines: the run's model with random weights (a probe on an untrained RNN already
reads much from the word identity and its neighbours), and Hewitt & Liang's (2019)
control task, which gives every word type a random but fixed label with the task's label
distribution: what a probe gets there it gets by memorising word types, so selectivity
= task accuracy − control accuracy is what the representation adds.

Every EWT token is fed to the model as the run's vocabulary conventions say
(`model_words`); a word the vocabulary lacks is <unk>, and the OOV rate is reported.
"""

from __future__ import annotations

import dataclasses
import re

import jax
import numpy as np

from rnnlab import runs
from rnnlab.analysis import activations
from rnnlab.data import batching
from rnnlab.data.vocab import BOS

LABEL_KINDS = ("upos", "deprel", "depth")
MAX_DEPTH = 8  # deeper words share one label, "8+" (about 1% of EWT words)
MAX_WORD_CHARS = 16  # as the tagger and the parser read words (pipeline.encode)
PAD_MULTIPLE = 16  # T in steps of 16: few shapes, few compilations

# --------------------------------------------------------------------------- labels


def tree_depths(heads: list[int]) -> list[int]:
    """Each word's number of arcs below the sentence's root word (which has depth 0);
    heads are 1-based, 0 = the root. A cycle or a head out of range is an error."""
    depths: list[int | None] = [None] * len(heads)
    for start in range(len(heads)):
        path, i = [], start
        while depths[i] is None:
            if i in path:
                raise ValueError(f"heads {heads} have a cycle through word {i + 1}")
            path.append(i)
            head = heads[i]
            if not 0 <= head <= len(heads):
                raise ValueError(f"word {i + 1} has head {head}: not in 0..{len(heads)}")
            if head == 0:
                depths[i] = 0
                break
            i = head - 1
        below = depths[i]
        for j in reversed(path):  # the walk, from the nearest known word back to `start`
            if depths[j] is None:
                below += 1
                depths[j] = below
    return depths


def word_labels(sentences) -> dict[str, np.ndarray]:
    """{kind: one label (a string) per word of all sentences, in order}: the UPOS tag, the
    universal relation (subtype stripped, nmod:poss -> nmod, as the ewt_deps:universal
    view) and the depth, with depths of MAX_DEPTH and more as one label."""
    out = {kind: [] for kind in LABEL_KINDS}
    for s in sentences:
        out["upos"] += s["tags"]
        out["deprel"] += [r.partition(":")[0] for r in s["deprels"]]
        out["depth"] += [
            f"{MAX_DEPTH}+" if d >= MAX_DEPTH else str(d) for d in tree_depths(s["heads"])
        ]
    return {k: np.array(v) for k, v in out.items()}


def word_types(sentences) -> np.ndarray:
    """Each word's type for the control task: its lowercased form (most models here read
    lowercased words, so "The" and "the" must not get two labels)."""
    return np.array([t.lower() for s in sentences for t in s["tokens"]])


def control_labels(train_types_N, train_labels_N, dev_types_M, *, seed: int = 0):
    """(train, dev) control labels (Hewitt & Liang 2019): every word type, in train or
    dev, gets one label drawn from the distribution of the train labels over tokens, and
    keeps it wherever it occurs."""
    classes, counts = np.unique(np.asarray(train_labels_N), return_counts=True)
    types = np.unique(np.concatenate([np.asarray(train_types_N), np.asarray(dev_types_M)]))
    drawn = np.random.default_rng(seed).choice(classes, size=len(types), p=counts / counts.sum())
    label_of = dict(zip(types.tolist(), drawn.tolist(), strict=True))
    return tuple(np.array([label_of[t] for t in ts]) for ts in (train_types_N, dev_types_M))


# --------------------------------------------------------------------------- words


def ptb_word(token: str) -> str:
    """An EWT token in Mikolov's PTB conventions: lowercased, numbers (and "%") as N."""
    if token == "%" or re.fullmatch(r"[+-]?\d[\d,./:-]*", token):
        return "N"
    return token.lower()


# A data set's own conventions (the first part of config.dataset: "ptb", "ptb+sst"). The
# vocabulary does the rest (its lowercasing); punctuation, which PTB has none of, is <unk>.
CONVENTIONS = {"ptb": ptb_word}


def model_words(run: runs.Run, tokens: list[str]) -> list[str]:
    """The words the run's model is given for `tokens`: the one place where a run's
    vocabulary conventions are applied."""
    convert = CONVENTIONS.get(re.split(r"[+:]", run.config.get("dataset", ""))[0])
    return [convert(t) for t in tokens] if convert else list(tokens)


@dataclasses.dataclass(frozen=True)
class Encoded:
    ids: np.ndarray  # [T] the model's input ids
    chars: list[np.ndarray] | None  # each position's character ids (a char encoder's input)
    offset: int  # ids[offset + i] is word i (a sentence LM's <s>, a parser's root before)
    unknown: int  # words read as <unk>


def encode(run: runs.Run, tokens: list[str]) -> Encoded:
    """A sentence as the run's model reads it, as in its training."""
    words, chars = run.vocabs["words"], run.vocabs.get("chars")
    sentence_lm = run.task == "lm" and run.config.get("lm_mode") == "sentences"
    offset = int(sentence_lm or run.task == "parsing")
    if run.task not in ("lm", "tagging", "parsing", "classification"):
        raise ValueError(f"{run.workdir}: a {run.task} model has no states per word to probe")
    if run.task == "parsing" and "upos" in run.vocabs:
        raise ValueError(f"{run.workdir}: this parser reads gold UPOS tags; probing it is moot")
    mapped = model_words(run, tokens)
    ids = words.encode([BOS] * offset + mapped)  # BOS is also the parser's root token
    unknown = sum(w not in words for w in mapped)
    if chars is None:
        return Encoded(ids, None, offset, unknown)
    root = [np.zeros(0, np.int32)] * offset  # the root has no characters (tasks/parsing.py)
    return Encoded(ids, root + [chars.encode(t[:MAX_WORD_CHARS]) for t in tokens], offset,
                   unknown)  # fmt: skip


def word_states(run: runs.Run, sentences, *, rows: int = 32) -> tuple[list[np.ndarray], float]:
    """([N, D] per layer, layer 0 = the stack's input), one row per word of all
    sentences in order, float32; and the share of words read as <unk>."""
    encoded = [encode(run, s["tokens"]) for s in sentences]
    lengths = [len(e.ids) for e in encoded]
    by_sentence = [None] * len(encoded)
    for chunk in batching.by_length(lengths, rows):
        T = -(-max(lengths[i] for i in chunk) // PAD_MULTIPLE) * PAD_MULTIPLE
        tokens_BxT, mask_BxT = batching.pad_rows([encoded[i].ids for i in chunk], rows, T)
        extra = ()
        if encoded[0].chars is not None:
            extra = (batching.pad_chars([encoded[i].chars for i in chunk], rows, T),)
        xs_BxTxD, steps = activations.stack_states(run.model, run.params, tokens_BxT, mask_BxT,
                                                   *extra)  # fmt: skip
        layers_BxTxD = [np.asarray(xs_BxTxD, np.float32)]
        layers_BxTxD += [np.asarray(layer["h"], np.float32) for layer in steps]
        for b, i in enumerate(chunk):
            e = encoded[i]
            words = slice(e.offset, len(e.ids))
            by_sentence[i] = [a[b, words] for a in layers_BxTxD]
    layers = [np.concatenate(parts) for parts in zip(*by_sentence, strict=True)]
    words = sum(len(e.ids) - e.offset for e in encoded)
    return layers, sum(e.unknown for e in encoded) / words


def random_twin(run: runs.Run, seed: int = 0) -> runs.Run:
    """The run with its model re-initialised: the same spec (architecture, vocabularies,
    sizes), weights drawn as at the start of training."""
    e = encode(run, ["a"])
    tokens_1xT, mask_1xT = batching.pad_rows([e.ids], 1, len(e.ids))
    extra = () if e.chars is None else (batching.pad_chars([e.chars], 1, len(e.ids)),)
    params = run.model.init(jax.random.key(seed), tokens_1xT, mask_1xT, *extra)["params"]
    if jax.tree.structure(params) != jax.tree.structure(run.params):
        raise ValueError(f"{run.workdir}: its parameters are not those its model initialises")
    return dataclasses.replace(run, params=params)


def sample_sentences(sentences, max_words: int, seed: int = 0) -> list:
    """Sentences in a seeded random order until `max_words` words (all if 0): a cheaper
    probe training set that keeps whole sentences (their states need their context)."""
    if max_words <= 0:
        return list(sentences)
    chosen, words = [], 0
    for i in np.random.default_rng(seed).permutation(len(sentences)):
        if words >= max_words:
            break
        chosen.append(sentences[int(i)])
        words += len(sentences[int(i)]["tokens"])
    return chosen


# --------------------------------------------------------------------------- probing


def probe_layers(train_layers, dev_layers, train_labels: dict, dev_labels: dict, *,
                 l2: float, max_steps: int) -> dict:  # fmt: skip
    """{kind: {"accuracy": [per layer], ...}}: a probe per layer and label kind."""
    out = {}
    for kind, train_y in train_labels.items():
        reports = [
            activations.softmax_probe(
                X_train, train_y, X_dev, dev_labels[kind], l2=l2, max_steps=max_steps
            )  # fmt: skip
            for X_train, X_dev in zip(train_layers, dev_layers, strict=True)
        ]
        out[kind] = {
            "accuracy": [r["dev_accuracy"] for r in reports],
            "train_accuracy": [r["train_accuracy"] for r in reports],
        }
    return out


def probe_run(run: runs.Run, train, dev, *, l2: float = 1.0, max_steps: int = 500,
              seed: int = 0) -> dict:  # fmt: skip
    """Task and control probes on every layer of the run and of its random twin.

    train, dev: sentences of read_conllu(syntax=True). Selectivity = task − control."""
    labels = {"train": word_labels(train), "dev": word_labels(dev)}
    types = {"train": word_types(train), "dev": word_types(dev)}
    control = {"train": {}, "dev": {}}
    for k, kind in enumerate(LABEL_KINDS):
        control["train"][kind], control["dev"][kind] = control_labels(
            types["train"], labels["train"][kind], types["dev"], seed=seed + k
        )
    out = {"task": run.task, "step": run.step}
    for name, model_run in (("trained", run), ("random", random_twin(run, seed))):
        (train_X, train_oov), (dev_X, dev_oov) = (word_states(model_run, s) for s in (train, dev))
        result = probe_layers(train_X, dev_X, labels["train"], labels["dev"], l2=l2,
                              max_steps=max_steps)  # fmt: skip
        controls = probe_layers(train_X, dev_X, control["train"], control["dev"], l2=l2,
                                max_steps=max_steps)  # fmt: skip
        for kind, r in result.items():
            r["control"] = controls[kind]["accuracy"]
            r["selectivity"] = [a - c for a, c in zip(r["accuracy"], r["control"], strict=True)]
        out[name] = result
    out["oov_rate"] = {"train": train_oov, "dev": dev_oov}  # the twin reads the same words
    out["layer_sizes"] = [int(X.shape[1]) for X in dev_X]
    return out


def majority_accuracy(train, dev) -> dict[str, float]:
    """Dev accuracy of always guessing the most frequent train label of each kind."""
    out = {}
    for kind, train_y in word_labels(train).items():
        values, counts = np.unique(train_y, return_counts=True)
        out[kind] = float((word_labels(dev)[kind] == values[counts.argmax()]).mean())
    return out
