"""Winograd schemas scored by a language model (Trinh & Le 2018, "A Simple Method for
Commonsense Reasoning"): put each candidate in the pronoun's place and keep the one
whose sentence the LM finds more probable.

    schemas = read_schemas("../shared/data/wsc/WSCollection.xml")   # the first 273: WSC273
    result = evaluate(agreement.load_lm(workdir), schemas[:273])

"The trophy doesn't fit into the brown suitcase because [it] is too large": "the
trophy" or "the brown suitcase" for "it". Two scores per substituted sentence:
"full", log p of the whole sentence, and "partial", log p of the words after the
substitution given everything before (Trinh & Le's better one: it does not reward a
candidate for being short or frequent itself).

Substitution (`substitute`): the candidate phrase as the schema gives it ("The city
councilmen", "the brown suitcase"), its first letter in the pronoun's case (a
determiner "The" becomes "the" mid-sentence; a name keeps its capital); a possessive
pronoun ("his", "its", "their", and "her" unless the next word is a determiner,
preposition or conjunction, as in "gave her a look") becomes the candidate with "'s"
("his bishop" -> "Tom's bishop"), unless the candidate is already possessive ("Emma's").
Then the LM's conventions (`words`, `agreement.ptb_words` for PTB LMs) apply to the
text before, the candidate and the text after separately, so "partial" always starts
right after the candidate. A schema's text of several sentences is read as one word
sequence (sentence LMs read `<s>` first and score `</s>` last, as for minimal pairs).

Nothing here is tuned on the schemas: zero-shot.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
import xml.parsers.expat
from collections.abc import Callable

import numpy as np

from rnnlab import agreement

WSC273 = 273  # the standard test set: the collection's first 273 schemas

# Words after which "her" is an object, not a possessive ("gave her a look").
_NOT_A_POSSESSED_NOUN = frozenset({
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "no", "to", "for",
    "with", "in", "on", "at", "by", "from", "of", "into", "onto", "about", "and", "but",
    "or", "so", "because", "if", "when", "as", "than", "then",
})  # fmt: skip
_POSSESSIVE = frozenset({"his", "its", "their"})
# Words that start a candidate in lower case mid-sentence ("The trophy" -> "the trophy").
_FUNCTION_WORDS = frozenset({
    "the", "a", "an", "this", "that", "these", "those", "his", "her", "its", "their", "my",
    "our", "your",
})  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Schema:
    """One schema: `before` [pronoun] `after`, two candidates, the right one's index."""

    index: int  # position in its file, from 0
    line: int  # line of its <schema> tag
    before: str
    pronoun: str
    after: str
    candidates: tuple[str, str]
    answer: int  # 0 (A) or 1 (B)


@dataclasses.dataclass
class _Node:
    tag: str
    line: int
    text: str = ""
    children: list[_Node] = dataclasses.field(default_factory=list)

    def only(self, tag: str, where: str) -> _Node:
        found = [c for c in self.children if c.tag == tag]
        if len(found) != 1:
            raise ValueError(
                f"{where}: expected one <{tag}> in <{self.tag}> (line {self.line}), "
                f"found {len(found)}"
            )
        return found[0]


def _tree(data: bytes, source: str) -> _Node:
    """The element tree with line numbers (expat reads the declared encoding)."""
    parser = xml.parsers.expat.ParserCreate()
    stack = [_Node("", 0)]

    def start(tag, attrs):
        node = _Node(tag, parser.CurrentLineNumber)
        stack[-1].children.append(node)
        stack.append(node)

    def text(chars):
        stack[-1].text += chars

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise ValueError(
            f"{source}:{e.lineno}:{e.offset}: not well-formed XML "
            f"({xml.parsers.expat.errors.messages[e.code]})"
        ) from None
    return stack[0].children[0]


def _clean(text: str) -> str:
    return " ".join(text.split())


def parse_schemas(data: bytes | str, source: str = "<string>") -> list[Schema]:
    """Schemas from the WSCollection.xml format (a root holding `<schema>`s); ValueError
    naming `source`, the schema (number from 1 and line) and what was expected."""
    root = _tree(data.encode() if isinstance(data, str) else data, source)
    schemas = []
    for k, node in enumerate(root.children):
        where = f"{source}:{node.line}: schema {k + 1}"
        if node.tag != "schema":
            raise ValueError(f"{where}: expected <schema>, found <{node.tag}>")
        text = node.only("text", where)
        before, pronoun, after = (
            _clean(text.only(t, where).text) for t in ("txt1", "pron", "txt2")
        )
        answers = node.only("answers", where)
        candidates = [_clean(a.text) for a in answers.children if a.tag == "answer"]
        if len(candidates) != 2 or not all(candidates):
            raise ValueError(
                f"{where}: expected two non-empty <answer>s in <answers> (line {answers.line}), "
                f"found {candidates}"
            )
        correct = node.only("correctAnswer", where)
        letter = correct.text.strip().rstrip(".").strip()
        if letter not in ("A", "B"):
            raise ValueError(
                f"{where}: expected <correctAnswer> A or B (line {correct.line}), "
                f"found {correct.text!r}"
            )
        if not pronoun:
            raise ValueError(f"{where}: empty <pron>")
        schemas.append(
            Schema(k, node.line, before, pronoun, after, tuple(candidates), "AB".index(letter))
        )
    return schemas


