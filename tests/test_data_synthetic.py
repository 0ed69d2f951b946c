"""Synthetic corpus: determinism, and agreement checked by an independent parser."""

import collections
import json

import numpy as np
import pytest

from rnnlab import parsing
from rnnlab.data import formats, synthetic

SINGULAR_VERBS = {"is", "was", "has"}
PLURAL_VERBS = {"are", "were", "have"}
NOUN_GENDER = {form: n[2] for n in synthetic.NOUNS_ANIMATE for form in n[:2]}


def main_verb_and_head(tokens, tags):
    """Head noun = first noun; main verb = first finite verb outside a relative clause
    (`that DT JJ* N V` is skipped whole). Uses tags, not the generator's indices."""
    head = next(i for i, t in enumerate(tags) if t in ("NN", "NNS"))
    i = head + 1
    while i < len(tags):
        if tags[i] == "WDT":
            i = next(j for j in range(i + 1, len(tags)) if tags[j].startswith("VB")) + 1
            continue
        if tags[i].startswith("VB"):
            return head, i
        i += 1
    raise AssertionError(f"no main verb in {tokens}")


def verb_is_plural(word):
    if word in SINGULAR_VERBS | PLURAL_VERBS:
        return word in PLURAL_VERBS
    return not word.endswith("s")


def check_sentence(s):
    tokens, tags = s["tokens"], s["tags"]
    assert len(tokens) == len(tags)
    head, verb = main_verb_and_head(tokens, tags)
    plural = tags[head] == "NNS"
    assert plural == bool(s["label"]) == verb_is_plural(tokens[verb]), tokens
    assert verb - head - 1 == s["distance"]
    for i, t in enumerate(tags):  # embedded verbs agree with their own subjects
        if t == "WDT":
            noun = next(j for j in range(i, len(tags)) if tags[j] in ("NN", "NNS"))
            assert (tags[noun] == "NNS") == verb_is_plural(tokens[noun + 1]), tokens
    if s["kind"] == "reflexive":
        expected = "themselves" if plural else None
        if not plural:
            gender = NOUN_GENDER[tokens[head]]
            expected = {"m": "himself", "f": "herself"}[gender]
        assert tokens[verb + 1] == expected, tokens


def test_every_sentence_agrees():
    for split in ("train", "dev"):
        for s in synthetic.corpus(split, size=3000):
            check_sentence(s)


def test_same_seed_same_bytes_other_seed_differs():
    def dump(seed):
        return json.dumps(synthetic.corpus("train", seed=seed, size=500)).encode()

    assert dump(0) == dump(0)
    assert dump(0) != dump(1)
    assert synthetic.corpus("dev", size=50) != synthetic.corpus("test", size=50)


def test_distances_vocabulary_and_views():
    corpus = synthetic.corpus("train", size=4000)
    assert set(collections.Counter(s["distance"] for s in corpus)) == set(synthetic.DISTANCES)
    words = {t for s in corpus for t in s["tokens"]}
    assert 80 <= len(words) <= 300
    assert max(len(s["tokens"]) for s in corpus) <= 20
    cls = synthetic.examples("classification", "dev", size=10)
    assert set(cls[0]) == {"tokens", "label"}
    assert set(synthetic.examples("tagging", "dev", size=1)[0]) == {"tokens", "tags"}


@pytest.mark.parametrize("kind", ["agreement", "reflexive"])
def test_minimal_pairs_differ_in_one_word_with_opposite_attractors(kind):
    pairs = synthetic.minimal_pairs(per_distance=30, kind=kind)
    assert sorted(pairs) == list(synthetic.DISTANCES)
    for d, group in pairs.items():
        assert len(group) == 30
        for p in group:
            diff = [i for i, (a, b) in enumerate(zip(p["good"], p["bad"], strict=True)) if a != b]
            assert diff == [p["index"]]
            tags = ["NNS" if w in synthetic.NOUN_NUMBER and synthetic.NOUN_NUMBER[w] else
                    "NN" if w in synthetic.NOUN_NUMBER else "?" for w in p["good"]]  # fmt: skip
            head = tags.index("NN") if "NN" in tags[:3] else tags.index("NNS")
            nouns = [w for w in p["good"][head + 1 : head + 1 + d] if w in synthetic.NOUN_NUMBER]
            if kind == "agreement":  # every intervening noun has the other number
                assert all(tags[head] != tags[p["good"].index(n, head + 1)] for n in nouns)
            else:  # every intervening gendered noun has the other gender
                gender = NOUN_GENDER[p["good"][head]]
                assert all(NOUN_GENDER.get(n) != gender for n in nouns)


def test_treebank_sentences_are_trees_that_round_trip_through_conllu(tmp_path):
    sentences = synthetic.treebank(200, np.random.default_rng(0))
    assert {len(s["tokens"]) for s in sentences} >= {7, 11}  # with and without the PP
    for s in sentences:
        assert parsing.is_tree(s["heads"])
        assert [r for r in s["deprels"] if r == "root"] == ["root"]
    formats.write_conllu(tmp_path / "t.conllu", sentences)
    assert list(formats.read_conllu(tmp_path / "t.conllu", syntax=True)) == sentences
    again = synthetic.treebank(200, np.random.default_rng(0))
    assert again == sentences
