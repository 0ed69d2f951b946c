"""Readers: tiny inline files, every bad-input case, and exact counts on the real data."""

import collections
import gzip

import pytest

from rnnlab.data import datasets, formats
from rnnlab.data.formats import DataFormatError


def write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_classes_and_binary_view(tmp_path):
    path = write(tmp_path, "3 ||| a  b\n0 ||| c\n2 ||| 8\xa01\\/2 d\n4 ||| e\n")
    examples = list(formats.read_classes(path))
    assert [e["label"] for e in examples] == [3, 0, 2, 4]
    assert examples[0]["tokens"] == ["a", "b"]
    assert examples[2]["tokens"] == ["8\xa01\\/2", "d"]  # U+00A0 stays inside the token
    binary = [(e["tokens"], formats.binary_label(e["label"])) for e in examples]
    assert binary == [(["a", "b"], 1), (["c"], 0), (["8\xa01\\/2", "d"], None), (["e"], 1)]


def test_trees_sentences_and_phrases(tmp_path):
    path = write(tmp_path, "(3 (2 It) (4 (3 very) (4 good)))\n(1 (1 bad))\n")
    sentences = list(formats.read_trees(path))
    assert sentences == [
        {"tokens": ["It", "very", "good"], "label": 3, "phrase": False},
        {"tokens": ["bad"], "label": 1, "phrase": False},
    ]
    allnodes = list(formats.read_trees(path, phrases=True))
    assert [(e["tokens"], e["label"]) for e in allnodes if e["phrase"]] == [
        (["It"], 2),
        (["very", "good"], 4),
        (["very"], 3),
        (["good"], 4),
        (["bad"], 1),
    ]


def test_lm_text_boundaries(tmp_path):
    path = write(tmp_path, " a b \n c\n")
    assert [e["tokens"] for e in formats.read_lm_text(path)] == [["a", "b"], ["c"]]


def test_tags_split_on_last_bar(tmp_path):
    path = write(tmp_path, "a|b|O New|I-LOC\n")
    assert list(formats.read_tags(path)) == [{"tokens": ["a|b", "New"], "tags": ["O", "I-LOC"]}]


CONLLU = """# sent_id = 1
# text = I don't
1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_
3\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t_\t_
3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t2:conj\t_

1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_conllu_ranges_and_empty_nodes(tmp_path):
    path = write(tmp_path, CONLLU, "x.conllu")
    upos = list(formats.read_conllu(path))
    assert upos == [
        {"tokens": ["I", "do", "n't"], "tags": ["PRON", "AUX", "PART"]},
        {"tokens": ["Yes"], "tags": ["INTJ"]},
    ]
    xpos = list(formats.read_conllu(path, tagset="xpos"))
    assert xpos[0]["tags"] == ["PRP", "VBP", "RB"]


def test_chars_split(tmp_path):
    path = write(tmp_path, "abcdefghij")
    assert formats.read_chars(path, valid_fraction=0.2) == "abcdefgh"
    assert formats.read_chars(path, split="valid", valid_fraction=0.2) == "ij"


BAD = [
    (formats.read_classes, "3 ||| fine\n2 no separator\n", 2, "|||"),
    (formats.read_classes, "7 ||| out of range\n", 1, "0..4"),
    (formats.read_classes, "x ||| not an int\n", 1, "integer"),
    (formats.read_classes, "3 |||   \n", 1, "token"),
    (formats.read_tags, "a|O b\n", 1, "word|TAG"),
    (formats.read_tags, "a|O b|\n", 1, "word|TAG"),
    (formats.read_trees, "(3 (2 a) (2 b)\n", 1, "balanced"),
    (formats.read_trees, "(3 (2 a)))\n", 1, "balanced"),
    (formats.read_trees, "(x (2 a))\n", 1, "integer"),
    (formats.read_lm_text, "a b\n\nc\n", 2, "blank"),
    (formats.read_conllu, "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n", 1, "10 tab-separated"),
    (formats.read_conllu, "1\tI\tI\tPRONOUN\tPRP\t_\t0\troot\t_\t_\n", 1, "universal POS"),
    (formats.read_conllu, "2\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n", 1, "word ID 1"),
]


@pytest.mark.parametrize("reader,text,lineno,expected", BAD)
def test_bad_lines_name_file_line_and_expectation(tmp_path, reader, text, lineno, expected):
    path = write(tmp_path, text)
    with pytest.raises(DataFormatError) as info:
        list(reader(path))
    err = info.value
    assert err.lineno == lineno and str(path) in str(err) and f":{lineno}:" in str(err)
    assert expected in err.expected


GOOD_FIRST_LINE = {
    formats.read_classes: "1 ||| a",
    formats.read_trees: "(1 a)",
    formats.read_lm_text: "a",
    formats.read_tags: "a|O",
    formats.read_conllu: "# a comment",
    formats.read_chars: "a",
}


@pytest.mark.parametrize("reader", list(GOOD_FIRST_LINE))
def test_missing_empty_and_invalid_utf8(tmp_path, reader):
    def run(path):
        out = reader(path)
        return out if isinstance(out, str) else list(out)

    with pytest.raises(FileNotFoundError, match="nope.txt"):
        run(tmp_path / "nope.txt")
    with pytest.raises(DataFormatError, match="empty"):
        run(write(tmp_path, ""))
    with pytest.raises(DataFormatError, match="UTF-8") as info:
        run(write(tmp_path, GOOD_FIRST_LINE[reader].encode() + b"\n2 ||| caf\xe9\n"))
    assert info.value.lineno == 2


CLEAN = {
    formats.read_classes: "3 ||| a b\n0 ||| c\n",
    formats.read_trees: "(3 (2 a) (4 b))\n(1 c)\n",
    formats.read_lm_text: "word a\nb\n",
    formats.read_tags: "word|O a|B-PER\n",
    formats.read_conllu: CONLLU,
    formats.read_chars: "abc\ndef\n",
}


def _read_all(reader, path):
    out = reader(path, split="all") if reader is formats.read_chars else reader(path)
    return out if isinstance(out, str) else list(out)


@pytest.mark.parametrize("reader", list(CLEAN))
def test_bom_crlf_and_gzip_read_like_clean_files(tmp_path, reader):
    text = CLEAN[reader]
    expected = _read_all(reader, write(tmp_path, text, "clean.txt"))
    windows = "\ufeff" + text.replace("\n", "\r\n")
    assert _read_all(reader, write(tmp_path, windows, "bom.txt")) == (
        expected.replace("\n", "\r\n") if reader is formats.read_chars else expected
    )  # raw text keeps its line ends; every line reader drops them
    packed = gzip.compress(text.encode())
    assert _read_all(reader, write(tmp_path, packed, "any_name.txt")) == expected
    assert _read_all(reader, write(tmp_path, b"\xef\xbb\xbf" + text.encode(), "b.gz")) == expected
    assert (
        _read_all(reader, write(tmp_path, gzip.compress(b"\xef\xbb\xbf" + text.encode()), "c.gz"))
        == expected
    )


@pytest.mark.parametrize("reader", list(CLEAN))
def test_truncated_gzip_names_the_file(tmp_path, reader):
    packed = gzip.compress((CLEAN[reader] * 200).encode())
    path = write(tmp_path, packed[: len(packed) // 2], "cut.txt.gz")
    with pytest.raises(DataFormatError, match="complete gzip") as info:
        _read_all(reader, path)
    assert str(path) in str(info.value)


def test_skip_bad_lines_counts_what_it_skips(tmp_path):
    path = write(tmp_path, "1 ||| a\nbroken\n9 ||| b\n2 ||| c\n")
    skipped = []
    examples = list(formats.read_classes(path, skip_bad_lines=True, skipped=skipped))
    assert [e["tokens"] for e in examples] == [["a"], ["c"]]
    assert [e.lineno for e in skipped] == [2, 3]
    with pytest.raises(DataFormatError, match="2 bad lines skipped"):
        list(formats.read_classes(write(tmp_path, "x\ny\n"), skip_bad_lines=True))


# ---- real data (skips when ../shared/data is absent) --------------------------------


def _count_split(path, field=None):
    """Independent count: sentences and ASCII-space tokens, straight from the bytes."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if field is not None:
        lines = [line.split("|||", 1)[field] for line in lines]
    return len(lines), sum(len([t for t in line.split(" ") if t]) for line in lines)


