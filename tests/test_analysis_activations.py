"""Cell activations: the states equal a direct `recurrent.run`, planted units are found,
the HTML is escaped, and the CLI runs end to end on a tiny trained character LM."""

import html
import json
import os
import re
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import REPO_ROOT

from experiments.configs.base import base_config
from rnnlab import cells, models, recurrent, runs, train
from rnnlab.analysis import activations

train.enable_compilation_cache(os.path.join(tempfile.gettempdir(), "rnnlab-test-jax-cache"))

# Holes and an empty row: every mask pattern `recurrent.run` allows.
MASK_BxT = jnp.array([[1, 1, 1, 1, 1, 1], [1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]], bool)
TOKENS_BxT = jnp.array([[1, 2, 3, 4, 5, 6], [2, 2, 7, 3, 1, 7], [0, 0, 0, 0, 0, 0]])


def _direct_lstm_states(params_l, xs_BxTxD, mask_BxT):
    """h from one `recurrent.run`; c at each step by running one step at a time."""
    cell = cells.lstm(4)
    _, hs_BxTxH = recurrent.run(cell, params_l, xs_BxTxD, mask_BxT)
    carry, cs = recurrent.initial_carry_batch(cell, xs_BxTxD.shape[0]), []
    for t in range(xs_BxTxD.shape[1]):
        carry, _ = recurrent.run(
            cell, params_l, xs_BxTxD[:, t : t + 1], mask_BxT[:, t : t + 1], carry
        )
        cs.append(jnp.where(mask_BxT[:, t, None], carry[1], 0.0))
    return hs_BxTxH, jnp.stack(cs, axis=1), carry


def test_lm_states_equal_a_direct_run_of_the_same_params():
    model = models.LanguageModel(vocab_size=8, embed_dim=3, hidden_size=4, num_layers=2)
    params = model.init(jax.random.key(0), TOKENS_BxT, MASK_BxT)["params"]
    steps, finals = activations.model_states(model, params, TOKENS_BxT, MASK_BxT)
    xs = params["embed"]["embedding"][TOKENS_BxT]
    for layer, params_l in enumerate(params["rnn"]["layers"]):
        hs, cs, carry = _direct_lstm_states(params_l, xs, MASK_BxT)
        np.testing.assert_allclose(steps[layer]["h"], hs, atol=1e-6)
        np.testing.assert_allclose(steps[layer]["c"], cs, atol=1e-6)
        np.testing.assert_allclose(finals[layer]["h"], carry[0], atol=1e-6)
        np.testing.assert_allclose(finals[layer]["c"], carry[1], atol=1e-6)
        xs = hs
    assert not np.allclose(steps[1]["c"], steps[1]["h"])  # c is not h again


def test_bidirectional_classifier_states_equal_a_direct_run():
    model = models.Classifier(8, 2, embed_dim=3, hidden_size=4, cell="gru", num_layers=2)
    params = model.init(jax.random.key(0), TOKENS_BxT, MASK_BxT)["params"]
    steps, finals = activations.model_states(model, params, TOKENS_BxT, MASK_BxT)
    xs = params["embed"]["embedding"][TOKENS_BxT]
    for layer, params_l in enumerate(params["rnn"]["layers"]):
        (fw, bw), hs = recurrent.run_bidirectional(cells.gru(4), params_l, xs, MASK_BxT)
        assert set(steps[layer]) == {"h"}  # a GRU carries h only
        np.testing.assert_allclose(steps[layer]["h"], hs, atol=1e-6)
        np.testing.assert_allclose(finals[layer]["h"], jnp.concatenate([fw, bw], -1), atol=1e-6)
        xs = hs
    # The sentence vector the classifier reads is the top layer's final states.
    _, sentence_BxS = model.apply({"params": params}, TOKENS_BxT, MASK_BxT)
    np.testing.assert_allclose(finals[-1]["h"], sentence_BxS, atol=1e-6)


def test_correlation_search_finds_planted_units():
    rng = np.random.default_rng(0)
    T, U = 400, 30
    feature_T = (rng.random(T) < 0.3).astype(float)
    acts_TxU = rng.normal(size=(T, U))
    acts_TxU[:, 7] = feature_T + 0.3 * rng.normal(size=T)
    acts_TxU[:, 3] = -feature_T + 0.6 * rng.normal(size=T)
    acts_TxU[:, 5] = 1.0  # a constant unit: r = 0, not nan
    names = [f"1:h:{u}" for u in range(U)]
    top = activations.top_units(acts_TxU, {"f": feature_T, "const": np.ones(T)}, names, k=3)
    assert list(top) == ["f"]  # a constant feature is left out
    (u0, r0), (u1, r1), _ = top["f"]
    assert (u0, u1) == ("1:h:7", "1:h:3") and r0 > 0.8 and r1 < -0.5
    np.testing.assert_allclose(r0, np.corrcoef(acts_TxU[:, 7], feature_T)[0, 1], rtol=1e-12)
    assert activations.correlations(acts_TxU, feature_T)[5] == 0.0


