"""Users' own data in one line: tsv:/jsonl: specs with named fields, string labels as ids
(train order, stored with the run), examples in memory, and errors at file and line."""

import json

import pytest
from test_train import tiny_config

import rnnlab
from rnnlab import runs, train
from rnnlab.data import datasets, formats, user_formats

REVIEWS = {  # 3 classes as strings, extra columns that are not read
    "train": [("great fun", "pos", "1"), ("awful plot", "neg", "2"), ("it was ok", "neutral", "3"),
              ("loved it", "pos", "4"), ("boring", "neg", "5")],
    "dev": [("really fun", "pos", "6"), ("ok", "neutral", "7")],
}  # fmt: skip
IDS = {"neg": 0, "neutral": 1, "pos": 2}  # sorted names


def _tsv(root, rows: dict, header=("review", "stars", "id")) -> str:
    for split, lines in rows.items():
        text = "\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in lines)
        (root / f"{split}.tsv").write_text(text, encoding="utf-8")
    return f"tsv:{root}/{{split}}.tsv?text=review&label=stars"


def _jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_a_tsv_with_string_labels_is_a_classification_data_set(tmp_path):
    spec = _tsv(tmp_path, REVIEWS)
    assert datasets.task_of(spec) == "classification"
    train_set, dev = datasets.load_dataset(spec, "train"), datasets.load_dataset(spec, "valid")
    assert train_set.label_names == dev.label_names == ("neg", "neutral", "pos")
    assert list(train_set) == [
        {"tokens": t.split(), "label": IDS[y]} for t, y, _ in REVIEWS["train"]
    ]
    assert list(dev) == [{"tokens": t.split(), "label": IDS[y]} for t, y, _ in REVIEWS["dev"]]


def test_integer_labels_are_ordered_as_numbers():
    assert user_formats.label_names(["10", "2", "1", "2"]) == ("1", "2", "10")
    assert user_formats.label_names(["b", "10", "a", "2"]) == ("10", "2", "a", "b")


def test_jsonl_tagging_and_tsv_lm_fields(tmp_path):
    records = [{"words": ["Paris", "is", "big"], "ner": "B-LOC O O"},
               {"words": "New York", "ner": ["B-LOC", "I-LOC"]}]  # fmt: skip
    _jsonl(tmp_path / "train.jsonl", records)
    spec = f"jsonl:{tmp_path}/train.jsonl?text=words&tags=ner"
    assert datasets.task_of(spec) == "tagging"
    assert list(datasets.load_dataset(spec)) == [
        {"tokens": ["Paris", "is", "big"], "tags": ["B-LOC", "O", "O"]},
        {"tokens": ["New", "York"], "tags": ["B-LOC", "I-LOC"]},
    ]
    (tmp_path / "lm.tsv").write_text("id\ttext\n1\tthe cat  sat\n\n2\ta dog\n", encoding="utf-8")
    lm = datasets.load_dataset(f"tsv:{tmp_path}/lm.tsv")  # the default field: text
    assert lm.task == "lm" and lm.label_names is None
    assert list(lm) == [{"tokens": ["the", "cat", "sat"]}, {"tokens": ["a", "dog"]}]


