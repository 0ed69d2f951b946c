"""Users' own data in one line: TSV / JSON Lines files by spec, or examples in memory.

    tsv:data/{split}.tsv?text=review&label=stars     classification: any number of
                                                     classes, labels as strings
    jsonl:data/{split}.jsonl?text=words&tags=ner     tagging: one tag per token
    tsv:corpus/{split}.tsv?text=sentence             lm: the text only
    register("reviews", {"train": [...], "dev": [...]}) then dataset "reviews"

A spec is `tsv:` or `jsonl:`, a path (with "{split}" for train/dev/test files; without
it the file is the train split only), and after "?" the fields as `role=name` joined by
"&" (`role` alone: a field named as the role). The roles: `text` (default: a field
"text"; its tokens are split on spaces, a JSON list of strings is taken as is), `label`
(a string or an integer), `tags` (like `text`, one per token). The roles named decide
the task: tags -> tagging, label -> classification, else lm.

Labels become ids in the order of `label_names` (sorted: numerically when every label is
an integer, so "2" < "10"), taken from the train split: a dev or test label the train
split lacks is an error at its line. The names go with the examples
(`Examples.label_names`), with the run (the "labels" vocabulary), and back out of
`rnnlab.load(...).classify`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterable

from rnnlab.data import formats
from rnnlab.data.vocab import PAD, Vocab

FILE_FORMATS = formats.USER_FORMATS
_REGISTERED: dict[str, InMemory] = {}


@dataclasses.dataclass(frozen=True)
class UserSpec:
    """A parsed `tsv:` / `jsonl:` spec."""

    format: str
    pattern: str  # the path, maybe with "{split}"
    fields: tuple[tuple[str, str], ...]  # (role, field name), "text" first

    @property
    def task(self) -> str:
        return task_of_roles(dict(self.fields))

    def path(self, split: str) -> str:
        return split_path(f"{self.format}:{self.pattern}", self.pattern, split)


@dataclasses.dataclass(frozen=True)
class InMemory:
    """Registered examples: each split's, labels already ids."""

    task: str
    splits: dict[str, list[dict]]
    label_names: tuple[str, ...] | None


def task_of_roles(roles: Iterable[str]) -> str:
    roles = set(roles)
    return "tagging" if "tags" in roles else "classification" if "label" in roles else "lm"


def parse(format: str, rest: str) -> UserSpec:
    """`PATH?role=name&...` of a `tsv:` / `jsonl:` spec (ValueError: what was expected)."""
    pattern, _, query = rest.partition("?")
    spec = f"{format}:{rest}"
    if not pattern:
        raise ValueError(f"{spec!r}: expected a path after '{format}:'")
    fields = {"text": "text"}
    for item in filter(None, query.split("&")):
        role, _, name = item.partition("=")
        if role not in formats.USER_ROLES:
            raise ValueError(f"{spec!r}: unknown field role {role!r}; expected "
                             f"role=name with role one of {list(formats.USER_ROLES)}")  # fmt: skip
        fields[role] = name or role
    if "label" in fields and "tags" in fields:
        raise ValueError(f"{spec!r}: name a label (classification) or tags (tagging), not both")
    return UserSpec(format, pattern, tuple(fields.items()))


def split_path(spec: str, pattern: str, split: str) -> str:
    """The file of `split`: "{split}" replaced; a path without it is train only."""
    if "{split}" not in pattern and split != "train":
        raise ValueError(
            f"{spec} is a train split only; to read a {split!r} split write the path "
            "with {split} (data/{split}.tsv: data/train.tsv, data/dev.tsv, ...) or evaluate "
            "on another data set "
            "(--config.dev_dataset=...)"
        )
    return pattern.replace("{split}", split)


def label_names(labels: Iterable[str]) -> tuple[str, ...]:
    """The classes in id order: sorted, numerically when every label is an integer."""
    names = set(labels)
    if all(re.fullmatch(r"[+-]?\d+", n) for n in names):
        return tuple(sorted(names, key=lambda n: (int(n), n)))
    return tuple(sorted(names))


def load_file(spec: UserSpec, split: str) -> tuple[list[dict], tuple[str, ...] | None]:
    """(examples of one split in the task schema, the label names or None)."""
    fields, path = dict(spec.fields), spec.path(split)
    if "label" not in fields:
        return list(formats.read_user_file(path, spec.format, fields)), None
    train = spec.path("train")
    names = _train_label_names(spec, train, *_stamp(train))
    ids = {n: i for i, n in enumerate(names)}
    return list(formats.read_user_file(path, spec.format, fields, labels=ids)), names


def _stamp(path: str) -> tuple[int, int]:
    """What tells a changed file (a cache key part); a missing file reads as such."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return 0, -1
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=16)
def _train_label_names(spec: UserSpec, train: str, *stamp: int) -> tuple[str, ...]:
    """The label names of the train file (read once per file version)."""
    del stamp
    examples = formats.read_user_file(train, spec.format, dict(spec.fields))
    return label_names(ex["label"] for ex in examples)


def label_vocabs(examples) -> dict[str, Vocab]:
    """{"labels": the class names} of examples whose data names them (a run stores it;
    id i is class i - 1: a vocabulary starts with padding), else {}."""
    names = getattr(examples, "label_names", None)
    return {"labels": Vocab((PAD, *names))} if names else {}


def register(name: str, splits: dict[str, list[dict]]) -> None:
    """Examples in memory as the data set `name` (`datasets.register` checks the name):
    each split a list of dicts in the task schema, "tokens" (a list of strings, or a
    string split on spaces) + "label" (a string or integer: classification) or "tags"
    (tagging), else lm. Registering a name again replaces it."""
    if "train" not in splits or not splits["train"]:
        raise ValueError(f"{name!r}: expected a non-empty 'train' split; got {sorted(splits)}")
    first = splits["train"][0]
    if not isinstance(first, dict):
        raise ValueError(f"{name} train example 0: expected a dict, got {type(first).__name__}")
    fields = {"text": "tokens", **{r: r for r in ("label", "tags") if r in first}}
    names = None
    if "label" in fields:
        names = label_names(str(ex.get("label", "")).strip() for ex in splits["train"])
    ids = None if names is None else {n: i for i, n in enumerate(names)}
    examples = {}
    for split, exs in splits.items():
        examples[split] = [
            _memory_example(name, split, i, ex, fields, ids) for i, ex in enumerate(exs)
        ]
    _REGISTERED[name] = InMemory(task_of_roles(fields), examples, names)


def _memory_example(name, split, i, ex, fields, ids) -> dict:
    try:
        if not isinstance(ex, dict):
            raise ValueError(f"expected a dict, got {type(ex).__name__}")
        return formats.user_example(ex, fields, ids)
    except ValueError as e:
        raise ValueError(f"{name} {split} example {i}: {e}") from None


def registered(name: str) -> InMemory | None:
    return _REGISTERED.get(name)


def load_registered(name: str, split: str) -> list[dict]:
    data = _REGISTERED[name]
    if split not in data.splits:
        raise ValueError(f"data set {name!r} has no split {split!r}; it has {sorted(data.splits)}")
    return data.splits[split]