def test_single_unit_probe_finds_the_planted_unit():
    """Unit 5 = ±1 by label + N(0, 0.5²): the best threshold is right with p = Φ(2) ≈ 0.977."""
    rng = np.random.default_rng(1)
    U = 12

    def data(n):
        y = rng.integers(0, 2, n)
        X = rng.normal(size=(n, U)) * rng.uniform(0.5, 3, U) + rng.normal(size=U)
        X[:, 5] = 10.0 + 4.0 * ((2 * y - 1) + 0.5 * rng.normal(size=n))  # scale and offset
        return X, y

    report = activations.probe(*data(3000), *data(3000), top=3)
    best = report["single_units"][0]
    assert best["unit"] == 5 and abs(best["dev_accuracy"] - 0.977) < 0.01, best
    assert report["single_units"][1]["dev_accuracy"] < 0.56  # the rest are noise
    assert report["all_units"]["dev_accuracy"] > 0.96
    X, y = data(200)
    X[:, 0] = X[:, 1] = y  # separable, and two identical units: still a finite fit
    assert activations.probe(X, y, X, y)["all_units"]["dev_accuracy"] == 1.0
    with pytest.raises(ValueError, match="0/1"):
        activations.probe(*data(10), np.zeros((4, U)), np.array([0, 1, 2, 1]))


def test_fit_logistic_reaches_the_penalised_optimum():
    rng = np.random.default_rng(2)
    X_1xNx3 = np.concatenate([np.ones((50, 1)), rng.normal(size=(50, 2))], axis=1)[None]
    y_N = (X_1xNx3[0, :, 1] + rng.normal(size=50) > 0).astype(float)
    w = activations.fit_logistic(X_1xNx3, y_N, l2=0.5)[0]
    p = 1 / (1 + np.exp(-X_1xNx3[0] @ w))
    np.testing.assert_allclose(X_1xNx3[0].T @ (p - y_N) + 0.5 * w, 0, atol=1e-9)


