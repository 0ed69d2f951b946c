"""Masked losses and metrics: sums over real positions, so padding never counts.

Every function returns *sums and counts* next to the mean, because the right average
over a dev set (or over devices) is sum(losses) / sum(real positions), not the mean of
per-batch means.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax


def _sums(nll_xN, correct_xN, real_xN) -> dict[str, jax.Array]:
    # where, not multiply: a padded position's nll may be anything (even inf).
    nll_sum = jnp.sum(jnp.where(real_xN, nll_xN, 0.0))
    count = jnp.sum(real_xN).astype(nll_xN.dtype)
    return {
        "loss_sum": nll_sum,
        "correct": jnp.sum(correct_xN & real_xN),
        "count": count,
        "loss": nll_sum / jnp.maximum(count, 1.0),
    }


def token_cross_entropy(
    logits_BxTxV: jax.Array, targets_BxT: jax.Array, mask_BxT: jax.Array
) -> dict[str, jax.Array]:
    """Per-token cross-entropy and accuracy summed over real tokens (LM, tagging)."""
    nll_BxT = optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, targets_BxT)
    correct_BxT = jnp.argmax(logits_BxTxV, -1) == targets_BxT
    return _sums(nll_BxT, correct_BxT, mask_BxT.astype(bool))


def log_uniform_log_probs(ids, vocab_size: int) -> jax.Array:
    """log Q(id) of the log-uniform (Zipfian) distribution over ids 0..V-1, which fits a
    vocabulary ranked by frequency (rnnlab's are): Q(k) = log((k+2)/(k+1)) / log(V+1)."""
    ids = jnp.asarray(ids, jnp.float32)
    return jnp.log(jnp.log1p(1.0 / (ids + 1.0)) / np.log(vocab_size + 1.0))


def log_uniform_sample(key: jax.Array, num_samples: int, vocab_size: int) -> jax.Array:
    """`num_samples` ids drawn with replacement from `log_uniform_log_probs`, by its
    inverse CDF: floor(exp(u log(V+1))) - 1 for u uniform in [0, 1)."""
    u_S = jax.random.uniform(key, (num_samples,))
    ids_S = jnp.floor(jnp.exp(u_S * np.log(vocab_size + 1.0))).astype(jnp.int32) - 1
    return jnp.clip(ids_S, 0, vocab_size - 1)


def sampled_token_cross_entropy(
    features_BxTxF: jax.Array,
    W_VxF: jax.Array,
    b_V: jax.Array,
    targets_BxT: jax.Array,
    mask_BxT: jax.Array,
    key: jax.Array,
    num_samples: int,
) -> dict[str, jax.Array]:
    """`token_cross_entropy` of the softmax `features @ W.T + b` estimated by sampled
    softmax (Jean et al. 2015), for training only: each token's target against
    `num_samples` words drawn log-uniformly with replacement and shared by the batch,
    every logit corrected by -log(expected count) and samples equal to the target
    removed (TensorFlow's `sampled_softmax_loss`). The cost of the output layer drops
    from V to num_samples columns per token. "correct": the target beats every sample."""
    V = W_VxF.shape[0]
    sampled_S = log_uniform_sample(key, num_samples, V)
    log_count_S = np.log(num_samples) + log_uniform_log_probs(sampled_S, V)
    log_count_BxT = np.log(num_samples) + log_uniform_log_probs(targets_BxT, V)
    W_SxF = W_VxF[sampled_S]
    true_BxT = jnp.einsum("btf,btf->bt", features_BxTxF, W_VxF[targets_BxT]) + b_V[targets_BxT]
    sampled_BxTxS = jnp.einsum("btf,sf->bts", features_BxTxF, W_SxF) + b_V[sampled_S]
    hit_BxTxS = sampled_S == targets_BxT[..., None]
    sampled_BxTxS = jnp.where(hit_BxTxS, -jnp.inf, sampled_BxTxS - log_count_S)
    logits_BxTx1pS = jnp.concatenate([(true_BxT - log_count_BxT)[..., None], sampled_BxTxS], -1)
    nll_BxT = jax.nn.logsumexp(logits_BxTx1pS, axis=-1) - logits_BxTx1pS[..., 0]
    correct_BxT = jnp.argmax(logits_BxTx1pS, -1) == 0
    return _sums(nll_BxT, correct_BxT, mask_BxT.astype(bool))


def softmax_cross_entropy(features_BxTxF, W_VxF, b_V, targets_BxT, mask_BxT, key=None,
                          num_samples: int = 0) -> dict[str, jax.Array]:  # fmt: skip
    """`token_cross_entropy` of the softmax `features @ W.T + b`: the full one, or with
    `num_samples` > 0 its sampled estimate (`sampled_token_cross_entropy`, training only),
    which never makes the [B, T, V] logits."""
    if num_samples > 0:
        return sampled_token_cross_entropy(features_BxTxF, W_VxF, b_V, targets_BxT, mask_BxT,
                                           key, num_samples)  # fmt: skip
    return token_cross_entropy(features_BxTxF @ W_VxF.T + b_V, targets_BxT, mask_BxT)


def sequence_cross_entropy(
    logits_BxC: jax.Array, labels_B: jax.Array, real_B: jax.Array
) -> dict[str, jax.Array]:
    """One loss per sentence (classification); rows with `real_B` False are batch filler."""
    nll_B = optax.softmax_cross_entropy_with_integer_labels(logits_BxC, labels_B)
    correct_B = jnp.argmax(logits_BxC, -1) == labels_B
    return _sums(nll_B, correct_B, real_B.astype(bool))


def summarize(totals: dict[str, float]) -> dict[str, float]:
    """Summed eval counters -> loss per real token/sentence, accuracy and perplexity."""
    count = max(float(totals["count"]), 1.0)
    loss = float(totals["loss_sum"]) / count
    return {
        "loss": loss,
        "accuracy": float(totals["correct"]) / count,
        "perplexity": float(np.exp(min(loss, 50.0))),
        "count": float(totals["count"]),
    }


def sequence_log_probs(
    logits_BxTxV: jax.Array, targets_BxT: jax.Array, mask_BxT: jax.Array
) -> jax.Array:
    """log p(sentence) per row: the sum of real-token log-probabilities (minimal pairs)."""
    logp_BxTxV = jax.nn.log_softmax(logits_BxTxV, axis=-1)
    logp_BxT = jnp.take_along_axis(logp_BxTxV, targets_BxT[..., None], axis=-1)[..., 0]
    return jnp.sum(jnp.where(mask_BxT, logp_BxT, 0.0), axis=-1)
