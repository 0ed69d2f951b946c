"""Dependency parsing: CoNLL-U syntax (trees only), decoders against brute force over
every tree, attachment scores, the Parser's masks and loss (float64 reference), and a
short training run."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from numpy_refs import lstm_seq

from rnnlab import models, parsing
from rnnlab.data import datasets, formats
from rnnlab.data.formats import DataFormatError
from rnnlab.tasks import parsing as parsing_task

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


def test_mask_values_forbid_arcs_without_swamping_the_scores():
    """A model's masked scores (the float32 minimum on the diagonal and at forbidden
    heads, as log-probabilities in float64) must not set the scale of MST's root
    penalty: with it, every root arc looked alike and the root child was arbitrary."""
    rng = np.random.default_rng(3)
    lowest = float(np.finfo(np.float32).min)
    for n in range(2, 7):
        trees, projective = all_trees(n)
        for _ in range(20):
            scores = np.log(rng.dirichlet(np.ones(n + 1), size=n + 1))
            np.fill_diagonal(scores, lowest)
            forbidden = rng.integers(1, n + 1), rng.integers(0, n + 1)
            scores[forbidden] = lowest
            allowed = trees[trees[:, forbidden[0] - 1] != forbidden[1]]
            heads = parsing.mst(scores)
            np.testing.assert_allclose(parsing.tree_score(scores, heads), _best(scores, allowed))
            allowed = projective[projective[:, forbidden[0] - 1] != forbidden[1]]
            heads = parsing.eisner(scores)
            np.testing.assert_allclose(parsing.tree_score(scores, heads), _best(scores, allowed))


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
    s = parsing.attachment_scores([([0, 1], ["root", "x"])] * 2,
                                  [([2, 1], ["x", "x"]), ([0, 0], ["x", "x"])])  # fmt: skip
    assert s["not_trees"] == 1 and s["not_one_root"] == 2
    assert parsing.distance_bin(0, 5) == "root" and parsing.distance_bin(3, 15) == "10+"


# ---------------------------------------------------------------------------- model

V, E, H, NR, NC = 13, 5, 4, 6, 7
# Sentences with the root at position 0: (word ids, heads, relation ids, character ids).
SENTENCES = [
    ([2, 5, 6, 7, 8], [0, 2, 0, 2, 3], [0, 1, 2, 3, 4], [[], [1, 2], [3], [4, 5, 6], [2]]),
    ([2, 9], [0, 0], [0, 2], [[], [3, 3]]),
    ([2, 10, 11, 12], [0, 3, 3, 0], [0, 5, 1, 2], [[], [6], [1, 2, 3], [5]]),
]


def _parser(scorer, **kwargs):
    return models.Parser(V, NR, E, H, "lstm", 1, num_chars=NC, char_embed_dim=3,
                         char_hidden_size=2, scorer=scorer, arc_dim=5, rel_dim=3,
                         **kwargs)  # fmt: skip


def _parse_batch(sentences, T=7, junk=0):
    """Right-padded; `junk` fills the padding (ids, heads, characters): it must not matter."""
    B = len(sentences)
    tokens, heads, rels = (np.full((B, T), junk, np.int32) for _ in range(3))
    chars, mask = np.full((B, T, 3), junk % NC, np.int32), np.zeros((B, T), bool)
    heads %= T
    for b, (w, h, r, c) in enumerate(sentences):
        n = len(w)
        tokens[b, :n], heads[b, :n], rels[b, :n], mask[b, :n] = w, h, r, True
        chars[b, :n] = 0
        for t, cs in enumerate(c):
            chars[b, t, : len(cs)] = cs
    return tokens, mask, chars, heads, rels


def _random_params(model, batch, seed=1, scale=0.5):
    """Random values everywhere (the biaffine U starts at zero): nothing is trivially 0."""
    tokens, mask, chars, heads, _ = batch
    params = jax.jit(model.init)(jax.random.key(0), tokens, mask, chars, None, heads)["params"]
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda x: scale * rng.normal(size=x.shape), params)


def _loss_sum(model, params, batch):
    tokens, mask, chars, heads, rels = batch
    arcs, rel_scores = model.apply({"params": params}, tokens, mask, chars, None, heads)
    stats = parsing_task.loss_statistics(arcs, rel_scores, heads, rels, mask)
    return stats["loss_sum"], (arcs, rel_scores)


SCORER_CASES = [(scorer, 0) for scorer in models.SCORERS] + [("biaffine", 2)]  # (scorer, K)


@pytest.mark.parametrize("scorer,distance_bins", SCORER_CASES)
def test_padding_is_neither_head_nor_dependent_and_changes_no_score_or_gradient(
    scorer, distance_bins
):
    with jax.enable_x64(True):
        model = _parser(scorer, distance_bins=distance_bins)
        batch = _parse_batch(SENTENCES, junk=3)
        params = _random_params(model, batch)
        # One compiled function per shape: scores and the gradient of the summed loss.
        grad_fn = jax.jit(jax.grad(_loss_sum, argnums=1, has_aux=True), static_argnums=0)
        grad, (arcs, rels) = grad_fn(model, params, batch)
        arcs, rels = np.asarray(arcs), np.asarray(rels)
        lowest = np.finfo(arcs.dtype).min
        summed = jax.tree.map(jnp.zeros_like, params)
        for b, sentence in enumerate(SENTENCES):
            n = len(sentence[0])
            assert np.all(arcs[b, :, n:] == lowest)  # padding is never a head
            assert np.all(np.diagonal(arcs[b]) == lowest)  # nor is a word its own head
            g, (want_arcs, want_rels) = grad_fn(model, params, _parse_batch([sentence], T=n))
            np.testing.assert_allclose(arcs[b, :n, :n], want_arcs[0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(rels[b, :n], want_rels[0], rtol=1e-10, atol=1e-12)
            summed = jax.tree.map(jnp.add, summed, g)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12),
                     grad, summed)  # fmt: skip
        assert float(optax.tree.norm(grad)) > 0


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _reference_loss(params, scorer, distance_bins, words, heads, rels):
    """One sentence, float64, from the equations: embeddings -> BiLSTM -> Dozat & Manning's
    biaffine or Kiperwasser & Goldberg's MLP scorer (+ with K distance bins, the
    dependent's score for the head's signed distance clipped to K, or for the root);
    -log p(gold head) over the other positions of the sentence - log p(gold relation |
    gold head), summed over words 1..n."""
    p = jax.tree.map(lambda x: np.asarray(x, np.float64), params)
    xs = p["embed"]["embedding"][words]
    layer, zero = p["rnn"]["layers"][0], (np.zeros(H), np.zeros(H))
    _, fw = lstm_seq(layer["fw"], xs, zero)
    _, bw = lstm_seq(layer["bw"], xs[::-1], zero)
    s = np.concatenate([fw, bw[::-1]], -1)  # [T, 2H]

    def dense(name, x):
        return x @ p[name]["kernel"] + p[name].get("bias", 0.0)

    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    n1 = len(words)
    if scorer == "biaffine":
        dep, head = relu(dense("arc_dep", s)), relu(dense("arc_head", s))
        arcs = dep @ p["arc_U"] @ head.T + (head @ p["arc_u"])[None, :]
        rdep, rhead = relu(dense("rel_dep", s)), relu(dense("rel_head", s))[heads]
        bilinear = np.einsum("tr,krs,ts->tk", rdep, p["rel_U"], rhead)
        rel_scores = bilinear + dense("rel_W", np.concatenate([rdep, rhead], -1))
    else:
        hidden = np.tanh(dense("arc_dep", s)[:, None, :] + dense("arc_head", s)[None, :, :])
        arcs = (hidden @ p["arc_v"]["kernel"])[..., 0]
        pair = np.concatenate([s[heads], s], -1)
        rel_scores = dense("rel_out", np.tanh(dense("rel_hidden", pair)))
    if K := distance_bins:
        by_bin = dense("arc_distance", s)  # [T, 2K + 2]: distances -K..K, then the root
        for d in range(n1):
            for h in range(n1):
                arcs[d, h] += by_bin[d, 2 * K + 1 if h == 0 else min(max(h - d, -K), K) + K]
    total = 0.0
    for d in range(1, n1):
        others = [h for h in range(n1) if h != d]
        logp = _log_softmax(arcs[d, others])
        total -= logp[others.index(heads[d])]
        total -= _log_softmax(rel_scores[d])[rels[d]]
    return total


@pytest.mark.parametrize("scorer,distance_bins", SCORER_CASES)
def test_loss_equals_a_float64_numpy_reference(scorer, distance_bins):
    with jax.enable_x64(True):
        model = models.Parser(V, NR, E, H, "lstm", 1, scorer=scorer, arc_dim=5, rel_dim=3,
                              distance_bins=distance_bins)  # fmt: skip
        batch = _parse_batch(SENTENCES, junk=3)
        tokens, mask, _, heads, rels = batch
        params = _random_params(model, (tokens, mask, None, heads, rels), seed=2)
        arcs, rel_scores = model.apply({"params": params}, tokens, mask, None, None, heads)
        stats = parsing_task.loss_statistics(arcs, rel_scores, heads, rels, mask)
        want = sum(_reference_loss(params, scorer, distance_bins, *s[:3]) for s in SENTENCES)
        np.testing.assert_allclose(float(stats["loss_sum"]), want, rtol=1e-10)
        assert float(stats["count"]) == sum(len(s[0]) - 1 for s in SENTENCES)


# ---------------------------------------------------------------------------- task


def test_training_lowers_the_loss_and_every_decoder_parses_dev(tmp_path):
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import runs, tasks, train

    config = tiny_config(dataset="ewt_deps", source_dir=conllu_dir(tmp_path),
                         metric="las", num_steps=30, eval_every=30, learning_rate=2e-2)  # fmt: skip
    config.parser = {"scorer": "mlp", "arc_dim": 16, "rel_dim": 8,
                     "decoders": ("mst", "eisner", "greedy")}  # fmt: skip
    task = tasks.build(config)
    assert task.summary["task"] == "parsing" and task.vocabs["rels"].tokens[:2] == (
        "<pad>",
        "<unk>",
    )
    before = train.evaluate(task, task.init_params(jax.random.key(config.seed), task.dev[0]),
                            task.dev)  # fmt: skip
    results = train.train_and_evaluate(config, str(tmp_path / "run"))
    dev = results["dev"]
    assert dev["loss"] < 0.8 * before["loss"] and dev["uas"] > before["uas"], (before, dev)
    parsed = results["parsing"]["dev"]
    assert parsed["mst"]["not_trees"] == parsed["eisner"]["not_trees"] == 0
    assert parsed["mst"]["words"] == dev["count"]
    # The host path (decoded heads, relations at them) agrees with the jitted dev sums.
    assert parsed["greedy"]["uas"] == pytest.approx(dev["uas"])
    assert parsed["greedy"]["las"] == pytest.approx(dev["las"])
    assert "ccomp" in parsed["mst"]["relations"] and "1" in parsed["mst"]["distance"]
    assert "dev    mst: UAS" in train.format_results(results)
    run = runs.load(str(tmp_path / "run"))
    (heads, rels), (one, _) = task.parse(run.params, [["The", "cats", "Zzyzx", "ran"], ["Paris"]])
    assert (
        parsing.is_tree(heads) and len(rels) == 4 and set(rels) <= set(task.vocabs["rels"].tokens)
    )
    assert one == [0]


def test_parser_options_are_checked_before_any_data_is_read():
    from test_train import tiny_config

    from rnnlab import tasks

    config = tiny_config(dataset="ewt_deps", source_dir="/nonexistent")
    config.parser = {"scorer": "cubic", "arc_dim": 0, "decoders": ("mst", "cky"), "typo": 1,
                     "upos_loss": -1.0, "distance_bins": -2}  # fmt: skip
    with pytest.raises(tasks.ConfigError) as info:
        tasks.validate(config)
    for expected in ("parser.scorer", "parser.arc_dim", "'cky'", "'typo'", "source_dir",
                     "parser.upos_loss must be >= 0", "parser.distance_bins must be"):  # fmt: skip
        assert expected in str(info.value)


def test_tree_rels_give_root_to_the_word_under_the_root_only():
    from rnnlab.tasks.parsing import tree_rels

    rng = np.random.default_rng(0)
    scores_BxTxR = rng.normal(size=(2, 5, 4))
    scores_BxTxR[..., 2] += 10  # relation 2 ("root") is every word's favourite
    heads_BxT = np.array([[0, 2, 0, 2, 3], [0, 0, 1, 1, 2]])  # position 0 is the root itself
    rels_BxT = np.asarray(tree_rels(jnp.asarray(scores_BxTxR), jnp.asarray(heads_BxT), 2))
    others = np.argmax(np.where(np.arange(4) == 2, -np.inf, scores_BxTxR), -1)
    np.testing.assert_array_equal(rels_BxT, np.where(heads_BxT == 0, 2, others))
    assert not np.any(rels_BxT[heads_BxT != 0] == 2)
    no_root = np.asarray(tree_rels(jnp.asarray(scores_BxTxR), jnp.asarray(heads_BxT), -1))
    np.testing.assert_array_equal(no_root, np.argmax(scores_BxTxR, -1))


def test_upos_loss_adds_a_weighted_tagging_loss_and_parsing_still_needs_no_tags(tmp_path):
    from test_runs import conllu_dir
    from test_train import tiny_config

    from rnnlab import runs, tasks, train

    config = tiny_config(dataset="ewt_deps", source_dir=conllu_dir(tmp_path), metric="las",
                         num_steps=30, eval_every=30, learning_rate=2e-2)  # fmt: skip
    config.parser = {"arc_dim": 16, "rel_dim": 8, "upos_loss": 0.5, "decoders": ("greedy",)}
    task = tasks.build(config)
    assert task.model.num_tags == len(task.vocabs["upos"]) and task.model.num_upos == 0
    batch = task.dev[0]
    params = task.init_params(jax.random.key(0), batch)
    objective, (metrics, _) = task.loss(params, batch, jax.random.key(1))
    # The reference: the parsing loss alone + 0.5 x the mean cross-entropy of the tags.
    inputs = task.model_inputs(batch)
    states = task.model.apply({"params": params}, *inputs, method="encode")
    logits = np.asarray(task.model.apply({"params": params}, states, method="tags"), np.float64)
    words = np.asarray(models.dependents(batch["mask_BxT"]))
    logp = _log_softmax(logits)[words, batch["upos_BxT"][words]]
    assert float(metrics["aux_loss"]) == pytest.approx(-0.5 * logp.mean(), rel=1e-5)
    assert float(objective) == pytest.approx(float(metrics["loss"] + metrics["aux_loss"]))
    before = train.evaluate(task, params, task.dev)["upos_accuracy"]
    tags = [u for ex in task.examples["dev"] for u in ex["upos"]]
    majority = max(tags.count(u) for u in set(tags)) / len(tags)
    results = train.train_and_evaluate(config, str(tmp_path / "run"))
    learned = results["dev"]["upos_accuracy"]
    assert learned > max(before, majority), (before, majority, learned)
    params = runs.load(str(tmp_path / "run")).params
    ((heads, _),) = task.parse(params, [["The", "cats", "ran"]])  # no tags given
    assert parsing.is_tree(heads)
