"""Dependency parsing: CoNLL-U syntax (trees only), decoders against brute force over
every tree, attachment scores, the Parser's masks and loss (float64 reference), and a
short training run."""

import functools
import itertools

import numpy as np
import pytest

from rnnlab import parsing
from rnnlab.data import datasets, formats
from rnnlab.data.formats import DataFormatError

# ---------------------------------------------------------------------------- data

CONLLU = (
    "# sent_id = 1\n"
    "1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "3.1\tx\tx\tX\t_\t_\t_\t_\t4:dep\t_\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "5\tit\tit\tPRON\tPRP\t_\t4\tobj:pass\t_\t_\n"
    "\n"
    "1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_\n"
)


def write(tmp_path, text, name="x.conllu"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_conllu_syntax_heads_and_full_relations(tmp_path):
    path = write(tmp_path, CONLLU)
    first, second = formats.read_conllu(path, syntax=True)
    assert first["tokens"] == ["I", "do", "n't", "know", "it"]  # range and empty node left out
    assert first["heads"] == [2, 4, 4, 0, 4]
    assert first["deprels"] == ["nsubj", "aux", "advmod", "root", "obj:pass"]
    assert second == {"tokens": ["Yes"], "tags": ["INTJ"], "heads": [0], "deprels": ["root"]}
    assert list(formats.read_conllu(path)) == [
        {k: ex[k] for k in ("tokens", "tags")} for ex in (first, second)
    ]


def _sentence(heads, rels=None):
    rels = rels or ["root" if h == 0 else "dep" for h in heads]
    lines = [f"{i}\tw{i}\tw\tNOUN\tNN\t_\t{h}\t{r}\t_\t_" for i, (h, r) in
             enumerate(zip(heads, rels, strict=True), 1)]  # fmt: skip
    return "\n".join(lines) + "\n\n"


NOT_TREES = [
    # (heads, line of the word to blame (word i is on line 2 + i), expected)
    ([2, 3, 1, 0], 3, "no cycle"),  # 1 -> 2 -> 3 -> 1
    ([0, 0, 2], 4, "exactly one word with head 0"),  # the second root
    ([2, 3, 2], 3, "exactly one word with head 0"),  # no root (and a cycle 2 <-> 3)
    ([0, 7, 2], 4, "a head in 0..3"),
    ([0, 2], 4, "other than the word itself"),
]


@pytest.mark.parametrize("heads,lineno,expected", NOT_TREES)
def test_a_sentence_that_is_not_a_tree_names_file_and_line(tmp_path, heads, lineno, expected):
    path = write(tmp_path, _sentence([0]) + _sentence(heads) + _sentence([2, 0]))
    with pytest.raises(DataFormatError) as info:
        list(formats.read_conllu(path, syntax=True))
    assert info.value.lineno == lineno and f"{path}:{lineno}:" in str(info.value)
    assert expected in info.value.expected
    skipped = []
    kept = list(formats.read_conllu(path, syntax=True, skip_bad_lines=True, skipped=skipped))
    assert [ex["heads"] for ex in kept] == [[0], [2, 0]] and len(skipped) == 1
    assert len(list(formats.read_conllu(path))) == 3  # the tagger's view reads no heads


@pytest.mark.parametrize(
    "line,expected",
    [
        ("1\tw\tw\tNOUN\tNN\t_\t_\troot\t_\t_", "a head"),
        ("1\tw\tw\tNOUN\tNN\t_\t0\t_\t_\t_", "a dependency relation"),
        ("1\tw\tw\tNOUN\tNN\t_\t0\tnsubj\t_\t_", "relation 'root'"),
    ],
)
def test_bad_head_and_relation_columns(tmp_path, line, expected):
    path = write(tmp_path, line + "\n")
    with pytest.raises(DataFormatError, match=f"{path}:1: expected {expected}"):
        list(formats.read_conllu(path, syntax=True))


def test_ewt_deps_in_memory_and_through_tfds_with_the_universal_view(tmp_path):
    folder = tmp_path / "src" / "ud_english_ewt"
    folder.mkdir(parents=True)
    (folder / "en_ewt-ud-train.conllu").write_text(CONLLU)
    source = tmp_path / "src"
    load = functools.partial(datasets.load_dataset, split="train", source_dir=source)
    full = list(load("ewt_deps"))
    assert full[0] == {"tokens": ["I", "do", "n't", "know", "it"],
                       "upos": ["PRON", "AUX", "PART", "VERB", "PRON"],
                       "heads": [2, 4, 4, 0, 4],
                       "deprels": ["nsubj", "aux", "advmod", "root", "obj:pass"]}  # fmt: skip
    assert list(load("ewt_deps:universal"))[0]["deprels"][-1] == "obj"
    assert datasets.task_of("ewt_deps") == "parsing"
    prepared = list(load("ewt_deps:universal", data_dir=tmp_path / "tfds"))
    assert prepared == list(load("ewt_deps:universal"))


def test_real_ewt_is_all_trees(shared_data):
    examples = datasets.load_dataset("ewt_deps", "dev", source_dir=shared_data)
    assert len(examples) == 2001 and sum(len(ex["heads"]) for ex in examples) == 25147
    assert all(parsing.is_tree(ex["heads"]) for ex in examples)
    non_projective = sum(not parsing.is_projective(ex["heads"]) for ex in examples)
    assert 0 < non_projective < 200  # EWT has some non-projective trees


# ---------------------------------------------------------------------------- decoders


@functools.cache
def all_trees(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every single-root tree over words 1..n (heads_KxN), and the projective ones."""
    cand = np.array(list(itertools.product(range(n + 1), repeat=n)), np.int64)
    cand = cand[(cand != np.arange(1, n + 1)).all(1) & ((cand == 0).sum(1) == 1)]
    up = np.concatenate([np.zeros((len(cand), 1), np.int64), cand], 1)
    reach = up.copy()
    for _ in range(n):
        reach = np.take_along_axis(up, reach, 1)
    trees = cand[(reach == 0).all(1)]
    lo = np.minimum(trees, np.arange(1, n + 1))
    hi = np.maximum(trees, np.arange(1, n + 1))
    a_lo, a_hi, b_lo, b_hi = lo[:, :, None], hi[:, :, None], lo[:, None, :], hi[:, None, :]
    crossing = ((a_lo < b_lo) & (b_lo < a_hi) & (a_hi < b_hi)).any((1, 2))
    return trees, trees[~crossing]


def test_brute_force_counts_trees_right():
    # n^(n-1) single-root trees; projective ones: 1, 2, 7, 30, 143, 728 (OEIS A001764)
    assert [len(all_trees(n)[0]) for n in range(1, 7)] == [n ** (n - 1) for n in range(1, 7)]
    assert [len(all_trees(n)[1]) for n in range(1, 7)] == [1, 2, 7, 30, 143, 728]


def _best(scores, trees):
    totals = scores[np.arange(1, trees.shape[1] + 1), trees].sum(1)
    return totals.max()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7])
def test_mst_and_eisner_find_the_best_single_root_tree(n):
    trees, projective = all_trees(n)
    rng = np.random.default_rng(n)
    for seed in range(60 if n < 7 else 8):
        scores = rng.normal(size=(n + 1, n + 1)) * (3.0 if seed % 2 else 1.0)
        if seed % 3 == 0:  # the root arcs the strongest: greedy would take several
            scores[:, 0] += 4.0
        heads = parsing.mst(scores)
        assert parsing.is_tree(heads), (seed, heads)
        np.testing.assert_allclose(parsing.tree_score(scores, heads), _best(scores, trees))
        heads = parsing.eisner(scores)
        assert parsing.is_tree(heads) and parsing.is_projective(heads), (seed, heads)
        np.testing.assert_allclose(parsing.tree_score(scores, heads), _best(scores, projective))


def test_greedy_is_the_best_head_per_word_and_a_tree_when_that_is_one():
    rng = np.random.default_rng(0)
    for n in range(1, 8):
        scores = rng.normal(size=(n + 1, n + 1))
        heads = parsing.greedy(scores)
        for d in range(1, n + 1):
            others = [h for h in range(n + 1) if h != d]
            assert heads[d - 1] == others[int(np.argmax(scores[d, others]))]
        gold = all_trees(n)[0][rng.integers(len(all_trees(n)[0]))]
        scores[np.arange(1, n + 1), gold] += 100.0  # a clear winner: every decoder finds it
        for decode in (parsing.greedy, parsing.mst):
            np.testing.assert_array_equal(decode(scores), gold)


def test_decoders_respect_forbidden_arcs_and_reject_bad_scores():
    scores = np.zeros((4, 4))
    scores[1:, 0] = -np.inf
    scores[2, 0] = 0.0  # only word 2 may hang from the root
    for decode in (parsing.mst, parsing.eisner):
        heads = decode(scores)
        assert parsing.is_tree(heads) and list(heads).index(0) == 1
    with pytest.raises(ValueError, match="n >= 1 words"):
        parsing.mst(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="nan"):
        parsing.eisner(np.full((3, 3), np.nan))


def test_is_tree_and_is_projective():
    assert parsing.is_tree([2, 0, 2]) and not parsing.is_tree([2, 0, 0])
    assert parsing.is_tree([2, 0, 0], single_root=False)
    assert not parsing.is_tree([2, 1, 0]) and not parsing.is_tree([0, 4, 2])
    assert not parsing.is_tree([1]) and not parsing.is_tree([])
    assert parsing.is_projective([2, 0, 2]) and not parsing.is_projective([3, 4, 0, 3])


# ---------------------------------------------------------------------------- scores


def test_attachment_scores_count_every_word_per_relation_and_distance():
    gold = [([2, 0, 2], ["nsubj", "root", "punct"]), ([0], ["root"])]
    pred = [([2, 0, 1], ["obj", "root", "punct"]), ([0], ["root"])]
    s = parsing.attachment_scores(gold, pred)
    assert (s["words"], s["sentences"], s["not_trees"]) == (4, 2, 0)
    assert s["uas"] == 3 / 4 and s["las"] == 2 / 4  # punctuation counts (CoNLL 2018)
    assert s["relations"]["nsubj"] == {"count": 1, "uas": 1.0, "las": 0.0, "precision": 0.0,
                                       "f1": 0.0}  # fmt: skip
    assert s["relations"]["root"]["las"] == 1.0 and s["relations"]["punct"]["uas"] == 0.0
    assert s["distance"] == {"root": {"count": 2, "uas": 1.0, "las": 1.0},
                             "1": {"count": 2, "uas": 0.5, "las": 0.0}}  # fmt: skip
    assert parsing.attachment_scores([([0, 1], ["root", "x"])],
                                     [([2, 1], ["x", "x"])])["not_trees"] == 1  # fmt: skip
    assert parsing.distance_bin(0, 5) == "root" and parsing.distance_bin(3, 15) == "10+"
