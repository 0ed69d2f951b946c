"""A workdir that is a bucket URL (`gs://bucket/run`): training, a SIGTERM, the resume and
reading the run back take the code path of a real bucket (etils.epath's `gs://` backend,
orbax's GCS atomicity and TensorStore's GCS kvstore), with the bucket's objects stored in
a local folder by the test; the result must equal a local run's bit for bit."""

import contextlib
import json
import os
import signal
import struct
import sys
import types
from unittest import mock

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from etils.epath import testing as epath_testing
from orbax.checkpoint._src.path import gcs_utils
from tensorboardX.proto import event_pb2
from test_train import tiny_config

import rnnlab
from rnnlab import runs, train

URL = "gs://bucket/run"


@contextlib.contextmanager
def fake_gcs(root):
    """gs://<bucket>/<key> stored as root/<bucket>/<key>: epath's backend for gs:// (each
    call maps its paths), TensorStore's GCS kvstore spec (a file kvstore there) and the
    bucket's hierarchical-namespace query (off; its client library a stub). Local paths
    pass through unchanged."""

    def local(path):
        path = os.fspath(path)
        return os.path.join(root, path.removeprefix("gs://")) if path.startswith("gs://") else path

    def url(path, like):
        return (
            "gs://" + os.path.relpath(path, root) if os.fspath(like).startswith("gs://") else path
        )

    def one(fn, path, *args, **kwargs):
        return fn(local(path), *args, **kwargs)

    def two(fn, path, dst, *args, **kwargs):
        return fn(local(path), local(dst), *args, **kwargs)

    def glob(fn, pattern):
        return [url(p, pattern) for p in fn(local(pattern))]

    def walk(fn, top, **kwargs):
        for folder, dirs, files in fn(local(top), **kwargs):
            yield url(folder, top), dirs, files

    ones = ("exists", "isdir", "listdir", "makedirs", "mkdir", "open", "remove", "rmtree", "stat")
    mocks = {name: one for name in ones} | {name: two for name in ("copy", "rename", "replace")}
    with (
        epath_testing.mock_epath(glob=glob, walk=walk, **mocks),
        mock.patch.object(gcs_utils, "get_kvstore_for_gcs",
                          lambda path: {"driver": "file", "path": local(path)}),
        mock.patch.object(gcs_utils, "is_hierarchical_namespace_enabled", lambda path: False),
        mock.patch.dict(sys.modules, {"google.cloud.storage": types.ModuleType("storage")}),
    ):  # fmt: skip
        yield


def _state(run_dir):
    """The newest checkpoint's whole train state, read by orbax from the local folder."""
    folder = run_dir / "checkpoints"
    step = max(int(p.name) for p in folder.iterdir() if p.name.isdigit())
    with ocp.StandardCheckpointer() as c:
        return c.restore(folder / str(step) / "state")


def _results(run_dir) -> dict:
    out = json.loads((run_dir / runs.RESULTS_FILE).read_text())
    del out["workdir"], out["wall_time_s"]
    return out


def _events(path) -> list:
    """The Event protos of a TensorBoard event file (records: length, crc, data, crc)."""
    data, events, i = path.read_bytes(), [], 0
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i : i + 8])
        events.append(event_pb2.Event.FromString(data[i + 12 : i + 12 + n]))
        i += 12 + n + 4
    return events


def test_a_bucket_workdir_is_stopped_resumed_and_matches_a_local_run(tmp_path, monkeypatch):
    config = tiny_config(lm_mode="stream", eval_every=2)
    local = tmp_path / "local"
    train.train_and_evaluate(config, str(local))
    bucket = tmp_path / "objects"
    monkeypatch.chdir(tmp_path)  # a path taken for a local one would appear here as gs:/

    def preempt(step):
        if step == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    with fake_gcs(bucket):
        first = train.train_and_evaluate(config, URL, on_step=preempt)
        assert first["preempted"] and first["step"] == 3
        assert train.train_and_evaluate(config, URL)["step"] == 8
        run, want = runs.load(URL), runs.load(str(local))
        sentences = [" ".join(want.vocabs["words"].tokens[4:9])]
        scores = rnnlab.load(URL).score(sentences)
        assert runs.find("gs://bucket") == [URL]
    assert not (tmp_path / "gs:").exists()
    remote = bucket / "bucket" / "run"
    assert (remote / "checkpoints" / "8" / "commit_success.txt").exists()  # GCS atomicity
    jax.tree.map(np.testing.assert_array_equal, _state(remote), _state(local))
    for name in ("metrics.jsonl", "config.json", "vocab.words.json"):
        assert (remote / name).read_text() == (local / name).read_text(), name
    assert _results(remote) == _results(local)
    assert (remote / "curves.png").stat().st_size > 0
    start, resume = (_events(f) for f in sorted((remote / "tb").glob("events.*.from*")))
    # The resume tells TensorBoard to drop what the first run logged after step 3.
    assert [e.step for e in resume if e.HasField("session_log")] == [4]
    for events in (start, resume):
        values = [v for e in events for v in e.summary.value]
        (text,) = [v.tensor.string_val[0].decode() for v in values if v.tag.startswith("config")]
        assert '"learning_rate": 0.01' in text and '"lm_mode": "stream"' in text
        lrs = {v.simple_value for v in values if v.tag == "train/learning_rate"}
        assert lrs == {np.float32(config.learning_rate)}
    jax.tree.map(np.testing.assert_array_equal, run.params, want.params)
    assert (run.step, run.vocabs, run.config) == (want.step, want.vocabs, want.config)
    assert scores == rnnlab.load(str(local)).score(sentences)


@pytest.mark.parametrize("path", ["relative/run", "gs://bucket/run"])
def test_checkpoints_get_the_workdir_unchanged_or_absolute(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    with fake_gcs(tmp_path / "objects"):
        ckpt = runs.checkpointer(path, 1)
        want = path if "://" in path else str(tmp_path / path)
        assert str(ckpt.latest.directory) == f"{want}/checkpoints"
        ckpt.close()


@pytest.mark.parametrize(
    "workdir, message",
    [
        ("s3://bucket/run", "s3://bucket/run: a workdir is a local path or a gs:// URL"),
        (URL, f"{URL}: .+; a gs:// workdir needs `pip install gcsfs google-cloud-storage`"),
    ],
)
def test_an_unusable_workdir_url_is_one_error_before_training_starts(workdir, message):
    no_client = mock.patch.dict(sys.modules, {"google.cloud.storage": None})
    with fake_gcs("/nonexistent"), no_client, pytest.raises(OSError, match=message):
        train.train_and_evaluate(tiny_config(), workdir)
