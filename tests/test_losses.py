"""Sampled softmax (rnnlab.losses) against float64 loops and the distribution it samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import losses


def test_log_uniform_samples_follow_their_distribution():
    V, n = 50, 200_000
    ids = np.asarray(losses.log_uniform_sample(jax.random.PRNGKey(0), n, V))
    q = np.exp(np.asarray(losses.log_uniform_log_probs(np.arange(V), V), np.float64))
    assert q.sum() == pytest.approx(1.0, abs=1e-5)
    assert ids.min() >= 0 and ids.max() < V
    freq = np.bincount(ids, minlength=V) / n
    # 4 standard errors of a binomial frequency, per id
    np.testing.assert_array_less(np.abs(freq - q), 4 * np.sqrt(q * (1 - q) / n) + 1e-4)


def _reference(features, W, b, targets, mask, sampled, S):
    """Jean et al.'s estimator, written out per token in float64."""
    V = W.shape[0]
    q = np.exp(np.asarray(losses.log_uniform_log_probs(np.arange(V), V), np.float64))
    total, count, correct = 0.0, 0, 0
    for i in np.ndindex(targets.shape):
        if not mask[i]:
            continue
        t = targets[i]
        true = features[i] @ W[t] + b[t] - np.log(S * q[t])
        others = [features[i] @ W[s] + b[s] - np.log(S * q[s]) for s in sampled if s != t]
        logits = np.array([true, *others])
        total += np.log(np.sum(np.exp(logits - logits.max()))) + logits.max() - true
        correct += int(np.argmax(logits) == 0)
        count += 1
    return total, count, correct


def test_sampled_softmax_matches_a_per_token_float64_reference():
    rng = np.random.default_rng(0)
    B, T, F, V, S = 3, 5, 4, 30, 12
    features = rng.normal(size=(B, T, F))
    W, b = rng.normal(size=(V, F)), rng.normal(size=V)
    key = jax.random.PRNGKey(3)
    sampled = np.asarray(losses.log_uniform_sample(key, S, V))
    # targets that collide with samples (accidental hits) and ones that do not
    targets = rng.integers(0, V, size=(B, T))
    targets[0, :3] = sampled[:3]
    mask = np.ones((B, T), bool)
    mask[2, 3:] = False
    stats = losses.sampled_token_cross_entropy(
        jnp.asarray(features, jnp.float32), jnp.asarray(W, jnp.float32),
        jnp.asarray(b, jnp.float32), jnp.asarray(targets), jnp.asarray(mask), key, S,
    )  # fmt: skip
    total, count, correct = _reference(features, W, b, targets, mask, sampled, S)
    assert float(stats["count"]) == count == 13
    assert float(stats["loss_sum"]) == pytest.approx(total, rel=1e-5)
    assert int(stats["correct"]) == correct


def test_training_a_bias_with_the_sampled_softmax_recovers_a_zipfian_unigram():
    """The log-count correction makes the estimator (nearly) consistent: a bias trained
    on it with 50 samples of 200 words finds the data's unigram distribution. Without
    the correction it would learn p / Q instead (total variation 0.55 here)."""
    V, S = 200, 50
    counts = np.round(20_000 / np.arange(1, V + 1) ** 1.1).astype(int)
    p = counts / counts.sum()
    targets = jnp.asarray(np.repeat(np.arange(V), counts)[None])
    mask = jnp.ones(targets.shape, bool)
    features, W = jnp.zeros((*targets.shape, 1)), jnp.zeros((V, 1))

    def loss(b, key):
        return losses.sampled_token_cross_entropy(features, W, b, targets, mask, key, S)["loss"]

    @jax.jit
    def sgd(b, keys):  # plain SGD, then the average of the last half of the iterates
        def step(b, key):
            b = b - 2.0 * jax.grad(loss)(b, key)
            return b, b

        return jax.lax.scan(step, b, keys)[1]

    iterates = sgd(jnp.zeros(V), jax.random.split(jax.random.PRNGKey(0), 2000))
    q = np.asarray(jax.nn.softmax(jnp.mean(iterates[1000:], axis=0)))
    assert 0.5 * np.abs(q - p).sum() < 0.05