@pytest.mark.parametrize(
    ("name", "content", "query", "message"),
    [
        ("a.tsv", "text\tlabel\nfine\tpos\nbad\n", "label", r"a.tsv:3: expected 2 tab-separated"),
        ("a.tsv", "review\tlabel\nfine\tpos\n", "label", r"a.tsv:1: expected a header naming a "
                                                         r"column 'text' \(the text\)"),
        ("a.jsonl", '{"text": "fine", "label": "pos"}\n{"text": "x"', "label",
         r"a.jsonl:2: expected a JSON object \(Expecting"),
        ("a.jsonl", '{"text": "fine", "label": "pos"}\n{"text": "x"}\n', "label",
         r"a.jsonl:2: expected a field 'label' \(the label\)"),
        ("a.jsonl", '{"text": "a b", "tags": "X"}\n', "tags",
         r"a.jsonl:1: expected one tag per token in 'tags': 2 tokens, 1 tags"),
        ("a.jsonl", '{"text": "a", "label": null}\n', "label",
         r"a.jsonl:1: expected a label \(a string or an integer\) in 'label'"),
        ("a.jsonl", '[1, 2]\n', "", r"a.jsonl:1: expected a JSON object"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_file_and_line(tmp_path, name, content, query, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    spec = f"{name.split('.')[1]}:{tmp_path}/{name}?{query}"
    with pytest.raises(formats.DataFormatError, match=message):
        datasets.load_dataset(spec)


def test_a_dev_label_that_training_never_saw_is_an_error_at_its_line(tmp_path):
    spec = _tsv(tmp_path, {**REVIEWS, "dev": [("so so", "mixed", "8")]})
    expected = r"dev.tsv:2: expected a label of the train split, one of \['neg', 'neutral', 'pos'\]"
    with pytest.raises(formats.DataFormatError, match=expected + "; got 'mixed'"):
        datasets.load_dataset(spec, "dev")


def test_bad_specs_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match="unknown field role 'labels'; expected role=name"):
        datasets.task_of("tsv:a.tsv?labels=y")
    with pytest.raises(ValueError, match="name a label .* or tags .*, not both"):
        datasets.task_of("jsonl:a.jsonl?label&tags")
    with pytest.raises(ValueError, match=r"is a train split only; .* write the path with \{split"):
        datasets.load_dataset("tsv:a.tsv?label", "dev")


def test_examples_in_memory_with_string_labels(tmp_path):
    splits = {s: [{"tokens": t, "label": y} for t, y, _ in rows] for s, rows in REVIEWS.items()}
    datasets.register("my_reviews", splits)
    assert datasets.task_of("my_reviews") == "classification"
    dev = datasets.load_dataset("my_reviews", "dev")
    assert dev.label_names == ("neg", "neutral", "pos")
    assert list(dev) == [{"tokens": t.split(), "label": IDS[y]} for t, y, _ in REVIEWS["dev"]]
    mixed = [*splits["dev"], {"tokens": "x", "label": "mixed"}]
    with pytest.raises(ValueError, match="my_reviews dev example 2: expected a label of the"):
        datasets.register("my_reviews", {**splits, "dev": mixed})
    with pytest.raises(ValueError, match="has no split 'test'; it has \\['dev', 'train'\\]"):
        datasets.load_dataset("my_reviews", "test")
    with pytest.raises(ValueError, match="cannot register 'ptb'"):
        datasets.register("ptb", splits)


def test_a_tsv_trains_end_to_end_and_the_run_answers_with_its_labels(tmp_path):
    spec = _tsv(tmp_path, {s: rows * 4 for s, rows in REVIEWS.items()})
    workdir = str(tmp_path / "run")
    config = tiny_config(dataset=spec, metric="accuracy", num_steps=4, eval_every=4)
    train.train_and_evaluate(config, workdir)
    assert runs.load_vocabs(workdir)["labels"].tokens[1:] == ("neg", "neutral", "pos")
    for run in (rnnlab.load(workdir), rnnlab.load(rnnlab.export(workdir, f"{tmp_path}/m.rnnlab"))):
        assert run.labels == ["neg", "neutral", "pos"]
        out = run.classify(["great fun", "awful"])
        for o in out:
            assert len(o["probs"]) == 3
            assert o["label"] == run.labels[max(range(3), key=o["probs"].__getitem__)]


def test_tagging_examples_in_memory_train_through_the_train_api(tmp_path):
    sentences = [("Paris is big", "LOC O O"), ("Anna saw Rome", "PER O LOC"), ("it is", "O O")]
    datasets.register("my_tags", {
        split: [{"tokens": t, "tags": y} for t, y in sentences * 4] for split in ("train", "dev")
    })  # fmt: skip
    workdir = str(tmp_path / "run")
    train.train_and_evaluate(tiny_config(dataset="my_tags", metric="accuracy", num_steps=2,
                                         eval_every=2), workdir)  # fmt: skip
    tags = rnnlab.load(workdir).tag(["Anna is in Rome", "unseen"])
    assert [len(t) for t in tags] == [4, 1]
    assert {t for sentence in tags for t in sentence} <= {"LOC", "O", "PER"}


def test_a_dev_file_with_other_label_names_than_train_is_an_error(tmp_path):
    """--config.dev_dataset from another file numbers its classes from its own train split:
    different names would silently be other classes, so the run refuses them."""
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    spec = _tsv(tmp_path / "a", REVIEWS)
    two_classes = [r for r in REVIEWS["train"] if r[1] != "neutral"]
    other = _tsv(tmp_path / "b", {"train": two_classes, "dev": REVIEWS["dev"][:1]})
    config = tiny_config(dataset=spec, dev_dataset=other, metric="accuracy", num_steps=1)
    with pytest.raises(ValueError, match=r"\(dev\) has the labels \['neg', 'pos'\], but .*"
                       r"\(train\) has \['neg', 'neutral', 'pos'\]"):  # fmt: skip
        train.train_and_evaluate(config, str(tmp_path / "run"))
    same = _tsv(tmp_path / "b", {"train": REVIEWS["train"], "dev": REVIEWS["dev"][:1]})
    config.dev_dataset = same  # the same names: fine
    train.train_and_evaluate(config, str(tmp_path / "ok"))
