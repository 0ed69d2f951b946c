"""One switch for every data set: local files, the TFDS catalog, or the synthetic corpus.

    load_dataset(spec, split, source_dir=None, data_dir=None) -> random-access examples

`spec` (what `--config.dataset=` holds) is a name with optional views after a colon:

    local formats (files under source_dir, laid out like ../shared/data; the table is
    `local_formats.LOCAL_FORMATS`):
      sst          classes/{train,dev,test}.txt           classification, 5 classes
      sst_trees    trees/{train,dev,test}.txt             classification (+ "phrases")
      ptb          ptb/{train,valid,test}.txt             lm
      wikiner      tags/{train,dev,test}.txt              tagging
      ewt          ud_english_ewt/en_ewt-ud-{split}.conllu tagging, UPOS (or "xpos")
      ewt_deps     the same files, with syntax             parsing: heads, full relations
                   ("universal": subtypes stripped, nmod:poss -> nmod)
      ewt_lemmas   the same files, one example per word    seq2seq: (form, UPOS) -> lemma;
                   train: each distinct (form, UPOS, lemma) with its count; dev/test: tokens
      shakespeare  tinyshakespeare/input.txt              chars, last 10% = dev
      imdb         imdb/{train,dev,test}.txt.gz           classification of raw reviews as
                   SentencePiece pieces (`subwords`); "words": as Treebank-style words
                   instead (`words`, SST's tokenization); "unsup": lm over the text, the
                   50k unlabelled reviews added to train; "chars": the raw text (chars)
    synthetic      no files: "synthetic:lm", "synthetic:classification", "synthetic:tagging"
    text:PATH      any text, one sentence per line, space-separated tokens (lm); PATH may
                   hold "{split}" ("text:/data/{split}.txt"), else it is the train split only
    tsv:PATH?text=review&label=stars   a user's TSV (header line) or JSON Lines file
    jsonl:PATH?text=words&tags=ner     (`user_formats`): the fields named decide the task
                   (label: classification, string labels, any number of classes; tags:
                   tagging; text only: lm); PATH may hold "{split}", as for text:
    NAME           examples in memory: `register(NAME, {"train": [...], "dev": [...]})`
    TFDS catalog   glue/sst2, imdb_reviews, tiny_shakespeare, universal_dependencies/en_ewt
                   (":xpos" view), lm1b -- downloaded by TFDS (needs network)
    views          binary (SST-2 view of sst / sst_trees), phrases (sst_trees), xpos,
                   universal (ewt_deps), unsup, chars and words (imdb);
                   combine with commas: "sst_trees:phrases,binary"
    A+B            the examples of A, then those of B, in the fields they share: "ptb+sst"
                   is PTB and SST sentences as one LM corpus (task "lm"; labels dropped);
                   so a text:, tsv: or jsonl: path must not contain "+"

Splits are "train", "dev" and "test" ("valid"/"validation" mean "dev").

Examples come back in one schema per task, whatever the origin:
    classification {"tokens": list[str], "label": int}   lm {"tokens": list[str]}
                   (labels a user's data names: `Examples.label_names`, in id order)
    tagging {"tokens": list[str], "tags": list[str]}      chars {"text": str}
    seq2seq {"source": list[str], "target": list[str], "feature": str, "count": int}
    parsing {"tokens": list[str], "upos": list[str], "heads": list[int] (0 = the root,
             words numbered from 1), "deprels": list[str]}

With `data_dir`, local formats are prepared once as a TFDS data set in array_record
format (builder `rnnlab_local`, one config per format) and read back with
`as_data_source`, without TensorFlow; a second call reuses the prepared copy. Without
`data_dir` the files are read straight into memory (same examples, same order).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence

import numpy as np

from rnnlab.data import formats, synthetic, user_formats
from rnnlab.data.local_formats import LOCAL_FORMATS, NO_LABEL, LocalFormat

SPLIT_ALIASES = {"valid": "dev", "validation": "dev"}
PATH_SPECS = ("text", *user_formats.FILE_FORMATS)  # "name:PATH" specs
TASKS = ("classification", "lm", "tagging", "chars", "seq2seq", "parsing")
TASK_FIELDS = {
    **synthetic.TASK_FIELDS,
    "chars": ("text",),
    "parsing": ("tokens", "upos", "heads", "deprels"),
    "seq2seq": ("source", "target", "feature", "count"),
}  # each task's example schema


# ---- TFDS catalog: map each data set's features to the example schema ----------------


def _text(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _split(x) -> list[str]:
    """Catalog text is whitespace tokenized (GLUE SST-2 already is; IMDB only roughly)."""
    return _text(x).split()


def _ud_example(ex, tagset):
    from tensorflow_datasets.core.dataset_builders.conll import conllu_dataset_builder_utils

    upos = conllu_dataset_builder_utils.UPOS
    # Multiword-token ranges and empty nodes have no head: keep the syntactic words only.
    keep = [i for i, h in enumerate(ex["head"]) if _text(h) != "_"]
    tags = [upos[int(ex["upos"][i])] for i in keep] if tagset == "upos" else None
    tags = tags or [_text(ex["xpos"][i]) for i in keep]
    return {"tokens": [_text(ex["tokens"][i]) for i in keep], "tags": tags}


@dataclasses.dataclass(frozen=True)
class CatalogFormat:
    task: str
    splits: dict[str, str]  # our split -> TFDS split
    to_example: Callable[[dict, tuple[str, ...]], dict]
    views: tuple[str, ...] = ()


CATALOG = {
    "glue/sst2": CatalogFormat(
        "classification",
        {"train": "train", "dev": "validation", "test": "test"},
        lambda ex, v: {"tokens": _split(ex["sentence"]), "label": int(ex["label"])},
    ),
    "imdb_reviews": CatalogFormat(
        "classification",
        {"train": "train", "test": "test"},
        lambda ex, v: {"tokens": _split(ex["text"]), "label": int(ex["label"])},
    ),
    "tiny_shakespeare": CatalogFormat(
        "chars",
        {"train": "train", "dev": "validation", "test": "test"},
        lambda ex, v: {"text": _text(ex["text"])},
    ),
    "universal_dependencies/en_ewt": CatalogFormat(
        "tagging",
        {"train": "train", "dev": "dev", "test": "test"},
        lambda ex, v: _ud_example(ex, "xpos" if "xpos" in v else "upos"),
        ("xpos",),
    ),
    "lm1b": CatalogFormat(
        "lm", {"train": "train", "test": "test"}, lambda ex, v: {"tokens": _split(ex["text"])}
    ),
}


# ---- the view applied to stored examples (module-level: grain workers pickle them) ----


def _identity(ex: dict) -> dict:
    return ex


def _catalog_view(ex: dict, name: str, views: tuple[str, ...]) -> dict:
    return CATALOG[name].to_example(ex, views)


def _local_view(ex: dict, views: tuple[str, ...]) -> dict | None:
    """A stored (possibly TFDS-decoded) example -> the task schema; None = not in view."""
    out = {}
    for key, value in ex.items():
        if key in ("label", "count", "in_name"):
            out[key] = int(value)
        elif key in ("text", "feature"):
            out[key] = _text(value)
        elif key == "heads":
            out[key] = [int(h) for h in value]
        else:
            out[key] = [_text(t) for t in value]
    if "xpos" in out:
        upos, xpos = out.pop("upos"), out.pop("xpos")
        out["tags"] = xpos if "xpos" in views else upos
    if "universal" in views:
        out["deprels"] = [r.partition(":")[0] for r in out["deprels"]]
    word_tokens = out.pop("words", None)  # raw documents store pieces and words
    if "words" in views:
        out["tokens"] = word_tokens
    if "text" in out and "tokens" in out:  # raw documents: the text or its tokens
        del out["tokens" if "chars" in views else "text"]
    if out.get("label") == NO_LABEL or "unsup" in views:  # unlabelled text, all of it
        out.pop("label", None)
    if "binary" in views:
        label = formats.binary_label(out["label"])
        if label is None:
            return None
        out["label"] = label
    return out


class Examples(Sequence):
    """Random access to examples in the task schema over any indexable store."""

    def __init__(self, store, view: Callable[[dict], dict | None], task: str, name: str, *,
                 filters: bool = False, label_names: tuple[str, ...] | None = None):  # fmt: skip
        self.store, self.view, self.task, self.name = store, view, task, name
        self.label_names = label_names  # the class of each label id, where the data names them
        self.index = None
        if filters:  # a filtering view (binary) needs the kept indices: one pass, once
            self.index = np.array([i for i in range(len(store)) if view(store[i]) is not None])

    def __len__(self) -> int:
        return len(self.store) if self.index is None else len(self.index)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"example {i} out of range for {self!r}")
        i %= len(self)
        j = i if self.index is None else int(self.index[i])
        return self.view(self.store[j])

    def __repr__(self) -> str:
        return f"Examples({self.name!r}, task={self.task!r}, n={len(self)})"


class _Concat(Sequence):
    """Several random-access stores end to end."""

    def __init__(self, parts):
        self.parts = parts
        self.starts = np.cumsum([0] + [len(p) for p in parts])

    def __len__(self):
        return int(self.starts[-1])

    def __getitem__(self, i):
        k = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.parts[k][i - int(self.starts[k])]


def parse_spec(spec: str) -> tuple[str, tuple[str, ...]]:
    name, _, views = spec.partition(":")
    if name in PATH_SPECS:  # the rest is one path (and fields), commas and all
        return name, (views,)
    return name, tuple(v for v in views.split(",") if v)


def spec_parts(spec: str) -> list[str]:
    """The data sets a "+"-joined spec concatenates (one for a plain spec)."""
    return spec.split("+")


def _shared_task(tasks: list[str], spec: str) -> str:
    """The task of a concatenation: the one whose fields all parts have."""
    if len(set(tasks)) == 1:
        return tasks[0]
    shared = set.intersection(*(set(TASK_FIELDS[t]) for t in tasks))
    for task, fields in TASK_FIELDS.items():
        if set(fields) == shared:
            return task
    raise ValueError(f"{spec!r} joins data sets of tasks {tasks} that share no example schema")


def _project(ex: dict, fields: tuple[str, ...]) -> dict:
    return {k: ex[k] for k in fields}


def canonical_split(split: str) -> str:
    return SPLIT_ALIASES.get(split, split)


def task_of(spec: str) -> str:
    parts = spec_parts(spec)
    if len(parts) > 1:
        return _shared_task([task_of(p) for p in parts], spec)
    name, views = parse_spec(spec)
    if name == "text":
        return "lm"
    if name in user_formats.FILE_FORMATS:
        return user_formats.parse(name, views[0]).task
    if user_formats.registered(name):
        return user_formats.registered(name).task
    if name == "synthetic":
        return views[0] if views else "lm"
    fmt = LOCAL_FORMATS.get(name) or CATALOG.get(name)
    if fmt is None:
        raise ValueError(_unknown(name))
    return fmt.task_for(views) if isinstance(fmt, LocalFormat) else fmt.task


def known_names() -> list[str]:
    """The names a spec may start with (but those of `register`)."""
    return sorted(LOCAL_FORMATS) + ["synthetic", *PATH_SPECS] + sorted(CATALOG)


def register(name: str, splits: dict[str, list[dict]]) -> None:
    """Examples in memory as the data set `name` (`config.dataset = name`): splits
    "train", "dev", "test" (or their aliases), examples as `user_formats.register` takes
    them. A name that a spec already means is refused."""
    if parse_spec(name)[0] != name or "+" in name or name in known_names():
        raise ValueError(f"cannot register {name!r}: a data set name has no ':' or '+' and "
                         f"is none of {known_names()}")  # fmt: skip
    user_formats.register(name, {canonical_split(s): exs for s, exs in splits.items()})


def _unknown(name: str) -> str:
    known = [f"{n}:PATH" if n in PATH_SPECS else n for n in known_names()]
    return f"unknown dataset {name!r}; expected one of {known} or a registered name"


def _check_views(name, views, allowed):
    bad = [v for v in views if v not in allowed]
    if bad:
        raise ValueError(f"dataset {name!r} has no view {bad}; available views: {list(allowed)}")


def load_dataset(
    spec: str,
    split: str = "train",
    *,
    source_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    seed: int = 0,
    synthetic_options: dict | None = None,
) -> Examples:
    """Examples of one split of `spec` (see the module docstring).

    source_dir: the directory with the local files (TFDS's manual_dir).
    data_dir: where TFDS data sets are prepared/cached; None reads local files directly.
    seed: the synthetic corpus's seed.
    synthetic_options: keyword arguments of `synthetic.corpus` (e.g. max_distance).
    """
    split = canonical_split(split)
    if len(spec_parts(spec)) > 1:
        parts = [
            load_dataset(p, split, source_dir=source_dir, data_dir=data_dir, seed=seed,
                         synthetic_options=synthetic_options)
            for p in spec_parts(spec)
        ]  # fmt: skip
        task = _shared_task([p.task for p in parts], spec)
        if task == "classification" and any(p.label_names for p in parts):
            raise ValueError(f"{spec!r}: data sets with named labels are not joined by '+' "
                             "(each numbers its own classes); write them as one file")  # fmt: skip
        view = functools.partial(_project, fields=TASK_FIELDS[task])
        return Examples(_Concat(parts), view, task, spec)
    name, views = parse_spec(spec)
    if name == "text":
        return Examples(_read_text(views[0], split), _identity, "lm", spec)
    if name in user_formats.FILE_FORMATS:
        user_spec = user_formats.parse(name, views[0])
        store, names = user_formats.load_file(user_spec, split)
        return Examples(store, _identity, user_spec.task, spec, label_names=names)
    if user_formats.registered(name):
        _check_views(name, views, ())
        store = user_formats.load_registered(name, split)
        data = user_formats.registered(name)
        return Examples(store, _identity, data.task, spec, label_names=data.label_names)
    if name == "synthetic":
        task = views[0] if views else "lm"
        store = synthetic.examples(task, split, seed=seed, **(synthetic_options or {}))
        return Examples(store, _identity, task, spec)
    if name in CATALOG:
        fmt = CATALOG[name]
        _check_views(name, views, fmt.views)
        if split not in fmt.splits:
            raise ValueError(f"{name} has no split {split!r}; it has {sorted(fmt.splits)}")
        store = _catalog_source(name, fmt.splits[split], data_dir)
        view = functools.partial(_catalog_view, name=name, views=views)
        return Examples(store, view, fmt.task, spec)
    if name not in LOCAL_FORMATS:
        raise ValueError(_unknown(name))
    fmt = LOCAL_FORMATS[name]
    _check_views(name, views, fmt.views)
    if source_dir is None and data_dir is None:
        raise ValueError(f"{name!r} is read from local files: give source_dir (../shared/data?)")
    parts = [split] + [f"{split}_{v}" for v in views if f"{split}_{v}" in fmt.files]
    if data_dir is None:
        stores = [list(fmt.read(_local_path(name, fmt, source_dir, s), s)) for s in parts]
    else:
        from rnnlab.data import tfds_local

        stores = [tfds_local.data_source(name, s, source_dir, data_dir) for s in parts]
    store = stores[0] if len(stores) == 1 else _Concat(stores)
    view = functools.partial(_local_view, views=views)
    return Examples(store, view, fmt.task_for(views), spec, filters="binary" in views)


def _read_text(pattern: str, split: str) -> list[dict]:
    """A user's text file: one sentence per line (read into memory, never prepared)."""
    return list(formats.read_lm_text(user_formats.split_path(f"text:{pattern}", pattern, split)))


def _local_path(name: str, fmt: LocalFormat, source_dir, split: str) -> str:
    if split not in fmt.files:
        available = sorted(s for s in fmt.files if "_" not in s)  # not a view's extra part
        raise ValueError(f"dataset {name!r} has no split {split!r}; expected one of {available}")
    return os.path.join(os.fspath(source_dir), fmt.files[split])


def _catalog_source(name: str, tfds_split: str, data_dir):
    """A TFDS catalog data set as an array_record data source (prepared on first use)."""
    import tensorflow_datasets as tfds

    return tfds.data_source(
        name,
        split=tfds_split,
        data_dir=None if data_dir is None else os.fspath(data_dir),
        download=True,
        builder_kwargs={"file_format": "array_record"},
    )
