"""load_dataset: local files read directly or through TFDS (no TensorFlow), catalog mapping."""

import gzip
import random
import sys

import pytest

from rnnlab.data import datasets, local_formats, subwords, words

_WORDS = "the film was great bad awful fine plot acting I loved it hated boring superb"


def _reviews(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(_WORDS.split(" ")) for _ in range(rng.randint(3, 12))) for _ in range(n)
    ]


IMDB_TRAIN, IMDB_UNSUP = _reviews(40, 0), _reviews(60, 1)

FILES = {
    "classes/train.txt": "3 ||| good film\n2 ||| a film\n0 ||| bad\n",
    "classes/dev.txt": "4 ||| great\n",
    "trees/train.txt": "(3 (2 good) (3 film))\n(2 (2 a) (2 film))\n(0 (0 bad))\n",
    "trees/dev.txt": "(4 (4 great))\n",
    "ptb/train.txt": " the cat sat \n a dog \n",
    "ptb/valid.txt": " the dog \n",
    "tags/train.txt": "Paris|I-LOC is|O a|b|O\n",
    "ud_english_ewt/en_ewt-ud-train.conllu": (
        "# text = I don't\n1\tI\tI\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_\n"
        "3\tn't\tnot\tPART\tRB\t_\t2\tadvmod\t_\t_\n\n"
    ),
    "tinyshakespeare/input.txt": "First Citizen:\nSpeak.\n",
    # gzip is recognised by content: one plain file under a .gz name, two compressed
    "imdb/train.txt.gz": "".join(f"{i % 2} ||| {r}\n" for i, r in enumerate(IMDB_TRAIN)),
    "imdb/dev.txt.gz": gzip.compress(b"1 ||| I loved it !\n0 |||  bad  plot\n"),
    "imdb/unsup.txt.gz": gzip.compress("".join(f"{r}\n" for r in IMDB_UNSUP).encode()),
}
IMDB_TEST_PIECES = 40


