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
