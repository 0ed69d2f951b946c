"""Generation and retrieval: seeded determinism, the vocabulary respected, greedy = argmax."""

import jax
import numpy as np

from rnnlab import generate, models, retrieval

V = 17


def _lm(num_classes=0):
    model = models.LanguageModel(V, 8, 8, "lstm", 1, num_classes=num_classes)
    tokens = np.ones((2, 3), np.int32)
    labels = np.zeros(2, np.int32) if num_classes else None
    params = model.init(jax.random.PRNGKey(0), tokens, tokens > 0, labels_B=labels)["params"]
    return model, params


def test_sampling_is_seeded_and_respects_the_vocabulary():
    model, params = _lm()
    prompt = np.array([[3, 4], [5, 6], [3, 4]], np.int32)
    kwargs = dict(num_steps=20, temperature=1.5, banned_ids=(0, 2))
    a = generate.sample(model, params, prompt, jax.random.PRNGKey(1), **kwargs)
    b = generate.sample(model, params, prompt, jax.random.PRNGKey(1), **kwargs)
    c = generate.sample(model, params, prompt, jax.random.PRNGKey(2), **kwargs)
    assert a.shape == (3, 20)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < V
    assert not np.isin(np.asarray(a), [0, 2]).any()


def test_greedy_and_top1_follow_the_argmax_step_by_step():
    model, params = _lm()
    prompt = np.array([[3, 4, 5]], np.int32)
    greedy = generate.sample(model, params, prompt, jax.random.PRNGKey(0), num_steps=4,
                             temperature=0.0)  # fmt: skip
    top1 = generate.sample(model, params, prompt, jax.random.PRNGKey(9), num_steps=4, top_k=1)
    np.testing.assert_array_equal(greedy, top1)
    # Independent check: re-read the whole growing sequence each time, no carried state.
    seq = list(prompt[0])
    for _ in range(4):
        ids = np.array([seq], np.int32)
        logits, _ = model.apply({"params": params}, ids, ids >= 0)
        logits = np.array(logits[0, -1])
        logits[0] = -np.inf  # padding is banned by default
        seq.append(int(np.argmax(logits)))
    np.testing.assert_array_equal(np.asarray(greedy[0]), seq[3:])


def test_class_conditioned_generation_depends_on_the_label():
    model, params = _lm(num_classes=2)
    prompt = np.full((4, 1), 3, np.int32)
    run = lambda labels: generate.sample(  # noqa: E731
        model, params, prompt, jax.random.PRNGKey(0), num_steps=12, temperature=0.0,
        labels_B=np.array(labels),
    )  # fmt: skip
    same = run([0, 0, 1, 1])
    np.testing.assert_array_equal(same[0], same[1])
    assert not np.array_equal(run([0, 0, 0, 0]), run([1, 1, 1, 1]))


def test_nearest_neighbours_by_cosine():
    corpus = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0], [-1.0, 0.0]])
    indices, scores = retrieval.nearest(np.array([[3.0, 0.2]]), corpus, k=3)
    np.testing.assert_array_equal(indices, [[0, 2, 1]])
    np.testing.assert_allclose(scores[0, 0], 3.0 / np.hypot(3.0, 0.2))


def test_embedding_a_sentence_does_not_depend_on_its_batch():
    from rnnlab.data.vocab import Vocab

    vocab = Vocab.build([["a", "b", "c", "d"]])
    model = models.Classifier(len(vocab), 2, 6, 5, "lstm")
    tokens = np.ones((1, 4), np.int32)
    params = model.init(jax.random.PRNGKey(0), tokens, tokens > 0)["params"]
    sentences = [["a", "b"], ["c", "d", "a", "b", "c"], ["zzz"]]
    together = retrieval.embed(model, params, vocab, sentences, batch_size=2)  # length-sorted
    for i, sentence in enumerate(sentences):
        alone = retrieval.embed(model, params, vocab, [sentence], batch_size=1)
        np.testing.assert_allclose(together[i], alone[0], atol=1e-6)