@pytest.fixture(autouse=True)
def small_imdb_vocabulary(monkeypatch, tmp_path_factory):
    """A 40-piece model for the tiny reviews, cached in a fresh directory per module."""
    monkeypatch.setattr(local_formats, "IMDB_PIECES", IMDB_TEST_PIECES)
    monkeypatch.setenv(subwords.CACHE_ENV, str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (root / rel).write_bytes(data)
    return root


def test_local_views_in_memory(source_dir):
    def load(spec, split="train"):
        return list(datasets.load_dataset(spec, split, source_dir=source_dir))

    assert load("sst") == [
        {"tokens": ["good", "film"], "label": 3},
        {"tokens": ["a", "film"], "label": 2},
        {"tokens": ["bad"], "label": 0},
    ]
    assert [e["label"] for e in load("sst:binary")] == [1, 0]
    assert load("sst_trees") == load("sst")
    assert len(load("sst_trees:phrases")) == 3 + 5  # sentences, then every inner node
    assert load("ptb", "valid") == [{"tokens": ["the", "dog"]}]
    assert load("wikiner") == [{"tokens": ["Paris", "is", "a|b"], "tags": ["I-LOC", "O", "O"]}]
    assert load("ewt")[0]["tags"] == ["PRON", "AUX", "PART"]
    assert load("ewt:xpos")[0]["tags"] == ["PRP", "VBP", "RB"]
    assert (
        load("shakespeare")[0]["text"] + load("shakespeare", "dev")[0]["text"]
        == (FILES["tinyshakespeare/input.txt"])
    )
    assert datasets.task_of("ewt:xpos") == "tagging"

    imdb = load("imdb")
    assert [e["label"] for e in imdb] == [i % 2 for i in range(40)]
    assert [subwords.detokenize(e["tokens"]) for e in imdb] == IMDB_TRAIN
    assert load("imdb", "dev")[1] == {"tokens": load("imdb", "dev")[1]["tokens"], "label": 0}
    assert subwords.detokenize(load("imdb", "dev")[1]["tokens"]) == "bad plot"
    unsup = load("imdb:unsup")  # the labelled training text, then the unlabelled reviews
    assert [subwords.detokenize(e["tokens"]) for e in unsup] == IMDB_TRAIN + IMDB_UNSUP
    assert all(set(e) == {"tokens"} for e in unsup) and len(load("imdb:unsup", "dev")) == 2
    assert load("imdb:chars", "dev") == [{"text": "I loved it !", "label": 1},
                                         {"text": "bad  plot", "label": 0}]  # fmt: skip
    assert [e["text"] for e in load("imdb:chars,unsup")] == IMDB_TRAIN + IMDB_UNSUP
    assert load("imdb:words", "dev") == [{"tokens": ["I", "loved", "it", "!"], "label": 1},
                                         {"tokens": ["bad", "plot"], "label": 0}]  # fmt: skip
    assert [e["tokens"] for e in load("imdb:unsup,words")] == [
        r.split(" ") for r in IMDB_TRAIN + IMDB_UNSUP
    ]
    tasks = [datasets.task_of(s) for s in ("imdb", "imdb:unsup", "imdb:chars", "imdb:unsup,chars")]
    assert tasks == ["classification", "lm", "chars", "chars"]


def test_subword_model_is_deterministic_and_cached(source_dir, monkeypatch):
    first = subwords.train(IMDB_UNSUP, IMDB_TEST_PIECES).serialized_model_proto()
    assert subwords.train(IMDB_UNSUP, IMDB_TEST_PIECES).serialized_model_proto() == first
    model = local_formats._imdb_tokenizer(str(source_dir / "imdb"))

    def no_training(*args):
        raise AssertionError("trained again: the cache was not used")

    monkeypatch.setattr(subwords, "train", no_training)
    again = local_formats._imdb_tokenizer(str(source_dir / "imdb"))
    assert again.serialized_model_proto() == model.serialized_model_proto()
    assert again.get_piece_size() == IMDB_TEST_PIECES


def test_clear_errors_for_bad_specs(source_dir):
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        datasets.load_dataset("nope", source_dir=source_dir)
    with pytest.raises(ValueError, match="no view"):
        datasets.load_dataset("ptb:binary", source_dir=source_dir)
    with pytest.raises(ValueError, match="source_dir"):
        datasets.load_dataset("sst")
    with pytest.raises(FileNotFoundError, match="classes/test.txt"):
        datasets.load_dataset("sst", "test", source_dir=source_dir)


SPECS = ["sst", "sst:binary", "sst_trees:phrases", "ptb", "wikiner", "ewt:xpos", "shakespeare",
         "imdb", "imdb:unsup", "imdb:chars,unsup", "imdb:words"]  # fmt: skip


def test_tfds_round_trip_without_tensorflow(source_dir, tmp_path):
    data_dir = tmp_path / "tfds"
    for spec in SPECS:
        for split in ("train", "dev") if spec != "wikiner" and spec[:3] != "ewt" else ("train",):
            direct = list(datasets.load_dataset(spec, split, source_dir=source_dir))
            prepared = datasets.load_dataset(spec, split, source_dir=source_dir, data_dir=data_dir)
            assert list(prepared) == direct, (spec, split)
    # Prepared once, reused: no source directory is needed the second time.
    again = datasets.load_dataset("ptb", "valid", data_dir=data_dir)
    assert list(again) == [{"tokens": ["the", "dog"]}]
    assert (data_dir / "rnnlab_local" / "sst" / "1.0.0").is_dir()
    assert (data_dir / "rnnlab_local" / "imdb" / "1.1.0").is_dir()  # + words
    with pytest.raises(ValueError, match="no split 'test'"):
        datasets.load_dataset("ptb", "test", data_dir=data_dir)
    assert "tensorflow" not in sys.modules


def test_synthetic_through_the_same_switch():
    lm = datasets.load_dataset("synthetic", "dev")
    assert set(lm[0]) == {"tokens"} and len(lm) == 2000
    tagging = datasets.load_dataset("synthetic:tagging", "valid", seed=3)
    assert set(tagging[0]) == {"tokens", "tags"}


def test_catalog_features_map_to_the_example_schema():
    """No network here: feed each catalog mapping a record shaped like its TFDS features."""

    def view(name, record, views=()):
        return datasets.CATALOG[name].to_example(record, views)

    assert view("glue/sst2", {"sentence": b"a fine film ", "label": 1, "idx": 0}) == {
        "tokens": ["a", "fine", "film"],
        "label": 1,
    }
    assert view("imdb_reviews", {"text": b"Great  movie", "label": 0})["tokens"] == [
        "Great",
        "movie",
    ]
    assert view("lm1b", {"text": b"the cat ."}) == {"tokens": ["the", "cat", "."]}
    assert view("tiny_shakespeare", {"text": b"To be"}) == {"text": "To be"}
    ud = {  # "don't" as a multiword range (head "_") followed by its two words
        "tokens": [b"I", b"don't", b"do", b"n't"],
        "upos": [10, 0, 3, 9],
        "xpos": [b"PRP", b"_", b"VBP", b"RB"],
        "head": [b"2", b"_", b"0", b"2"],
    }
    got = view("universal_dependencies/en_ewt", ud)
    assert got == {"tokens": ["I", "do", "n't"], "tags": ["PRON", "AUX", "PART"]}
    assert view("universal_dependencies/en_ewt", ud, ("xpos",))["tags"] == ["PRP", "VBP", "RB"]
    for name, fmt in datasets.CATALOG.items():
        assert fmt.task in datasets.TASKS and "train" in fmt.splits, name


def test_joined_specs_keep_the_fields_all_parts_share(source_dir):
    both = datasets.load_dataset("ptb+sst", "train", source_dir=source_dir)
    assert both.task == datasets.task_of("ptb+sst") == "lm"  # SST's labels are dropped
    assert list(both) == [
        {"tokens": ["the", "cat", "sat"]},
        {"tokens": ["a", "dog"]},
        {"tokens": ["good", "film"]},
        {"tokens": ["a", "film"]},
        {"tokens": ["bad"]},
    ]
    assert list(datasets.load_dataset("sst+sst:binary", "dev", source_dir=source_dir)) == [
        {"tokens": ["great"], "label": 4},
        {"tokens": ["great"], "label": 1},
    ]
    with pytest.raises(ValueError, match="share no example schema"):
        datasets.task_of("ptb+shakespeare")


def test_any_text_file_with_or_without_a_split_pattern(tmp_path):
    (tmp_path / "train.txt").write_text("my own text\nsecond line ,\n", encoding="utf-8")
    (tmp_path / "dev.txt").write_text("held out\n", encoding="utf-8")
    one = datasets.load_dataset(f"text:{tmp_path}/train.txt")
    assert list(one) == [{"tokens": ["my", "own", "text"]}, {"tokens": ["second", "line", ","]}]
    assert datasets.task_of(f"text:{tmp_path}/train.txt") == "lm"
    dev = datasets.load_dataset(f"text:{tmp_path}/{{split}}.txt", "valid")
    assert list(dev) == [{"tokens": ["held", "out"]}]
    with pytest.raises(
        ValueError, match=r"is a train split only; .* write the path with \{split\}"
    ):
        datasets.load_dataset(f"text:{tmp_path}/train.txt", "dev")
    with pytest.raises(FileNotFoundError, match="test.txt: no such file"):
        datasets.load_dataset(f"text:{tmp_path}/{{split}}.txt", "test")
    joined = datasets.load_dataset(f"synthetic:classification+text:{tmp_path}/train.txt")
    assert joined.task == "lm" and joined[-1] == {"tokens": ["second", "line", ","]}


def test_review_words_are_treebank_tokens_like_sst():
    """SST's tokenization ("n't", "'s", `` '' quotes), sentence ends split, <br /> a space."""
    text = "It didn't work.<br /><br />The cast's \"best\" scene? None."
    assert words.words(text) == ["It", "did", "n't", "work", ".", "The", "cast", "'s", "``",
                                 "best", "''", "scene", "?", "None", "."]  # fmt: skip


def test_subword_vocabulary_is_a_soft_limit_for_small_corpora():
    """A corpus too small for the asked vocabulary gets fewer pieces instead of an error
    (the imdb reader builds pieces for every view, chars and words included)."""
    model = subwords.train(IMDB_UNSUP[:5], 16_000)
    assert 0 < model.get_piece_size() < 16_000
    assert subwords.detokenize(subwords.pieces(model, IMDB_UNSUP[:1])[0]) == IMDB_UNSUP[0]
