"""experiments.parse end to end and rnnlab.analysis.trees: a tiny parser's CoNLL-U reads
back (rnnlab's own reader) to exactly the predictor's trees, bad input is one error at its
file and line, and each tree is drawn as one arrow per word."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO_ROOT
from matplotlib.patches import FancyArrowPatch
from test_predict import _trained

import rnnlab
from experiments import parse
from rnnlab import parsing
from rnnlab.analysis import trees
from rnnlab.data import formats

# A sentence with a multiword token (kept), an empty node (dropped) and its own comments.
MWT = """# newdoc id = extra
# sent_id = mwt-1
# text = Dogsran Paris
1-2\tDogsran\t_\t_\t_\t_\t_\t_\t_\t_
1\tdogs\tdog\tNOUN\t_\t_\t2\tnsubj\t_\t_
2\tran\trun\tVERB\t_\tTense=Past\t0\troot\t_\t_
2.1\tran\trun\tVERB\t_\t_\t_\t_\t2:conj\t_
3\tParis\tParis\tPROPN\t_\t_\t2\tobj\t_\tSpaceAfter=No

"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> pathlib.Path:
    """A tiny parser trained for 4 steps on test_runs.conllu_dir (its data beside it)."""
    root = tmp_path_factory.mktemp("parse_cli")
    return pathlib.Path(_trained("parsing", str(root)))


def _input(run, tmp_path) -> pathlib.Path:
    dev = run.parent / "parsing_data" / "ud_english_ewt" / "en_ewt-ud-dev.conllu"
    path = tmp_path / "in.conllu"
    path.write_text("".join(block + "\n\n" for block in dev.read_text().split("\n\n")[:4]) + MWT)
    return path


def test_cli_prints_conllu_that_reads_back_to_the_predictors_trees(run, tmp_path):
    path = _input(run, tmp_path)
    args = [sys.executable, "-m", "experiments.parse", f"--workdir={run}", f"--input={path}",
            "--decoder=mst", f"--draw={tmp_path / 'trees'}"]  # fmt: skip
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    (tmp_path / "out.conllu").write_text(out.stdout)
    got = list(formats.read_conllu(tmp_path / "out.conllu", syntax=True))
    given = list(formats.read_conllu(path))
    assert [g["tokens"] for g in got] == [g["tokens"] for g in given]
    assert [g["tags"] for g in got] == [g["tags"] for g in given]  # UPOS kept
    expected = rnnlab.load(str(run)).parse_many([g["tokens"] for g in given])
    assert [g["heads"] for g in got] == [e["heads"] for e in expected]
    assert [g["deprels"] for g in got] == [e["deprels"] for e in expected]
    for g in got:  # UD: `root` exactly under 0 (rnnlab.tasks.parsing.tree_rels)
        pairs = zip(g["heads"], g["deprels"], strict=True)
        assert all((rel == "root") == (head == 0) for head, rel in pairs)
    for g in got:  # a tree: one word under the root, every word reaches it
        assert g["heads"].count(0) == 1 and parsing.is_tree(g["heads"])
    blocks = out.stdout.split("\n\n")
    assert blocks[-1] == "" and len(blocks) == len(got) + 1  # a blank line after each
    for n, block in enumerate(blocks[:-1], 1):
        lines = block.splitlines()
        comments = [line for line in lines if line.startswith("#")]
        assert all(len(line.split("\t")) == 10 for line in lines if not line.startswith("#"))
        assert any(c.startswith("# text = ") for c in comments)
        assert f"# sent_id = {n if n < len(got) else 'mwt-1'}" in comments
    last = blocks[-2].splitlines()
    assert last[:3] == MWT.splitlines()[:3] and last[3].startswith("1-2\tDogsran\t")
    assert last[5].split("\t")[:6] == MWT.splitlines()[5].split("\t")[:6]
    assert last[5].split("\t")[6:] == [str(got[-1]["heads"][1]), got[-1]["deprels"][1], "_", "_"]
    assert not any(line.startswith("2.1\t") for line in last)
    pngs = sorted((tmp_path / "trees").iterdir())
    width = len(str(len(got)))
    assert [p.name for p in pngs] == [f"{n:0{width}d}.png" for n in range(1, len(got) + 1)]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert f"{len(got)} trees drawn in {tmp_path / 'trees'}" in out.stderr


def test_text_input_gets_underscores_and_the_decoder_asked_for(run):
    predictor = rnnlab.load(str(run))
    lines = list(enumerate(["The cats ran", "", "  mice  Zzyzx\tdogs "], 1))
    sentences = parse.read_sentences(lines, "in.txt", "text")
    assert [s.forms for s in sentences] == [["The", "cats", "ran"], ["mice", "Zzyzx", "dogs"]]
    parses = parse.parse_sentences(predictor, sentences, "eisner")
    assert parses == predictor.parse_many([s.forms for s in sentences], decoder="eisner")
    assert all(parsing.is_tree(p["heads"]) and parsing.is_projective(p["heads"]) for p in parses)
    block = parse.to_conllu(sentences[1], parses[1], 2)
    rows = [line.split("\t") for line in block.splitlines()[2:-1]]
    assert block.splitlines()[:2] == ["# sent_id = 2", "# text = mice Zzyzx dogs"]
    assert block.endswith("\n\n") and [r[0] for r in rows] == ["1", "2", "3"]
    for row, head, rel in zip(rows, parses[1]["heads"], parses[1]["deprels"], strict=True):
        assert row[2:6] == ["_"] * 4 and row[6:] == [str(head), rel, "_", "_"]
    # "auto": CoNLL-U if the first line that is neither blank nor a comment has a tab
    word = "1\tdogs" + "\t_" * 8
    assert [s.forms for s in parse.read_sentences([(1, "# c"), (2, word)], "x")] == [["dogs"]]
    assert [s.forms for s in parse.read_sentences([(1, "# c"), (2, "a b")], "x")] == [
        ["#", "c"],
        ["a", "b"],
    ]


