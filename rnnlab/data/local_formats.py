"""The local file formats: which files each data set has, its task, how to read it.

    LOCAL_FORMATS[name] -> LocalFormat(task, files, read, views)

`files` maps a split to a path under the source directory (laid out like
../shared/data); `read(path, split)` yields the *stored* examples, before any view
(`datasets` maps them to the task schema, e.g. picks UPOS or XPOS tags for "ewt").
Shared by `datasets` (reads the files into memory) and `tfds_local` (prepares them as
a TFDS data set), which import this module and not each other.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence

from rnnlab.data import formats, subwords, words

SHAKESPEARE_VALID_FRACTION = 0.1
IMDB_PIECES = 16_000  # SentencePiece vocabulary of the "imdb" tokens
IMDB_FILES = {"train": "train.txt.gz", "dev": "dev.txt.gz", "test": "test.txt.gz",
              "train_unsup": "unsup.txt.gz"}  # fmt: skip
NO_LABEL = -1  # unlabelled reviews (stored; the views drop it)


@dataclasses.dataclass(frozen=True)
class LocalFormat:
    task: str
    files: dict[str, str]  # split -> path under the source directory
    read: Callable[[str, str], Iterator[dict]]  # (path, split) -> stored examples
    views: tuple[str, ...] = ()
    view_tasks: dict[str, str] = dataclasses.field(default_factory=dict)  # view -> its task

    def task_for(self, views: tuple[str, ...]) -> str:
        """The first view (in `view_tasks` order, not the spec's) that sets a task wins."""
        return next((t for v, t in self.view_tasks.items() if v in views), self.task)


def _read_trees(path, split):
    """Sentences and (split "<s>_phrases") the inner nodes, each as stored examples."""
    for ex in formats.read_trees(path, phrases=split.endswith("_phrases")):
        if ex["phrase"] == split.endswith("_phrases"):
            yield {"tokens": ex["tokens"], "label": ex["label"]}


def _read_ewt(path, split):
    upos, xpos = formats.read_conllu(path), formats.read_conllu(path, tagset="xpos")
    for u, x in zip(upos, xpos, strict=True):
        yield {"tokens": u["tokens"], "upos": u["tags"], "xpos": x["tags"]}


def _read_ewt_deps(path, split):
    """Words, UPOS, heads (0 = root) and full relations (subtypes kept: `nmod:poss`)."""
    for ex in formats.read_conllu(path, syntax=True):
        yield {"tokens": ex["tokens"], "upos": ex["tags"], "heads": ex["heads"],
               "deprels": ex["deprels"]}  # fmt: skip


def _read_ewt_lemmas(path, split):
    """Words as (form characters, UPOS) -> lemma characters. Train: each distinct
    (form, UPOS, lemma) once, with its token count (word types, as lemmatizers train);
    dev/test: every token (the UD evaluation scores tokens). "in_name" counts the tokens
    that stand in a name (`in_name`)."""
    tokens = [
        (form, upos, lemma, name)
        for ex in formats.read_conllu(path, lemmas=True)
        for form, upos, lemma, name in zip(ex["tokens"], ex["tags"], ex["lemmas"],
                                           in_name(ex["tags"]), strict=True)
    ]  # fmt: skip
    if split != "train":
        words = (((form, upos, lemma), 1, name) for form, upos, lemma, name in tokens)
    else:
        counts, names = collections.Counter(), collections.Counter()
        for form, upos, lemma, name in tokens:
            counts[form, upos, lemma] += 1
            names[form, upos, lemma] += name
        words = ((word, count, names[word]) for word, count in counts.items())
    for (form, upos, lemma), count, names_count in words:
        yield {"source": list(form), "target": list(lemma), "feature": upos, "count": count,
               "in_name": names_count}  # fmt: skip


def in_name(upos: Sequence[str]) -> list[int]:
    """1 for each word of a sentence that a proper noun follows, else 0: where EWT keeps
    a capital in the lemma of a word that is not itself tagged PROPN ("Greater Houston"
    -> "Great", "Urban Development" -> "Urban"; `Dictionary.name_cased`)."""
    return [*(int(nxt == "PROPN") for nxt in upos[1:]), 0] if len(upos) else []


def _read_shakespeare(path, split):
    part = "valid" if split == "dev" else "train"
    yield {"text": formats.read_chars(path, split=part, valid_fraction=SHAKESPEARE_VALID_FRACTION)}


def _imdb_documents(path: str, split: str) -> Iterator[dict]:
    labelled = not split.endswith("_unsup")
    return formats.read_documents(path, num_classes=2 if labelled else None)


def _imdb_tokenizer(imdb_dir: str):
    """The IMDB pieces: trained on the unlabelled reviews, then the labelled training ones
    (never dev or test), the first `subwords.TRAIN_DOCUMENTS` of them."""
    corpus = [os.path.join(imdb_dir, IMDB_FILES[s]) for s in ("train_unsup", "train")]
    texts = (ex["text"] for p, s in zip(corpus, ("train_unsup", "train"), strict=True)
             for ex in _imdb_documents(p, s))  # fmt: skip
    return subwords.cached("imdb", texts, IMDB_PIECES, subwords.files_fingerprint(corpus))


def _read_imdb(path, split):
    """Reviews with their raw text, SentencePiece pieces, Treebank-style words (the
    "words" view) and label (NO_LABEL: unsup)."""
    docs = list(_imdb_documents(path, split))
    tokenizer = _imdb_tokenizer(os.path.dirname(path))
    for doc, tokens in zip(
        docs, subwords.pieces(tokenizer, [d["text"] for d in docs]), strict=True
    ):
        yield {"text": doc["text"], "tokens": tokens, "words": words.words(doc["text"]),
               "label": doc.get("label", NO_LABEL)}  # fmt: skip


def _splits(pattern: str, names=("train", "dev", "test")) -> dict[str, str]:
    return {s: pattern.format(n) for s, n in zip(("train", "dev", "test"), names, strict=True)}


LOCAL_FORMATS = {
    "sst": LocalFormat(
        "classification",
        _splits("classes/{}.txt"),
        lambda p, s: formats.read_classes(p),
        ("binary",),
    ),
    "sst_trees": LocalFormat(
        "classification",
        {
            **_splits("trees/{}.txt"),
            **{f"{k}_phrases": v for k, v in _splits("trees/{}.txt").items()},
        },
        _read_trees,
        ("binary", "phrases"),
    ),
    "ptb": LocalFormat(
        "lm",
        _splits("ptb/{}.txt", ("train", "valid", "test")),
        lambda p, s: formats.read_lm_text(p),
    ),
    "wikiner": LocalFormat("tagging", _splits("tags/{}.txt"), lambda p, s: formats.read_tags(p)),
    "ewt": LocalFormat(
        "tagging", _splits("ud_english_ewt/en_ewt-ud-{}.conllu"), _read_ewt, ("xpos",)
    ),
    "ewt_deps": LocalFormat(
        "parsing", _splits("ud_english_ewt/en_ewt-ud-{}.conllu"), _read_ewt_deps, ("universal",)
    ),
    "ewt_lemmas": LocalFormat(
        "seq2seq", _splits("ud_english_ewt/en_ewt-ud-{}.conllu"), _read_ewt_lemmas
    ),
    "imdb": LocalFormat(
        "classification",
        {s: f"imdb/{f}" for s, f in IMDB_FILES.items()},
        _read_imdb,
        ("unsup", "chars", "words"),
        {"chars": "chars", "unsup": "lm"},
    ),
    "shakespeare": LocalFormat(
        "chars",
        {"train": "tinyshakespeare/input.txt", "dev": "tinyshakespeare/input.txt"},
        _read_shakespeare,
    ),
}