def test_char_features_describe_the_context_after_each_character():
    f = activations.char_features('a "b" (c)\nde')
    np.testing.assert_array_equal(f["inside_quotes"], [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(f["inside_parentheses"], [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(f["position_in_line"], [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2])
    np.testing.assert_array_equal(f["beginning_of_word"], [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(f["after_newline"], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0])
    with pytest.raises(ValueError, match="one value per token"):
        activations.check_features({"bad": np.zeros(3)}, 12)


def test_html_escapes_the_text(tmp_path):
    text = "a<b & \"c\" 'd'\n</span>"
    path = tmp_path / "a.html"
    panels = [("unit 1:h:0 <x>", np.linspace(-1, 1, len(text)))]
    activations.write_html(path, list(text), panels, title="t & <t>", chars=True)
    page = path.read_text()
    shown = re.findall(r'title="[-+.0-9]+">([^<]*)</span>', page)  # one per character
    assert {"&lt;", "&amp;", "&quot;", "&#x27;", "&gt;"} <= set(shown)
    assert html.unescape("".join(shown)) == text.replace("\n", "↵")
    assert "<h2>unit 1:h:0 &lt;x&gt;</h2>" in page and "<h1>t &amp; &lt;t&gt;</h1>" in page


def test_unit_names_and_bad_names():
    layers = [{"h": np.zeros((2, 3)), "c": np.zeros((2, 3))}, {"h": np.zeros((2, 3))}]
    names = activations.unit_names(layers)
    assert names[:4] == ["1:h:0", "1:h:1", "1:h:2", "1:c:0"] and names[-1] == "2:h:2"
    assert activations.stack_units(layers).shape == (2, len(names))
    with pytest.raises(ValueError, match="index in 0..2"):
        activations.unit_index("1:h:3", names)


TEXT = (
    'First Citizen:\nBefore we proceed (any further), hear me speak.\n\nAll:\n"Speak, speak."\n'
    "Second Citizen:\nWould you proceed especially against Caius Marcius?\n"
)
SST = "4 ||| a gripping , funny film\n0 ||| dull and tedious\n2 ||| a film\n3 ||| warm & <b>good\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-layer char LSTM trained for 4 steps on a few hundred characters, and SST-like files."""
    root = tmp_path_factory.mktemp("act")
    (root / "data" / "tinyshakespeare").mkdir(parents=True)
    (root / "data" / "tinyshakespeare" / "input.txt").write_text(TEXT * 4)
    (root / "data" / "classes").mkdir()
    for split in ("train", "dev"):
        (root / "data" / "classes" / f"{split}.txt").write_text(SST * 3)
    c = base_config()
    c.update(dataset="shakespeare", source_dir=str(root / "data"), lm_mode="stream", seq_len=16)
    c.update(batch_size=4, eval_batch_size=4, num_steps=4, eval_every=4, metric="loss")
    c.model.update(hidden_size=8, embed_dim=8, num_layers=2)
    train.train_and_evaluate(c, str(root / "run"))
    return root


def test_cli_end_to_end(tiny_run):
    (tiny_run / "passage.txt").write_text(TEXT)
    np.savez(tiny_run / "f.npz", vowel=np.array([ch in "aeiou" for ch in TEXT], float))
    args = [
        sys.executable, "-m", "experiments.cell_activations", f"--workdir={tiny_run / 'run'}",
        f"--text_file={tiny_run / 'passage.txt'}", f"--out={tiny_run / 'out'}",
        f"--features={tiny_run / 'f.npz'}", "--units=2:c:3", "--labelled=sst:binary",
        f"--source_dir={tiny_run / 'data'}", "--top_k=3",
    ]  # fmt: skip
    out = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tiny_run / "out" / "activations.json").read_text())
    assert report["tokens"] == len(TEXT) and report["units"] == 2 * 2 * 8
    expected = {"inside_quotes", "inside_parentheses", "position_in_line", "beginning_of_word"}
    assert set(report["features"]) == expected | {"after_newline", "vowel"}
    for rows in report["features"].values():
        assert len(rows) == 3 and all(-1 <= r["r"] <= 1 for r in rows)
        assert abs(rows[0]["r"]) >= abs(rows[-1]["r"])
    probe = report["probe"]
    assert probe["train_examples"] == probe["dev_examples"] == 9  # binary view: no neutral (2)
    assert 0 <= probe["single_units"][0]["dev_accuracy"] <= 1
    assert any("2:c:3" in heading and "requested" in heading for heading in report["shown"])
    for png in ("activations.png", "probe_unit.png"):
        assert (tiny_run / "out" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tiny_run / "out" / "activations.html").read_text()
    assert page.count("<h2>") == len(report["shown"]) and "&quot;</span>" in page


def test_probe_reads_raw_documents_as_written():
    from experiments import cell_activations as cli

    review = {"text": "Great  film.\tReally!", "tokens": ["▁Great", "▁film"], "label": 1}
    assert cli._text(review) == "Great  film.\tReally!"  # raw text wins: a char LM reads it
    assert cli._text({"tokens": ["a", "film"], "label": 0}) == "a film"


def test_bad_inputs_give_clear_errors(tiny_run, tmp_path):
    from experiments import cell_activations as cli

    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        cli.analyse(str(tmp_path), "text", tmp_path / "out")
    with pytest.raises(ValueError, match="no unit '3:h:0'"):
        cli.analyse(str(tiny_run / "run"), "text", tmp_path / "out", units=["3:h:0"])
    with pytest.raises(ValueError, match="empty"):
        cli.analyse(str(tiny_run / "run"), "", tmp_path / "out")


@pytest.mark.parametrize("pooling", ["final", "mean"])
def test_sentence_vectors_in_token_bounded_batches_equal_each_text_alone(tiny_run, pooling):
    """Long texts go in fewer rows (max_tokens); every vector is still its own text's,
    in input order, as when the text is run alone without padding."""
    run = runs.load(str(tiny_run / "run"))
    texts = [TEXT[:300], TEXT[:5], TEXT[7:47], TEXT[:1], TEXT[3:103], TEXT[50:55]]
    wide = activations.sentence_vectors(run, texts, pooling=pooling)
    narrow = activations.sentence_vectors(run, texts, pooling=pooling, max_tokens=100)
    for text, wide_U, narrow_U in zip(texts, wide, narrow, strict=True):
        _, ids, _ = activations.encode_text(text, run)
        tokens_1xT, mask_1xT = np.asarray(ids)[None], np.ones((1, len(ids)), bool)
        steps, finals = activations.model_states(run.model, run.params, tokens_1xT, mask_1xT)
        alone = activations.stack_units(finals if pooling == "final" else steps)
        alone_U = alone[0] if pooling == "final" else alone[0].mean(0)
        np.testing.assert_allclose(wide_U, alone_U, atol=1e-5)
        np.testing.assert_allclose(narrow_U, alone_U, atol=1e-5)