def test_real_counts_sst(shared_data):
    examples = list(formats.read_classes(shared_data / "classes/train.txt"))
    ntok = sum(len(e["tokens"]) for e in examples)
    assert (len(examples), ntok) == _count_split(shared_data / "classes/train.txt", 1)
    assert (len(examples), ntok) == (8544, 163563)
    trees = list(formats.read_trees(shared_data / "trees/train.txt"))
    assert [(t["tokens"], t["label"]) for t in trees] == [
        (e["tokens"], e["label"]) for e in examples
    ]
    binary = datasets.load_dataset("sst:binary", source_dir=shared_data)
    assert len(binary) == sum(e["label"] != 2 for e in examples)


def test_real_counts_ptb_and_tags(shared_data):
    lm = list(formats.read_lm_text(shared_data / "ptb/train.txt"))
    assert (len(lm), sum(len(e["tokens"]) for e in lm)) == (42068, 887521)
    assert (len(lm), sum(len(e["tokens"]) for e in lm)) == _count_split(
        shared_data / "ptb/train.txt"
    )
    tags = list(formats.read_tags(shared_data / "tags/train.txt"))
    assert (len(tags), sum(len(e["tokens"]) for e in tags)) == (10000, 248038)
    assert all(len(e["tokens"]) == len(e["tags"]) for e in tags)


def test_real_counts_ewt(shared_data):
    path = shared_data / "ud_english_ewt/en_ewt-ud-train.conllu"
    sentences = list(formats.read_conllu(path))
    nwords = sum(len(e["tokens"]) for e in sentences)
    assert (len(sentences), nwords) == (12544, 204577)
    assert len({t for e in sentences for t in e["tags"]}) == 17
    # Independent count: lines whose ID is a plain integer, sentences by "# text".
    lines = path.read_text(encoding="utf-8").splitlines()
    ids = collections.Counter(
        "word" if line.split("\t")[0].isdigit() else "other"
        for line in lines
        if line and not line.startswith("#")
    )
    assert nwords == ids["word"]
    assert len(sentences) == sum(line.startswith("# text =") for line in lines)
    xpos = list(formats.read_conllu(path, tagset="xpos"))
    assert len({t for e in xpos for t in e["tags"]}) == 49


def test_real_chars(shared_data):
    path = shared_data / "tinyshakespeare/input.txt"
    train = formats.read_chars(path)
    valid = formats.read_chars(path, split="valid")
    assert train + valid == path.read_text(encoding="utf-8")
    assert len(train + valid) == 1115394 and len(set(train + valid)) == 65
    assert len(train) == round(0.9 * 1115394)
