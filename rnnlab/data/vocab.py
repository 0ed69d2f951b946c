"""Vocabularies: token <-> id maps built from training data only, saved as JSON.

Ids are deterministic: the reserved symbols first (`<pad>` is always 0), then tokens
by descending count, ties broken by the token string. A `Vocab` without `<unk>` (e.g.
a tag set) refuses unknown tokens instead of mapping them silently.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
from etils import epath

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
RESERVED = (PAD, UNK, BOS, EOS)


@dataclasses.dataclass(frozen=True)
class Vocab:
    tokens: tuple[str, ...]
    lowercase: bool = False

    def __post_init__(self):
        if not self.tokens or self.tokens[0] != PAD:
            raise ValueError(f"a vocabulary must start with {PAD!r} (id 0), got {self.tokens[:1]}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary must not contain duplicate tokens")
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(
        cls,
        sequences: Iterable[Sequence[str]],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        lowercase: bool = False,
        reserved: Sequence[str] = RESERVED,
    ) -> Vocab:
        """Count tokens over `sequences` (training data only); max_size includes reserved."""
        counts = collections.Counter()
        for seq in sequences:
            counts.update([t.lower() for t in seq] if lowercase else seq)
        reserved = tuple(reserved) if reserved and reserved[0] == PAD else (PAD, *reserved)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count and t not in reserved),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(reserved))]
        return cls(reserved + tuple(ranked), lowercase)

    @classmethod
    def build_chars(cls, texts: Iterable[str], **kwargs) -> Vocab:
        """Character vocabulary (char LMs, char-aware taggers): each text is split into chars."""
        return cls.build((list(t) for t in texts), **kwargs)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return self._norm(token) in self._ids

    def _norm(self, token: str) -> str:
        return token.lower() if self.lowercase and token not in RESERVED else token

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int | None:
        return self._ids.get(UNK)

    def id(self, token: str) -> int:
        i = self._ids.get(self._norm(token), self.unk_id)
        if i is None:
            raise KeyError(f"{token!r} is not in this vocabulary (which has no {UNK!r})")
        return i

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Tokens -> int32 ids; unknown tokens -> `<unk>`."""
        return np.array([self.id(t) for t in tokens], dtype=np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    def oov_rate(self, sequences: Iterable[Sequence[str]]) -> float:
        """Fraction of tokens not in the vocabulary (they would map to `<unk>`)."""
        total = oov = 0
        for seq in sequences:
            total += len(seq)
            oov += sum(self._norm(t) not in self._ids for t in seq)
        return oov / total if total else 0.0

    def save(self, path: str | os.PathLike) -> None:
        """As JSON (the tokens in id order and `lowercase`); `load` gives the same ids."""
        data = {"tokens": list(self.tokens), "lowercase": self.lowercase}
        epath.Path(path).write_text(json.dumps(data, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        data = json.loads(epath.Path(path).read_text(encoding="utf-8"))
        return cls(tuple(data["tokens"]), bool(data.get("lowercase", False)))