def read_schemas(path: str | os.PathLike) -> list[Schema]:
    """The schemas of a WSCollection.xml file (285 in the released collection)."""
    with open(path, "rb") as f:
        return parse_schemas(f.read(), str(path))


def _is_possessive(pronoun: str, after: str) -> bool:
    p = pronoun.lower()
    next_words = after.lower().split()[:1]
    return p in _POSSESSIVE or (
        p == "her" and bool(next_words) and next_words[0].strip("\"'") not in _NOT_A_POSSESSED_NOUN
    )


def candidate_text(schema: Schema, k: int) -> str:
    """Candidate k as it reads in the pronoun's place (case, possessive 's)."""
    phrase = schema.candidates[k]
    first, _, rest = phrase.partition(" ")
    if first.lower() in _FUNCTION_WORDS:
        phrase = " ".join(filter(None, (first.lower(), rest)))
    if schema.pronoun[:1].isupper():
        phrase = phrase[:1].upper() + phrase[1:]
    if _is_possessive(schema.pronoun, schema.after) and not phrase.endswith(("'s", "'")):
        phrase += "'s"
    return phrase


def substitute(
    schema: Schema, k: int, words: Callable[[str], list[str]] = agreement.ptb_words
) -> tuple[list[str], int]:
    """The sentence with candidate k for the pronoun, as the LM's words, and the index
    of the first word after the candidate (where partial scoring starts)."""
    head = words(schema.before) + words(candidate_text(schema, k))
    return head + words(schema.after), len(head)


def _correct(logp_Nx2: np.ndarray, answer_N: np.ndarray) -> np.ndarray:
    """1 where the right candidate scores higher, 0 where lower, 0.5 for a tie."""
    right_N = np.take_along_axis(logp_Nx2, answer_N[:, None], 1)[:, 0]
    wrong_N = np.take_along_axis(logp_Nx2, 1 - answer_N[:, None], 1)[:, 0]
    return np.where(right_N == wrong_N, 0.5, (right_N > wrong_N).astype(np.float64))


def wilson_interval(successes: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default); a tie
    counts half a success."""
    if n <= 0:
        raise ValueError(f"a proportion of {n} trials")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def _summary(correct_N: np.ndarray) -> dict:
    n, right = len(correct_N), float(correct_N.sum())
    lo, hi = wilson_interval(right, n)
    return {"accuracy": right / n, "correct": right, "count": n, "ci95_wilson": [lo, hi]}


def evaluate(
    lm: agreement.LM,
    schemas: list[Schema],
    words: Callable[[str], list[str]] = agreement.ptb_words,
) -> dict:
    """Full and partial accuracy (Wilson 95% intervals), OOV counts and per-schema
    outputs (the words, four log-probabilities, predictions)."""
    if not schemas:
        raise ValueError("no schemas to score")
    subs = [substitute(s, k, words) for s in schemas for k in (0, 1)]
    sentences = [w for w, _ in subs]
    starts = [0] * len(subs) + [start for _, start in subs]
    lp_2x = agreement.sentence_log_probs(lm, sentences * 2, starts)
    full_Nx2, partial_Nx2 = (a.reshape(-1, 2) for a in np.split(lp_2x, 2))
    answer_N = np.array([s.answer for s in schemas])
    correct = {"full": _correct(full_Nx2, answer_N), "partial": _correct(partial_Nx2, answer_N)}
    oov = [[w for w in ws if w not in lm.vocab] for ws in sentences]
    ids = [lm.vocab.encode(ws) for ws in sentences]
    same_N = np.array([np.array_equal(a, b) for a, b in zip(ids[::2], ids[1::2], strict=True)])
    items = []
    for i, s in enumerate(schemas):
        items.append(
            {
                "index": s.index,
                "line": s.line,
                "answer": "AB"[s.answer],
                "words": [" ".join(sentences[2 * i + k]) for k in (0, 1)],
                "partial_from": [subs[2 * i + k][1] for k in (0, 1)],
                "full": full_Nx2[i].tolist(),
                "partial": partial_Nx2[i].tolist(),
                "correct_full": correct["full"][i],
                "correct_partial": correct["partial"][i],
                "oov": oov[2 * i] + oov[2 * i + 1],
            }
        )
    n_words = sum(len(w) for w in sentences)
    oov_all = [w for o in oov for w in o]
    return {
        **{name: _summary(c) for name, c in correct.items()},
        "oov_words": len(oov_all),
        "oov_rate": len(oov_all) / n_words,
        "schemas_with_oov": sum(bool(item["oov"]) for item in items),
        "schemas_unresolved": int(same_N.sum()),  # both candidates the same ids: ties
        "most_common_oov": collections.Counter(oov_all).most_common(20),
        "items": items,
    }
