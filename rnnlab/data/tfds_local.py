"""The local formats as a TFDS data set (`rnnlab_local/<format>`), without TensorFlow.

Prepared from the user's directory of files (TFDS's `manual_dir`) into `data_dir` in
array_record format, in file order (no shuffling at write time; grain shuffles), and
read back with `as_data_source` -- or, once prepared, with
`tfds.data_source("rnnlab_local/sst", data_dir=...)` after importing this module.
A prepared copy is reused: prepare once per data_dir and version.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds

from rnnlab.data.local_formats import LOCAL_FORMATS, LocalFormat

_TEXTS = tfds.features.Sequence(tfds.features.Text())
_FEATURES = {
    "classification": {"tokens": _TEXTS, "label": tfds.features.Scalar(np.int64)},
    "lm": {"tokens": _TEXTS},
    "tagging": {"tokens": _TEXTS, "tags": _TEXTS},
    "chars": {"text": tfds.features.Text()},
    "seq2seq": {
        "source": _TEXTS,
        "target": _TEXTS,
        "feature": tfds.features.Text(),
        "count": tfds.features.Scalar(np.int64),
    },
}
_FORMAT_FEATURES = {  # stored examples that carry more than their task's fields
    "ewt": {"tokens": _TEXTS, "upos": _TEXTS, "xpos": _TEXTS},
    "imdb": {
        "text": tfds.features.Text(),
        "tokens": _TEXTS,
        "words": _TEXTS,
        "label": tfds.features.Scalar(np.int64),
    },
    "ewt_lemmas": {**_FEATURES["seq2seq"], "in_name": tfds.features.Scalar(np.int64)},
}
# imdb 1.1.0: + the words of each review (the "words" view); ewt_lemmas 1.1.0: + in_name
_VERSIONS = {"imdb": "1.1.0", "ewt_lemmas": "1.1.0"}
_INTS = tfds.features.Sequence(tfds.features.Scalar(np.int64))
_FEATURES["parsing"] = {"tokens": _TEXTS, "upos": _TEXTS, "heads": _INTS, "deprels": _TEXTS}


class RnnlabLocal(tfds.core.GeneratorBasedBuilder):
    """rnnlab's local data formats (see rnnlab.data.local_formats.LOCAL_FORMATS)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=name, version=_VERSIONS.get(name, "1.0.0"))
        for name in LOCAL_FORMATS
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Pass the directory holding the files, laid out like ../shared/data "
        "(classes/, trees/, ptb/, tags/, ud_english_ewt/, tinyshakespeare/, imdb/), as manual_dir."
    )

    def _info(self) -> tfds.core.DatasetInfo:
        fmt = LOCAL_FORMATS[self.builder_config.name]
        features = _FORMAT_FEATURES.get(self.builder_config.name, _FEATURES[fmt.task])
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(features),
            disable_shuffling=True,  # file order: the same examples as the in-memory path
        )

    def _split_generators(self, dl_manager):
        name = self.builder_config.name
        fmt = LOCAL_FORMATS[name]
        root = dl_manager.manual_dir
        present = {s: root / p for s, p in fmt.files.items() if (root / p).exists()}
        if "train" not in present:
            raise FileNotFoundError(
                f"{root / fmt.files['train']}: no such file (expected the {name} training data)"
            )
        return {s: self._generate_examples(str(path), s, fmt) for s, path in present.items()}

    def _generate_examples(self, path: str, split: str, fmt: LocalFormat):
        yield from enumerate(fmt.read(path, split))


def builder(name: str, source_dir, data_dir) -> RnnlabLocal:
    """The prepared builder of local format `name` (prepared now if not yet in data_dir)."""
    b = RnnlabLocal(config=name, data_dir=os.fspath(data_dir), file_format="array_record")
    if not b.is_prepared():
        if source_dir is None:
            raise ValueError(
                f"{name} is not prepared in {data_dir}: give source_dir to prepare it from"
            )
        config = tfds.download.DownloadConfig(manual_dir=os.fspath(source_dir))
        b.download_and_prepare(download_config=config)
    return b


def data_source(name: str, split: str, source_dir, data_dir):
    b = builder(name, source_dir, data_dir)
    if split not in b.info.splits:
        available = sorted(s for s in b.info.splits if not s.endswith("_phrases"))
        raise ValueError(f"{name} in {data_dir} has no split {split!r}; it has {available}")
    return b.as_data_source(split=split)
