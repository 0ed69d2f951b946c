"""Models and losses: shapes, padding never matters, carries continue, training learns."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rnnlab import cells, losses, models, recurrent

V, C, K = 23, 3, 5


def _batch(seed=0, B=3, T=7):
    rng = np.random.default_rng(seed)
    lengths_B = np.array([T, T - 3, 2])[:B]
    mask_BxT = np.arange(T)[None] < lengths_B[:, None]
    tokens_BxT = np.where(mask_BxT, rng.integers(1, V, (B, T)), 0).astype(np.int32)
    return tokens_BxT, mask_BxT


def _repad(tokens_BxT, mask_BxT, extra=5, fill=7):
    """The same sentences with more (garbage-filled) padding on the right."""
    B, T = tokens_BxT.shape
    tokens = np.full((B, T + extra), fill, np.int32)
    tokens[:, :T] = np.where(mask_BxT, tokens_BxT, fill)
    mask = np.zeros((B, T + extra), bool)
    mask[:, :T] = mask_BxT
    return tokens, mask


@pytest.mark.parametrize(
    "pooling, bidirectional", [("final", True), ("mean", False), ("max", True)]
)
def test_classifier_shapes_and_padding(pooling, bidirectional):
    model = models.Classifier(V, C, 8, 6, "gru", 2, bidirectional, pooling)
    tokens, mask = _batch()
    params = model.init(jax.random.PRNGKey(0), tokens, mask)
    logits_BxC, sentence_BxS = model.apply(params, tokens, mask)
    assert logits_BxC.shape == (3, C)
    assert sentence_BxS.shape == (3, 12 if bidirectional else 6)
    # Garbage padding changes nothing; neither does running one sentence alone.
    logits2, _ = model.apply(params, *_repad(tokens, mask))
    np.testing.assert_allclose(logits2, logits_BxC, atol=1e-6)
    n = int(mask[2].sum())
    alone, _ = model.apply(params, tokens[2:, :n], mask[2:, :n])
    np.testing.assert_allclose(alone[0], logits_BxC[2], atol=1e-6)


def test_classifier_final_pooling_is_the_course_representation():
    """final = [h_fw after the last real word ; h_bw after the first word]."""
    model = models.Classifier(V, C, 8, 6, "lstm", 1, True, "final")
    tokens, mask = _batch()
    variables = model.init(jax.random.PRNGKey(1), tokens, mask)
    _, sentence_BxS = model.apply(variables, tokens, mask)
    params = variables["params"]
    xs = params["embed"]["embedding"][tokens]
    rnn = models.Recurrent("lstm", 6, 1, True)
    _, hs = rnn.apply({"params": params["rnn"]}, xs, mask)
    last_B = mask.sum(-1) - 1
    fw_last = hs[np.arange(3), last_B, :6]
    np.testing.assert_allclose(sentence_BxS[:, :6], fw_last, atol=1e-6)
    np.testing.assert_allclose(sentence_BxS[:, 6:], hs[:, 0, 6:], atol=1e-6)


def test_lm_padding_and_loss_per_real_token():
    model = models.LanguageModel(V, 8, 8, "lstm", 1, tie_weights=True)
    tokens, mask = _batch()
    targets = np.roll(tokens, -1, axis=1)
    params = model.init(jax.random.PRNGKey(0), tokens, mask)
    logits, _ = model.apply(params, tokens, mask)
    assert logits.shape == (3, 7, V)
    stats = losses.token_cross_entropy(logits, targets, mask)
    # Independent computation: numpy log-softmax over real positions only.
    z = np.asarray(logits, np.float64)
    logp = (
        z
        - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True))
        - z.max(-1, keepdims=True)
    )
    nll = -np.take_along_axis(logp, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(stats["loss"], nll[mask].mean(), rtol=1e-5)
    assert stats["count"] == mask.sum()
    # Padded tokens never change the loss (nor its gradient).
    tokens2, mask2 = _repad(tokens, mask)
    targets2 = np.full_like(tokens2, 3)
    targets2[:, :7] = targets

    def loss(p, t, m, y):
        return losses.token_cross_entropy(model.apply(p, t, m)[0], y, m)["loss"]

    loss_and_grad = jax.jit(jax.value_and_grad(loss))
    l1, g1 = loss_and_grad(params, tokens, mask, targets)
    l2, g2 = loss_and_grad(params, tokens2, mask2, targets2)
    np.testing.assert_allclose(l1, l2, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), g1, g2)


def test_lm_stream_carry_continues_the_sequence():
    model = models.LanguageModel(V, 6, 5, "gru", 2)
    tokens = np.random.default_rng(0).integers(1, V, (2, 10)).astype(np.int32)
    mask = np.ones_like(tokens, bool)
    params = model.init(jax.random.PRNGKey(0), tokens, mask)
    full, carry_full = model.apply(params, tokens, mask)
    first, carry = model.apply(params, tokens[:, :4], mask[:, :4])
    second, carry2 = model.apply(params, tokens[:, 4:], mask[:, 4:], carry)
    np.testing.assert_allclose(jnp.concatenate([first, second], 1), full, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), carry2, carry_full)


def test_lm_weight_tying_and_label_conditioning():
    tokens, mask = _batch()
    tied = models.LanguageModel(V, 8, 12, "lstm", 1, tie_weights=True, num_classes=2)
    labels = np.array([0, 1, 1])
    params = tied.init(jax.random.PRNGKey(0), tokens, mask, labels_B=labels)["params"]
    assert "out" not in params and "project" in params  # output matrix = embedding
    a, _ = tied.apply({"params": params}, tokens, mask, labels_B=labels)
    b, _ = tied.apply({"params": params}, tokens, mask, labels_B=1 - labels)
    assert not np.allclose(a, b)  # the label sets the initial state


def test_tagger_with_char_encoder_padding():
    model = models.Tagger(V, K, 8, 6, num_chars=11, char_embed_dim=4, char_hidden_size=3)
    tokens, mask = _batch()
    chars = np.random.default_rng(1).integers(1, 11, (3, 7, 4)).astype(np.int32)
    chars[..., 3] = 0  # words of 3 characters, padded to 4
    params = model.init(jax.random.PRNGKey(0), tokens, mask, chars)
    logits = model.apply(params, tokens, mask, chars)
    assert logits.shape == (3, 7, K)
    wider = np.zeros((3, 7, 8), np.int32)
    wider[..., :4] = chars
    np.testing.assert_allclose(model.apply(params, tokens, mask, wider), logits, atol=1e-6)
    other = chars.copy()
    other[0, 0, 0] = (other[0, 0, 0] % 10) + 1  # one word's spelling changes its tag scores
    assert not np.allclose(model.apply(params, tokens, mask, other)[0, 0], logits[0, 0])
    with pytest.raises(ValueError, match="chars_BxTxW"):
        model.apply(params, tokens, mask)


def test_tagger_word_dropout_only_in_training_and_only_on_real_tokens():
    """Rate 0 is the plain tagger; with rate > 0, eval is untouched, and training sees
    <unk> in place of some real tokens, never in place of padding."""
    tokens, mask = _repad(*_batch(), extra=9)  # garbage padding: must never be replaced
    chars = np.random.default_rng(1).integers(1, 11, (*tokens.shape, 4)).astype(np.int32)
    sizes = dict(embed_dim=V, hidden_size=6, num_chars=11, char_embed_dim=4,
                 char_hidden_size=3, dropout=0.3)  # fmt: skip
    plain = models.Tagger(V, K, **sizes)
    params = plain.init(jax.random.PRNGKey(0), tokens, mask, chars)["params"]
    params["embed"]["embedding"] = jnp.eye(V)  # one-hot rows: the embedding shows the ids
    rngs = {"dropout": jax.random.PRNGKey(3)}

    def run(model, train):
        logits, state = model.apply({"params": params}, tokens, mask, chars, train=train,
                                    rngs=rngs, capture_intermediates=True)  # fmt: skip
        ids_BxT = jnp.argmax(state["intermediates"]["embed"]["__call__"][0], axis=-1)
        return logits, np.asarray(ids_BxT)

    want, _ = run(plain, train=True)
    got, ids = run(models.Tagger(V, K, **sizes, word_dropout=0.0), train=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(ids, tokens)
    on = models.Tagger(V, K, **sizes, word_dropout=0.5, unk_id=1)
    got, ids = run(on, train=False)
    np.testing.assert_array_equal(got, run(plain, train=False)[0])
    np.testing.assert_array_equal(ids, tokens)
    _, ids = run(on, train=True)
    replaced = ids != tokens
    assert np.all(ids[replaced] == 1) and not np.any(replaced & ~mask)
    assert 0 < replaced.sum() < mask.sum()


def test_sequence_loss_ignores_filler_rows():
    logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 5.0, 0.0], [9.0, 9.0, -9.0]])
    labels = jnp.array([0, 2, 1])
    stats = losses.sequence_cross_entropy(logits, labels, jnp.array([True, True, False]))
    expected = np.mean([-jax.nn.log_softmax(logits[0])[0], -jax.nn.log_softmax(logits[1])[2]])
    np.testing.assert_allclose(stats["loss"], expected, rtol=1e-6)
    assert stats["correct"] == 1 and stats["count"] == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: models.Classifier(V, C, 8, 8, "lstm"),
        lambda: models.LanguageModel(V, 8, 8, "elman"),
        lambda: models.Tagger(V, K, 8, 8, "gru"),
    ],
)
def test_a_few_steps_lower_the_loss(make):
    model = make()
    tokens, mask = _batch(B=3)
    rng = np.random.default_rng(0)
    if isinstance(model, models.Classifier):
        y = rng.integers(0, C, 3)

        def loss(p):
            return losses.sequence_cross_entropy(model.apply(p, tokens, mask)[0], y, mask.any(-1))

    else:
        y = rng.integers(0, K, tokens.shape)

        def loss(p):
            out = model.apply(p, tokens, mask)
            logits = out[0] if isinstance(out, tuple) else out
            return losses.token_cross_entropy(logits, y, mask)

    params = model.init(jax.random.PRNGKey(0), tokens, mask)
    opt = optax.adam(1e-2)
    opt_state = opt.init(params)
    grad_fn = jax.jit(jax.value_and_grad(lambda p: loss(p)["loss"]))
    first, _ = grad_fn(params)
    for _ in range(30):
        value, grads = grad_fn(params)
        updates, opt_state = opt.update(grads, opt_state)
        params = optax.apply_updates(params, updates)
    assert value < 0.5 * first


@pytest.mark.parametrize(
    "levers, atol",
    [
        (models.Levers(unroll=3, remat_chunk=2), 1e-6),
        (models.Levers(compute_dtype="bfloat16"), 3e-2),
    ],
)
def test_levers_from_the_config_keep_the_models_function(levers, atol):
    """Config-selected speed levers: same logits and gradients as the default path."""
    tokens, mask = _batch()
    for make in (
        lambda lv: models.LanguageModel(V, 8, 6, "lstm", 2, levers=lv),
        lambda lv: models.Tagger(V, K, 8, 6, "gru", levers=lv),
        lambda lv: models.Classifier(V, C, 8, 6, "lstm", levers=lv),
    ):
        reference, fast = make(models.Levers()), make(levers)
        params = reference.init(jax.random.PRNGKey(0), tokens, mask)

        def loss(params, model):
            out = model.apply(params, tokens, mask)[0]
            return jnp.sum(jnp.where(mask[..., None], out, 0) if out.ndim == 3 else out)

        if levers.compute_dtype:  # the lever reaches recurrent.run: its matmuls are bf16
            assert "bf16" in str(jax.make_jaxpr(loss, static_argnums=1)(params, fast))
        want, want_grad = jax.value_and_grad(loss)(params, reference)
        got, got_grad = jax.value_and_grad(loss)(params, fast)
        scale = float(jnp.abs(want)) + 1.0
        np.testing.assert_allclose(got / scale, want / scale, atol=atol)
        for g, w in zip(jax.tree.leaves(got_grad), jax.tree.leaves(want_grad), strict=True):
            np.testing.assert_allclose(g, w, atol=atol * (1 + float(jnp.abs(w).max())))


def test_bad_sizes_and_cells_raise_clearly():
    tokens, mask = _batch()
    with pytest.raises(ValueError, match="hidden_size"):
        models.Classifier(V, C, 8, -4).init(jax.random.PRNGKey(0), tokens, mask)
    with pytest.raises(ValueError, match="unknown cell"):
        models.Tagger(V, K, cell="transformer").init(jax.random.PRNGKey(0), tokens, mask)


def test_align_ends_moves_padding_first():
    tokens = jnp.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    mask = tokens > 0
    aligned, real = models.align_ends(tokens, mask, 3)
    np.testing.assert_array_equal(aligned, [[0, 0, 0, 1, 2, 3], [0, 0, 0, 0, 4, 5]])
    np.testing.assert_array_equal(real, aligned > 0)


@pytest.mark.parametrize("pooling", ["final", "mean"])
def test_truncated_classifier_cuts_the_gradient_k_steps_before_each_end(pooling):
    """Same logits as full BPTT; gradients as an independent reference per unpadded
    sentence: segments of K words counted back from its end, run one after the other
    with stop_gradient on the carry between them."""
    K, V = 3, 20
    tokens = jnp.array([[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 0, 0, 0]])  # distinct ids
    mask, labels = tokens > 0, jnp.array([1, 0])
    kw = dict(vocab_size=V, num_classes=2, embed_dim=4, hidden_size=5, bidirectional=False,
              pooling=pooling)  # fmt: skip
    full, cut = models.Classifier(**kw), models.Classifier(**kw, truncate=K)
    params = full.init(jax.random.PRNGKey(0), tokens, mask)["params"]
    logits_cut = cut.apply({"params": params}, tokens, mask)[0]
    logits_full = full.apply({"params": params}, tokens, mask)[0]
    np.testing.assert_allclose(logits_cut, logits_full, atol=1e-6)

    def loss(p, model):
        logits = model.apply({"params": p}, tokens, mask)[0]
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).sum()

    def reference(p):
        cell, total = cells.make("lstm", 5), 0.0
        for row in range(2):
            xs = p["embed"]["embedding"][tokens[row][mask[row]]][None]
            L = xs.shape[1]
            carry, hs = None, []
            for start in [0, *range(L % K or K, L, K)]:  # [0, 1, 4] for L=7, K=3
                stop = start + (L % K or K) if start == 0 else start + K
                carry, h = recurrent.run(cell, p["rnn"]["layers"][0], xs[:, start:stop], None,
                                         carry)  # fmt: skip
                carry, hs = jax.lax.stop_gradient(carry) if stop < L else carry, [*hs, h]
            hs = jnp.concatenate(hs, axis=1)
            vec = cells.carry_output(carry) if pooling == "final" else hs.mean(axis=1)
            logits = vec @ p["classify"]["kernel"] + p["classify"]["bias"]
            total += optax.softmax_cross_entropy_with_integer_labels(
                logits, labels[row : row + 1]
            ).sum()
        return total

    grads = jax.grad(loss)(params, cut)
    expected = jax.grad(reference)(params)
    for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    embed_rows = np.abs(np.asarray(grads["embed"]["embedding"])).sum(axis=1)
    reached = set(np.nonzero(embed_rows > 0)[0])
    if pooling == "final":  # only the last K words of each sentence are reached
        assert reached == {5, 6, 7, 9, 10, 11}
    else:  # mean pooling: every step gets a gradient from its own output
        assert reached == set(range(1, 12))
    full_rows = np.abs(np.asarray(jax.grad(loss)(params, full)["embed"]["embedding"])).sum(1)
    assert set(np.nonzero(full_rows > 0)[0]) == set(range(1, 12))
