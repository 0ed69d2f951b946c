"""Vocabulary: deterministic ids, min-count/max-size, lowercase, unknowns, JSON round trip."""

import numpy as np
import pytest

from rnnlab.data.vocab import PAD, RESERVED, UNK, Vocab

SENTENCES = [["b", "a", "c"], ["a", "B", "d"], ["c", "a"]]


def test_ids_sorted_by_count_then_string():
    vocab = Vocab.build(SENTENCES)
    assert vocab.tokens[: len(RESERVED)] == RESERVED and vocab.id(PAD) == 0
    assert vocab.tokens[len(RESERVED) :] == ("a", "c", "B", "b", "d")
    assert Vocab.build(reversed(SENTENCES)) == vocab  # order of data does not matter


def test_min_count_max_size_lowercase_and_unknowns():
    assert Vocab.build(SENTENCES, min_count=2).tokens[4:] == ("a", "c")
    assert len(Vocab.build(SENTENCES, max_size=6)) == 6
    lower = Vocab.build(SENTENCES, lowercase=True)
    assert lower.tokens[4:] == ("a", "b", "c", "d") and lower.id("B") == lower.id("b")
    vocab = Vocab.build(SENTENCES, min_count=2)
    ids = vocab.encode(["a", "zzz", "<s>"])
    assert ids.dtype == np.int32 and ids.tolist() == [4, vocab.id(UNK), 2]
    assert vocab.oov_rate([["a", "zzz"], ["b", "c"]]) == 0.5


def test_tag_vocab_without_unk_refuses_unknowns():
    tags = Vocab.build([["O", "I-PER"]], reserved=(PAD,))
    assert tags.tokens == (PAD, "I-PER", "O")
    with pytest.raises(KeyError, match="B-XYZ"):
        tags.encode(["B-XYZ"])


def test_json_round_trip_and_chars(tmp_path):
    vocab = Vocab.build(SENTENCES, lowercase=True)
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json") == vocab
    chars = Vocab.build_chars(["hello", "hi"], reserved=(PAD, UNK))
    assert chars.tokens == (PAD, UNK, "h", "l", "e", "i", "o")
    assert chars.decode(chars.encode("hi")) == ["h", "i"]
