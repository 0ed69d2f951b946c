"""Readers for the text formats of the course data, one per format, all streaming.

Every reader yields plain example dicts (the *example schema* shared with the TFDS
builders and the synthetic corpus):

    sentence classification  {"tokens": list[str], "label": int}
    sentiment trees          {"tokens": list[str], "label": int, "phrase": bool}
    language modelling       {"tokens": list[str]}
    tagging / CoNLL-U        {"tokens": list[str], "tags": list[str]} (+ "lemmas": list[str])
                             (+ "heads": list[int], "deprels": list[str] with syntax=True)
    character text           a str (`read_chars`)
    documents                {"text": str} (+ "label": int), raw text (`read_documents`)
    users' TSV / JSONL       {"tokens"} (+ "label": str, or its id; or + "tags"): the
                             fields that `fields` names (`read_user_file`)

Any file may be gzip-compressed (recognised by its first bytes) and may start with a UTF-8
byte-order mark (dropped); CRLF line ends read like LF. Tokens are split on ASCII space
only (SST has U+00A0 *inside* tokens). Malformed input raises `DataFormatError` naming
the file, the line, the offending text and what was expected. With `skip_bad_lines=True`
bad lines are skipped, but counted: each skip is appended to `skipped` (if given) and a
warning with the count is logged at the end.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator

SST_NUM_CLASSES = 5
# The 17 universal POS tags (UD v2).
UPOS_TAGS = frozenset(
    {
        "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
        "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
    }
)  # fmt: skip
CONLLU_COLUMNS = 10
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"


class DataFormatError(ValueError):
    """Malformed data file: says where (file, line), what was found and what was expected."""

    def __init__(self, path: str | os.PathLike, lineno: int | None, text: str, expected: str):
        self.path, self.lineno, self.text, self.expected = str(path), lineno, text, expected
        where = f"{path}:{lineno}" if lineno is not None else f"{path}"
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{where}: expected {expected}; got {shown!r}")


class _Bad(ValueError):
    """Raised by per-line parsers; the reader adds file and line number."""

    def __init__(self, expected: str, text: str | None = None):
        super().__init__(f"expected {expected}" + ("" if text is None else f"; got {text!r}"))
        self.expected, self.text = expected, text


def _open_checked(path: str | os.PathLike, what: str):
    """The file's bytes, gunzipped when it is gzip (by content, not by name)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (expected {what})")
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _numbered_lines(path: str | os.PathLike, what: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline), decoding strictly so bad bytes are located.

    A UTF-8 byte-order mark (Windows editors write one) is not text: it is dropped."""
    with _open_checked(path, what) as f:
        for lineno, raw in enumerate(_gzip_checked(path, f), start=1):
            if lineno == 1:
                raw = raw.removeprefix(UTF8_BOM)
            yield lineno, _decode(path, raw, lineno).rstrip("\r\n")


def _gzip_checked(path, f) -> Iterator[bytes]:
    """Lines of `f`; a truncated or corrupt gzip stream becomes a DataFormatError."""
    lineno = 1  # the line being read
    try:
        for raw in f:
            yield raw
            lineno += 1
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataFormatError(path, lineno, "", f"a complete gzip stream ({e})") from None


def _decode(path, raw: bytes, first_lineno: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        lineno = first_lineno + raw.count(b"\n", 0, e.start)
        bad = raw[max(0, e.start - 20) : e.end + 20].decode("utf-8", "replace")
        raise DataFormatError(path, lineno, bad, f"valid UTF-8 ({e.reason})") from None


class _Errors:
    """Raise, or (skip_bad_lines) count and collect, one bad line at a time."""

    def __init__(self, path, skip_bad_lines: bool, skipped: list | None):
        self.path, self.skip, self.skipped, self.count = path, skip_bad_lines, skipped, 0

    def bad(self, lineno: int, line: str, err: _Bad) -> None:
        error = DataFormatError(
            self.path, lineno, line if err.text is None else err.text, err.expected
        )
        if not self.skip:
            raise error
        self.count += 1
        if self.skipped is not None:
            self.skipped.append(error)

    def finish(self, num_examples: int, what: str) -> None:
        if self.count:
            logging.warning("%s: skipped %d bad lines", self.path, self.count)
        if num_examples == 0:
            note = f" ({self.count} bad lines skipped)" if self.count else " (the file is empty)"
            raise DataFormatError(self.path, None, "", f"at least one {what}{note}")


def _read_lines(
    path,
    parse: Callable[[str], dict | None],
    what: str,
    skip_bad_lines: bool,
    skipped: list | None,
    lines: Iterator[tuple[int, str]] | None = None,
) -> Iterator[dict]:
    """The examples `parse` makes of the numbered lines (the file's, or the rest of
    `lines`); None from `parse` is a line that holds none (blank)."""
    errors = _Errors(path, skip_bad_lines, skipped)
    n = 0
    for lineno, line in _numbered_lines(path, what) if lines is None else lines:
        try:
            example = parse(line)
        except _Bad as e:
            errors.bad(lineno, line, e)
            continue
        if example is None:
            continue
        n += 1
        yield example
    errors.finish(n, what)


def split_tokens(text: str) -> list[str]:
    """Split on ASCII space only; runs of spaces and leading/trailing spaces are ignored."""
    return [t for t in text.split(" ") if t]


def _parse_label(text: str, num_classes: int) -> int:
    text = text.strip()
    if not re.fullmatch(r"-?\d+", text):
        raise _Bad(f"an integer label in 0..{num_classes - 1}", text)
    label = int(text)
    if not 0 <= label < num_classes:
        raise _Bad(f"a label in 0..{num_classes - 1}", text)
    return label


def binary_label(label: int) -> int | None:
    """SST-2 view of an SST-5 label: 0-1 -> 0, 3-4 -> 1, neutral 2 -> None (dropped)."""
    return None if label == 2 else int(label > 2)


def read_classes(
    path,
    *,
    num_classes: int = SST_NUM_CLASSES,
    skip_bad_lines: bool = False,
    skipped: list | None = None,
) -> Iterator[dict]:
    """Sentence classification lines `LABEL ||| tokenized sentence` (SST)."""

    def parse(line: str) -> dict:
        label_text, sep, sentence = line.partition("|||")
        if not sep:
            raise _Bad("'LABEL ||| tokenized sentence' (no '|||' found)")
        tokens = split_tokens(sentence)
        if not tokens:
            raise _Bad("at least one token after '|||'")
        return {"tokens": tokens, "label": _parse_label(label_text, num_classes)}

    return _read_lines(path, parse, "'LABEL ||| sentence' line", skip_bad_lines, skipped)


def read_documents(
    path,
    *,
    num_classes: int | None = None,
    skip_bad_lines: bool = False,
    skipped: list | None = None,
) -> Iterator[dict]:
    """Raw-text documents, one per line, untokenized: `LABEL ||| text` when `num_classes`
    is given (IMDB's labelled reviews), else the bare text (its unlabelled ones)."""

    def parse(line: str) -> dict:
        if num_classes is None:
            text, label = line, None
        else:
            label_text, sep, text = line.partition("|||")
            if not sep:
                raise _Bad("'LABEL ||| text' (no '|||' found)")
            label = _parse_label(label_text, num_classes)
        text = text.strip()
        if not text:
            raise _Bad("some text (the document is blank)")
        return {"text": text} if label is None else {"text": text, "label": label}

    what = "'LABEL ||| text' line" if num_classes else "document line"
    return _read_lines(path, parse, what, skip_bad_lines, skipped)


_TREE_TOKEN = re.compile(r"\(|\)|[^ \t\r\n()]+")  # ASCII whitespace only, as split_tokens


def parse_tree(text: str, num_classes: int = SST_NUM_CLASSES) -> list[tuple[int, list[str]]]:
    """A labelled PTB bracket tree -> [(label, leaves)] for every node, root first."""
    pieces = _TREE_TOKEN.findall(text)
    nodes: list[tuple[int, list[str]]] = []
    stack: list[tuple[int, int]] = []  # (index into nodes, leaves so far at open)
    leaves: list[str] = []
    i = 0
    if not pieces or pieces[0] != "(":
        raise _Bad("a bracket tree starting with '('")
    while i < len(pieces):
        p = pieces[i]
        if p == "(":
            if stack or not nodes:
                if i + 1 >= len(pieces) or pieces[i + 1] in "()":
                    raise _Bad("a label after '('", " ".join(pieces[i : i + 3]))
                stack.append((len(nodes), len(leaves)))
                nodes.append((_parse_label(pieces[i + 1], num_classes), []))
                i += 2
                continue
            raise _Bad("one tree per line (text after the root's closing bracket)", p)
        if p == ")":
            if not stack:
                raise _Bad("balanced brackets (an extra ')')", text[-40:])
            index, start = stack.pop()
            if len(leaves) == start:
                raise _Bad("a word or a subtree inside every bracket")
            nodes[index] = (nodes[index][0], leaves[start:])
        else:
            if not stack:
                raise _Bad("text only inside brackets", p)
            leaves.append(p)
        i += 1
    if stack:
        raise _Bad(f"balanced brackets ({len(stack)} unclosed '(')", text[-40:])
    return nodes


def read_trees(
    path,
    *,
    phrases: bool = False,
    num_classes: int = SST_NUM_CLASSES,
    skip_bad_lines: bool = False,
    skipped: list | None = None,
) -> Iterator[dict]:
    """SST trees: one sentence example per line, plus (phrases=True) one per inner node.

    Phrase-level training (every labelled node is an example) is how the published SST
    numbers were obtained; phrase examples carry `"phrase": True`.
    """

    def parse(line: str) -> dict:
        return {"nodes": parse_tree(line, num_classes)}

    def expand(trees):
        for tree in trees:
            (label, tokens), *rest = tree["nodes"]
            yield {"tokens": tokens, "label": label, "phrase": False}
            if phrases:
                for label, tokens in rest:
                    yield {"tokens": tokens, "label": label, "phrase": True}

    return expand(_read_lines(path, parse, "bracket tree", skip_bad_lines, skipped))


def read_lm_text(
    path, *, skip_bad_lines: bool = False, skipped: list | None = None
) -> Iterator[dict]:
    """One sentence per line (PTB); `pipeline.encode` adds the sentence boundaries."""

    def parse(line: str) -> dict:
        tokens = split_tokens(line)
        if not tokens:
            raise _Bad("a sentence (the line is blank)")
        return {"tokens": tokens}

    return _read_lines(path, parse, "sentence", skip_bad_lines, skipped)


def read_tags(path, *, skip_bad_lines: bool = False, skipped: list | None = None) -> Iterator[dict]:
    """Tagging lines of `word|TAG` tokens (WikiNER), split on the LAST `|`."""

    def parse(line: str) -> dict:
        tokens, tags = [], []
        for item in split_tokens(line):
            word, sep, tag = item.rpartition("|")
            if not sep or not word or not tag:
                raise _Bad("every token as 'word|TAG'", item)
            tokens.append(word)
            tags.append(tag)
        if not tokens:
            raise _Bad("at least one 'word|TAG' token (the line is blank)")
        return {"tokens": tokens, "tags": tags}

    return _read_lines(path, parse, "'word|TAG' line", skip_bad_lines, skipped)


USER_ROLES = ("text", "label", "tags")  # what a field of a user's file can be


USER_FORMATS = ("tsv", "jsonl")


def read_user_file(
    path,
    format: str,
    fields: dict[str, str],
    *,
    labels: dict[str, int] | None = None,
    skip_bad_lines: bool = False,
    skipped: list | None = None,
) -> Iterator[dict]:
    """A user's file, one example of the `fields` ({role: column or key}, see
    `user_example`) per non-blank line; with `labels` ({name: id}) the labels are ids.

    "tsv": the first line names the tab-separated columns (no quoting); "jsonl": each
    line is a JSON object."""
    if format not in USER_FORMATS:
        raise ValueError(f"format must be one of {USER_FORMATS}, got {format!r}")
    lines = _numbered_lines(path, f"{format.upper()} file")
    header = None
    if format == "tsv":
        _, header_line = next(lines, (1, ""))
        header = header_line.split("\t")
        for role, name in fields.items():
            if name not in header:
                expected = f"a header naming a column {name!r} (the {role})"
                raise DataFormatError(path, 1, header_line, expected)

    def parse(line: str) -> dict | None:
        if not line.strip():
            return None
        record = _json_record(line) if header is None else _tsv_record(line, header)
        return user_example(record, fields, labels)

    yield from _read_lines(path, parse, f"{format.upper()} example line", skip_bad_lines,
                           skipped, lines)  # fmt: skip


def _tsv_record(line: str, header: list[str]) -> dict:
    cols = line.split("\t")
    if len(cols) != len(header):
        raise _Bad(f"{len(header)} tab-separated columns, as the header names; found {len(cols)}")
    return dict(zip(header, cols, strict=True))


def _json_record(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise _Bad(f"a JSON object ({e.msg} at column {e.colno})") from None
    if not isinstance(record, dict):
        raise _Bad("a JSON object {...}", line)
    return record


def user_example(record: dict, fields: dict[str, str], labels: dict[str, int] | None) -> dict:
    """One record of a user's data -> {"tokens"} + "label" or "tags": the field that
    `fields["text"]` names is split on spaces (JSON: or a list of strings), "tags" the
    same (one per token), a label a string or integer (an id where `labels` maps names
    to ids). Raises ValueError ("expected ...") for a missing or malformed field."""
    for role, name in fields.items():
        if name not in record:
            raise _Bad(f"a field {name!r} (the {role}); found {sorted(record)}")
    tokens = _user_tokens(record[fields["text"]], fields["text"])
    example = {"tokens": tokens}
    if "tags" in fields:
        tags = _user_tokens(record[fields["tags"]], fields["tags"])
        if len(tags) != len(tokens):
            raise _Bad(f"one tag per token in {fields['tags']!r}: "
                       f"{len(tokens)} tokens, {len(tags)} tags")  # fmt: skip
        example["tags"] = tags
    if "label" in fields:
        value = record[fields["label"]]
        label = str(value).strip()
        if isinstance(value, bool) or not isinstance(value, str | int) or not label:
            raise _Bad(f"a label (a string or an integer) in {fields['label']!r}", repr(value))
        if labels is not None and label not in labels:
            raise _Bad(f"a label of the train split, one of {list(labels)}", label)
        example["label"] = label if labels is None else labels[label]
    return example


def _user_tokens(value, name: str) -> list[str]:
    tokens = split_tokens(value) if isinstance(value, str) else value
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise _Bad(f"text in {name!r} (a string, or a list of non-empty strings)", repr(value))
    if not tokens:
        raise _Bad(f"at least one token in {name!r}", repr(value))
    return tokens


def write_conllu(path, sentences) -> None:
    """Sentences as `read_conllu(..., syntax=True)` gives them ({"tokens", "tags",
    "heads", "deprels"}) written as CoNLL-U that it reads back: the tag fills both UPOS
    and XPOS, lemma and features are "_" (samples of a treebank, generated ones)."""
    lines = []
    for s in sentences:
        rows = zip(s["tokens"], s["tags"], s["heads"], s["deprels"], strict=True)
        lines += [f"{i}\t{form}\t_\t{tag}\t{tag}\t_\t{head}\t{rel}\t_\t_"
                  for i, (form, tag, head, rel) in enumerate(rows, 1)] + [""]  # fmt: skip
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def read_conllu(
    path,
    *,
    tagset: str = "upos",
    lemmas: bool = False,
    syntax: bool = False,
    skip_bad_lines: bool = False,
    skipped: list | None = None,
) -> Iterator[dict]:
    """CoNLL-U sentences as (word, tag) sequences; tagset "upos" or "xpos"; with
    `lemmas`, each word's lemma (column 3) too; with `syntax`, each word's head (an int,
    0 = the root; column 7) and relation (full, with subtypes: `nmod:poss`; column 8) as
    "heads" and "deprels".

    Words are the integer-ID lines: multiword-token ranges (`3-4 don't`) are surface
    tokens whose words follow, and empty nodes (`8.1`) are not words, so both are
    validated and then left out (counted once, never twice). With `syntax` the heads of
    a sentence must form a tree (`tree_error`): exactly one word attached to 0 (with
    relation `root`), every head a word of the sentence, no cycle. With skip_bad_lines a
    bad line, or a sentence that is not a tree, drops its whole sentence (counted).
    """
    column = {"upos": 3, "xpos": 4}.get(tagset)
    if column is None:
        raise ValueError(f"tagset must be 'upos' or 'xpos', got {tagset!r}")
    errors = _Errors(path, skip_bad_lines, skipped)
    n = 0
    words: list[tuple[str, ...]] = []
    linenos: list[int] = []
    lines: list[str] = []
    broken = False

    def sentence() -> dict:
        out = {"tokens": [w[0] for w in words], "tags": [w[1] for w in words]}
        if lemmas:
            out["lemmas"] = [w[2] for w in words]
        if syntax:
            out["heads"] = [int(w[3]) for w in words]
            out["deprels"] = [w[4] for w in words]
        return out

    def parse_word(line: str) -> tuple[str, ...] | None:
        cols = line.split("\t")
        if len(cols) != CONLLU_COLUMNS:
            raise _Bad(f"{CONLLU_COLUMNS} tab-separated columns, found {len(cols)}")
        wid = cols[0]
        if re.fullmatch(r"\d+-\d+", wid) or re.fullmatch(r"\d+\.\d+", wid):
            return None
        if not wid.isdigit() or int(wid) != len(words) + 1:
            raise _Bad(f"word ID {len(words) + 1} (or a range 'a-b' / empty node 'a.b')", wid)
        if column == 3 and cols[3] not in UPOS_TAGS:
            raise _Bad("a universal POS tag in column 4", cols[3])
        if not cols[1] or not cols[column] or cols[column] == "_":
            raise _Bad(f"a word and a {tagset.upper()} tag", line)
        if lemmas and not cols[2]:
            raise _Bad("a lemma in column 3", line)
        if syntax:
            if not cols[6].isdigit():
                raise _Bad("a head (a word ID, or 0 for the root) in column 7", cols[6])
            if not cols[7] or cols[7] == "_":
                raise _Bad("a dependency relation in column 8", line)
            if (cols[6] == "0") != (cols[7] == "root"):
                raise _Bad("relation 'root' exactly for the word whose head is 0",
                           f"head {cols[6]}, relation {cols[7]}")  # fmt: skip
        return cols[1], cols[column], cols[2], cols[6], cols[7]

    def finish_sentence():
        nonlocal n
        if words and not broken:
            if syntax:
                bad = tree_error([int(w[3]) for w in words])
                if bad is not None:
                    i, expected, text = bad
                    errors.bad(linenos[i], lines[i], _Bad(expected, text))
                    return
            n += 1
            yield sentence()

    for lineno, line in _numbered_lines(path, "CoNLL-U file"):
        if line.startswith("#"):
            continue
        if not line.strip():
            yield from finish_sentence()
            words, linenos, lines, broken = [], [], [], False
            continue
        if broken:
            continue
        try:
            word = parse_word(line)
        except _Bad as e:
            errors.bad(lineno, line, e)
            broken = True
            continue
        if word is not None:
            words.append(word)
            linenos.append(lineno)
            lines.append(line)
    yield from finish_sentence()
    errors.finish(n, "CoNLL-U sentence")


def tree_error(heads: list[int]) -> tuple[int, str, str] | None:
    """Why the heads of words 1..n (0 = the root) are not a dependency tree with a single
    root, or None: (index of the word to blame, what was expected, what was found)."""
    n = len(heads)
    for i, h in enumerate(heads):
        if not 0 <= h <= n:
            return i, f"a head in 0..{n} (the sentence has {n} words)", f"head {h}"
        if h == i + 1:
            return i, "a head other than the word itself", f"word {i + 1} heads itself"
    roots = [i for i, h in enumerate(heads) if h == 0]
    if not roots:
        return 0, "exactly one word with head 0 (the root)", "no word with head 0"
    if len(roots) > 1:
        ids = ", ".join(str(i + 1) for i in roots)
        return roots[1], "exactly one word with head 0 (the root)", f"words {ids} have head 0"
    state = [0] * (n + 1)  # 0 unseen, 1 on the current path, 2 reaches the root
    state[0] = 2
    for start in range(1, n + 1):
        path, w = [], start
        while state[w] == 0:
            state[w] = 1
            path.append(w)
            w = heads[w - 1]
        if state[w] == 1:  # back on this path: a cycle through w
            cycle = path[path.index(w) :]
            shown = " -> ".join(str(v) for v in [*cycle, cycle[0]])
            return min(cycle) - 1, "heads that form a tree (no cycle)", f"cycle {shown}"
        for v in path:
            state[v] = 2
    return None


def read_chars(path, *, split: str = "train", valid_fraction: float = 0.1) -> str:
    """Raw text for character LMs; `train` is the first 1-valid_fraction, `valid` the rest."""
    if split not in ("train", "valid", "all"):
        raise ValueError(f"split must be 'train', 'valid' or 'all', got {split!r}")
    if not 0.0 <= valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    with _open_checked(path, "a text file") as f:
        raw = b"".join(_gzip_checked(path, f)).removeprefix(UTF8_BOM)
    text = _decode(path, raw, 1)
    if not text:
        raise DataFormatError(path, None, "", "some text (the file is empty)")
    cut = int(round(len(text) * (1.0 - valid_fraction)))
    return {"train": text[:cut], "valid": text[cut:], "all": text}[split]
