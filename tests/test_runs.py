"""rnnlab.runs: every task kind trains through the registry and reloads from its folder
alone with the same model, vocabularies and predictions; runs written before runs.py
(tests/fixtures/old_layout) still load and predict exactly what they did."""

import os
import pathlib
import shutil
import tempfile

import jax
import numpy as np
import pytest
from test_train import tiny_config

from rnnlab import checkpoint, models, runs, tasks, train

train.enable_compilation_cache(os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache"))

OLD_LAYOUT = pathlib.Path(__file__).parent / "fixtures" / "old_layout"


def _chars_dir(tmp_path) -> str:
    """A tiny character corpus in the layout of `shakespeare` (last 10% is dev)."""
    rng = np.random.default_rng(0)
    words = ["to be", "or not", "that is", "the question", "whether"]
    lines = [" ".join(rng.choice(words, 4)) for _ in range(60)]
    (tmp_path / "tinyshakespeare").mkdir()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("\n".join(lines) + "\n")
    return str(tmp_path)


WORDS = [("The", "the", "DET"), ("cats", "cat", "NOUN"), ("ran", "run", "VERB"),
         ("dogs", "dog", "NOUN"), ("is", "be", "AUX"), ("Paris", "Paris", "PROPN"),
         ("sleeping", "sleep", "VERB"), ("mice", "mouse", "NOUN")]  # fmt: skip


RELATIONS = {"DET": "det", "NOUN": "nsubj", "VERB": "ccomp", "AUX": "aux", "PROPN": "obj"}


def conllu_dir(tmp_path, sentences: int = 40) -> str:
    """Tiny UD files (train, dev) in the layout of `ewt` / `ewt_lemmas` / `ewt_deps`: each
    word after the first hangs from the word before it, its relation given by its UPOS."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "ud_english_ewt"
    folder.mkdir()
    for split, n in (("train", sentences), ("dev", sentences // 4)):
        lines = []
        for _ in range(n):
            for i, w in enumerate(rng.integers(0, len(WORDS), rng.integers(1, 6)), 1):
                form, lemma, upos = WORDS[w]
                head, rel = (0, "root") if i == 1 else (i - 1, RELATIONS[upos])
                lines.append(f"{i}\t{form}\t{lemma}\t{upos}\t_\t_\t{head}\t{rel}\t_\t_")
            lines.append("")
        (folder / f"en_ewt-ud-{split}.conllu").write_text("\n".join(lines) + "\n")
    return str(tmp_path)


KINDS = {
    "classification": {"dataset": "synthetic:classification", "metric": "accuracy",
                       "model.aux_lm_weight": 0.5, "model.bidirectional": False},
    "tagging": {"dataset": "synthetic:tagging", "metric": "accuracy",
                "model.char_hidden_size": 4, "model.char_embed_dim": 3},
    "lm": {"task": "lm", "dataset": "synthetic:classification", "model.cell": "gru"},
    "chars": {"dataset": "shakespeare", "lm_mode": "stream", "seq_len": 16},
    "seq2seq": {"dataset": "ewt_lemmas", "metric": "accuracy", "model.attention": "dot",
                "decode.beam_sizes": (1, 2)},
    "parsing": {"dataset": "ewt_deps", "metric": "las", "model.char_hidden_size": 4,
                "model.char_embed_dim": 3},
}  # fmt: skip


def test_every_registered_kind_is_exercised_here():
    assert set(KINDS) == set(tasks.REGISTRY)


def _outputs(task, model, params, batch):
    out = model.apply({"params": params}, *task.model_inputs(batch))
    return out[0] if isinstance(out, tuple) else out  # logits (the LM's carry, the vector)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_run_reloads_with_the_same_model_vocabularies_and_predictions(tmp_path, kind):
    overrides = dict(KINDS[kind], num_steps=4, eval_every=4)
    if kind == "chars":
        overrides["source_dir"] = _chars_dir(tmp_path)
    if kind in ("seq2seq", "parsing"):
        overrides["source_dir"] = conllu_dir(tmp_path)
    workdir = str(tmp_path / "run")
    results = train.train_and_evaluate(tiny_config(**overrides), workdir)
    assert results["summary"]["task"] == kind

    run = runs.load(workdir)
    task = tasks.build(run.config)  # the config as saved at the workdir's root
    assert (run.task, run.step) == (kind, 4)
    assert run.model == task.model and models.build(models.spec_of(run.model)) == run.model
    assert run.vocabs == task.vocabs
    # Bit for bit: the dev metrics training reported, and the outputs of the checkpoint's
    # parameters restored as the train state (no name or spec involved).
    assert train.evaluate(task, run.params, task.dev) == results["dev"]
    _, _, params = checkpoint.load(runs.checkpoint_dir(workdir, best=True))
    for batch in task.dev[:2]:
        np.testing.assert_array_equal(
            _outputs(task, run.model, run.params, batch), _outputs(task, task.model, params, batch)
        )
    # The folder alone: moved elsewhere, the run still loads (no absolute paths inside).
    moved = shutil.move(workdir, str(tmp_path / "moved"))
    again = runs.load(moved)
    jax.tree.map(np.testing.assert_array_equal, again.params, run.params)


@pytest.mark.parametrize("name", sorted(p.name for p in OLD_LAYOUT.iterdir() if p.is_dir()))
def test_runs_written_before_runs_py_load_and_predict_as_before(tmp_path, name):
    workdir = shutil.copytree(OLD_LAYOUT / name, tmp_path / name)  # loading writes nothing
    run = runs.load(str(workdir))
    expected = dict(np.load(workdir / "expected.npz"))
    outputs = expected.pop("outputs")
    if run.task == "classification":
        got = run.model.apply({"params": run.params}, expected["tokens_BxT"],
                              expected["mask_BxT"])[0]  # fmt: skip
    elif run.task == "tagging":
        got = run.model.apply({"params": run.params}, expected["tokens_BxT"],
                              expected["mask_BxT"], expected["chars_BxTxW"])  # fmt: skip
    else:
        got = run.model.apply({"params": run.params}, expected["inputs_BxT"],
                              expected["mask_BxT"], None, expected.get("labels_B"))[0]  # fmt: skip
    # `outputs` were computed on another CPU: XLA vectorises float32 sums for the machine's
    # vector width, so the last bits may differ (seen: up to 2e-7 on an AMD EPYC, logits
    # of size 0.5); a parameter read into the wrong place changes them by orders more.
    np.testing.assert_allclose(got, outputs, rtol=1e-5, atol=1e-6)
    assert run.vocabs["words"].tokens[:2] == ("<pad>", "<unk>")
    assert sorted(os.listdir(workdir)) == sorted(os.listdir(OLD_LAYOUT / name))


def test_old_layout_kinds_and_parts():
    """The fixture covers each renaming: classifier (+ aux head), tagger (+ characters),
    a GRU LM conditioned on labels (label_to_carry cut to what was read), a tied LM."""
    loaded = {p.name: runs.load(str(p)) for p in OLD_LAYOUT.iterdir() if p.is_dir()}
    assert {k: r.task for k, r in loaded.items()} == {
        "classifier": "classification", "classifier_aux": "classification",
        "tagger": "tagging", "lm_gru_conditioned": "lm", "lm_stream_tied": "lm",
    }  # fmt: skip
    assert set(loaded["classifier"].params) == {"embed", "rnn", "classify"}
    assert set(loaded["classifier_aux"].params) == {"embed", "rnn", "classify", "lm_out"}
    assert set(loaded["tagger"].params) == {"embed", "chars", "rnn", "out"}
    assert set(loaded["tagger"].params["chars"]) == {"embed", "rnn"}
    lm = loaded["lm_gru_conditioned"]
    H, L = lm.model.hidden_size, lm.model.num_layers
    assert lm.params["label_to_carry"]["kernel"].shape == (H, L * H)  # a GRU carries h only


def test_a_folder_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint in .*best"):
        runs.load(str(tmp_path))
    assert not os.path.exists(tmp_path / "best")  # looking created nothing


def test_the_add_a_task_skeleton_in_workspace_md_trains_and_reloads(tmp_path, monkeypatch):
    text = (pathlib.Path(__file__).parents[1] / "WORKSPACE.md").read_text()
    section = text[text.index("## Adding a task") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n\n")]
    namespace = {}
    exec(compile(code, "WORKSPACE.md", "exec"), namespace)
    monkeypatch.setitem(tasks.REGISTRY, "my_task", namespace["MyTask"])
    config = tiny_config(task="my_task", dataset="synthetic:tagging", metric="accuracy",
                         num_steps=2, eval_every=2)  # fmt: skip
    results = train.train_and_evaluate(config, str(tmp_path))
    assert results["summary"]["task"] == "my_task" and results["dev"]["count"] > 0
    run = runs.load(str(tmp_path))
    assert run.task == "my_task" and isinstance(run.model, models.Tagger)