@pytest.mark.parametrize(
    "lines, fmt, upos, where, expected",
    [
        (MWT.replace("\tSpaceAfter=No", ""), "auto", False, "in:8", "10 tab-separated columns"),
        (MWT.replace("3\tParis", "4\tParis"), "conllu", False, "in:8", "word ID 3"),
        (MWT.replace("PROPN", "_"), "auto", True, "in:8", "universal POS tag in column 4"),
        ("# only\n\n", "conllu", False, "in:2", "at least one word line"),
        ("\n \n", "auto", False, "in:", "at least one sentence"),
        ("The cats ran\n", "auto", True, "in:", "CoNLL-U with UPOS tags"),
    ],
)
def test_bad_input_is_one_error_naming_file_and_line(lines, fmt, upos, where, expected):
    numbered = list(enumerate(lines.split("\n"), 1))
    with pytest.raises(formats.DataFormatError, match=expected) as info:
        parse.read_sentences(numbered, "in", fmt, need_upos=upos)
    assert str(info.value).startswith(where)


def test_bad_bytes_name_their_line():
    lines = parse.numbered_lines([b"\xef\xbb\xbfThe cats ran\r\n", b"mice \xff ran\n"], "in.txt")
    assert next(lines) == (1, "The cats ran")  # no byte-order mark, no line end
    with pytest.raises(formats.DataFormatError) as info:
        next(lines)
    assert (
        str(info.value)
        == "in.txt:2: expected UTF-8 text (invalid start byte); got 'mice \ufffd ran'"
    )


# ---------------------------------------------------------------------------- drawing

WORDS = ["I", "saw", "a", "dog", "yesterday", "which", "was", "brown", "."]
HEADS = [2, 0, 4, 2, 2, 8, 8, 4, 2]  # "which was brown" modifies "dog": crosses "yesterday"
RELS = ["nsubj", "root", "det", "obj", "obl:tmod", "nsubj", "cop", "acl:relcl", "punct"]


def test_draw_tree_has_one_arrow_per_word_and_shows_crossing_arcs(tmp_path):
    ax = trees.draw_tree(WORDS, HEADS, RELS)
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(ax.patches) == len(WORDS)
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(WORDS + RELS)
    # Each arrow ends at its dependent's word and starts at its head (or above, the root).
    ax.figure.savefig(tmp_path / "tree.png")  # the layout is final: data units map to pixels
    assert (tmp_path / "tree.png").read_bytes()[:4] == b"\x89PNG"
    x = {t.get_text(): t.get_position()[0] for t in ax.texts[: len(WORDS)]}
    to_data = ax.transData.inverted()
    for word, head, arrow in zip(WORDS, HEADS, arrows, strict=True):
        drawn = arrow.get_transform().transform_path(arrow.get_path()).vertices[:-1]
        xy = to_data.transform(drawn)  # the curve and its arrowhead, in data units
        assert np.isclose(xy[:, 0], x[word], atol=1e-6).any()  # the tip
        if head:
            assert abs(xy[0, 0] - x[WORDS[head - 1]]) <= 1 and xy[:, 1].max() > 1
        else:
            assert np.all(np.abs(xy[:, 0] - x[word]) < 0.5) and xy[:, 1].max() > 3
    red = [a.get_edgecolor() != arrows[0].get_edgecolor() for a in arrows]
    assert red == list(parsing.crossing_arcs(HEADS)) and sum(red) == 2  # obl:tmod, acl:relcl
    # A longer sentence gets a wider figure; arcs of one level never overlap.
    long = trees.draw_tree(WORDS * 3, [h and h + 9 * k for k in range(3) for h in HEADS], RELS * 3)
    assert long.figure.get_figwidth() > 2.5 * ax.figure.get_figwidth()


def test_arcs_of_one_level_never_overlap_and_nested_arcs_stack():
    rng = np.random.default_rng(0)
    for n in range(2, 12):
        order, heads = rng.permutation(n) + 1, [0] * n  # a random tree, often non-projective
        for k in range(1, n):
            heads[order[k] - 1] = int(rng.choice(order[:k]))
        levels = trees.arc_levels(heads)
        span = [(min(h, d), max(h, d)) for d, h in enumerate(heads, 1)]
        for i in range(n):
            for j in range(n):
                if i != j and heads[i] and heads[j]:
                    overlap = span[i][0] < span[j][1] and span[j][0] < span[i][1]
                    assert not (overlap and levels[i] == levels[j]), (heads, levels)
                    inside = span[i][0] <= span[j][0] and span[j][1] <= span[i][1]
                    assert not inside or levels[j] < levels[i], (heads, levels)
    assert list(trees.arc_levels([2, 0, 4, 2])) == [1, 0, 1, 2]
    with pytest.raises(ValueError, match="3 words, 2 heads"):
        trees.draw_tree(["a", "b", "c"], [0, 1], ["root", "x", "y"])
