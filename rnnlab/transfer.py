"""LM pre-training -> sentence classifier (Dai & Le 2015; ULMFiT's schedules, Howard & Ruder 2018).

    params, report = transfer_lm(lm_params, lm_vocab, params, vocab)   pure: trees in, tree out
    params, report = init_from_lm(lm_workdir, params, vocab)            + the LM's best checkpoint
    mask = pretrained_mask(params)             which classifier leaves come from the LM
    optax.chain(..., scale_pretrained(mask, freeze_steps, lr_scale))   freeze, then a smaller lr

What moves from the LM (`LanguageModel`) to the `Classifier`: both name their parts
`embed` and `rnn` (the LM's softmax is `out`, the classifier's optional next-word head
`lm_out`); the classification layer `classify` is new. A sequence autoencoder (an
`EncoderDecoder` trained to regenerate its input: Dai & Le's SA-LSTM) names its encoder
the same way and gives it as the LM does (its decoder is dropped):

  embedding  row by row, by word: a classifier word that the LM's vocabulary has (after
             the LM's own lowercasing) gets the LM's row; words the LM lacks keep their
             random rows and are counted (report["missing_words"]).
  recurrent  classifier layer l <- LM layer l (same cell and sizes; the classifier may
             have fewer layers than the LM, not more).
  direction  the LM reads left to right, so it initialises a bidirectional classifier's
             forward ("fw") directions only; the backward ("bw") ones keep their random
             init and are listed in report["random"] (a second, right-to-left LM as in
             ULMFiT would double the pre-training). Above the first layer a bidirectional
             layer reads 2H inputs where the LM's read H, which is a shape error. So the
             transfer experiment uses a unidirectional classifier, as Dai & Le's SA-LSTM:
             then every recurrent weight is pre-trained.
  softmax    dropped, unless the classifier has an auxiliary LM head (`aux_lm`): then
             its columns move by word as the embedding's rows do (an untied LM only).

Any shape or cell mismatch raises `TransferError` naming the classifier's parameter.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from rnnlab import runs
from rnnlab.data.vocab import PAD, Vocab

EMBED, RECURRENT = "embed", "rnn"  # in both models
LM_HEAD, LM_OUT = "lm_out", "out"  # the classifier's next-word head, the LM's softmax
CELL_OF_GATES = {1: "elman", 3: "gru", 4: "lstm"}  # gates per hidden unit in U_HxG


class TransferError(ValueError):
    """An LM checkpoint that does not fit the classifier (names the parameter)."""


def _lm_part(layer: dict) -> dict:
    """The part of a classifier layer that the LM initialises: all of it, or "fw"."""
    return layer.get("fw", layer)


def _with_lm_part(layer: dict, part: dict) -> dict:
    return {**layer, "fw": part} if "fw" in layer else part


def pretrained_mask(params) -> dict:
    """True at every leaf `transfer_lm` takes from the LM (the embedding, whole: rows of
    words the LM lacks freeze with it), False elsewhere. A function of the tree's
    structure only, so a resumed run rebuilds it without reading the LM."""
    mask = jax.tree.map(lambda _: False, params)
    mask[EMBED] = jax.tree.map(lambda _: True, params[EMBED])
    mask[RECURRENT]["layers"] = [
        _with_lm_part(m, jax.tree.map(lambda _: True, _lm_part(m)))
        for m in mask[RECURRENT]["layers"]
    ]
    if LM_HEAD in params:
        mask[LM_HEAD] = jax.tree.map(lambda _: True, params[LM_HEAD])
    return mask


def _describe(name: str, params: dict) -> str:
    H, G = np.shape(params["U_HxG"])
    cell = CELL_OF_GATES.get(G // H, f"{G // H}-gate") if H else "?"
    shapes = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in sorted(params.items()))
    return f"{name}: {cell}, H={H} ({shapes})"


def _check_cell(name: str, target: dict, lm_name: str, source: dict) -> None:
    same = set(target) == set(source) and all(
        np.shape(target[k]) == np.shape(source[k]) for k in target
    )
    if not same:
        raise TransferError(
            f"the classifier's {_describe(name, target)} does not match the LM's "
            f"{_describe(lm_name, source)}: use the LM's cell, hidden_size and (for layers "
            "above the first) a unidirectional classifier"
        )


def map_embedding(lm_E_VxE, lm_vocab: Vocab, E_VxE, vocab: Vocab):
    """(classifier embedding with the LM's row for every word the LM has, missing words)."""
    if np.shape(lm_E_VxE)[1] != np.shape(E_VxE)[1]:
        raise TransferError(
            f"{EMBED}/embedding: the classifier's embed_dim is {np.shape(E_VxE)[1]}, the LM's "
            f"{EMBED}/embedding has {np.shape(lm_E_VxE)[1]}"
        )
    return map_rows(lm_E_VxE, lm_vocab, E_VxE, vocab)


def map_rows(lm_X_VxN, lm_vocab: Vocab, X_VxN, vocab: Vocab):
    """(X with the LM's row for every word the LM has, the words it lacks): rows are
    words, in each model's vocabulary order (embeddings; a softmax's kernel, transposed)."""
    rows, lm_rows, missing = [], [], []
    for i, token in enumerate(vocab.tokens):
        if token == PAD:  # row 0 is never read (padding is masked)
            continue
        if token in lm_vocab:
            rows.append(i)
            lm_rows.append(lm_vocab.id(token))
        else:
            missing.append(token)
    rows_from_lm = jnp.asarray(lm_X_VxN)[np.array(lm_rows, int)]
    return jnp.asarray(X_VxN).at[np.array(rows, int)].set(rows_from_lm), missing


def map_lm_head(lm_out: dict, lm_vocab: Vocab, head: dict, vocab: Vocab) -> dict:
    """The classifier's next-word softmax (`lm_out`) from the LM's, column by word."""
    if not lm_out:
        raise TransferError(
            f"{LM_HEAD}: the LM ties its softmax to its embedding; the auxiliary LM head "
            "needs an LM trained with tie_weights=False"
        )
    if np.shape(lm_out["kernel"])[0] != np.shape(head["kernel"])[0]:
        raise TransferError(
            f"{LM_HEAD}/kernel reads {np.shape(head['kernel'])[0]} hidden units, the LM's "
            f"{LM_OUT}/kernel {np.shape(lm_out['kernel'])[0]}"
        )
    kernel_VxH, _ = map_rows(lm_out["kernel"].T, lm_vocab, head["kernel"].T, vocab)
    bias_Vx1, _ = map_rows(lm_out["bias"][:, None], lm_vocab, head["bias"][:, None], vocab)
    return {"kernel": kernel_VxH.T, "bias": bias_Vx1[:, 0]}


def transfer_lm(lm_params, lm_vocab: Vocab, params, vocab: Vocab) -> tuple[dict, dict]:
    """The classifier's params with its embedding rows and recurrent layers (and, with an
    auxiliary LM head, that softmax's columns) from the LM.

    Returns (params, report): report counts the words the LM lacks ("missing_words",
    a few as "missing_examples") and names what came from the LM and what stayed random.
    """
    E_VxE, missing = map_embedding(
        lm_params[EMBED]["embedding"], lm_vocab, params[EMBED]["embedding"], vocab
    )
    new = jax.tree.map(lambda x: x, params)  # a fresh tree; the leaves are immutable
    new[EMBED] = {**params[EMBED], "embedding": E_VxE}
    layers, lm_layers = params[RECURRENT]["layers"], lm_params[RECURRENT]["layers"]
    if len(layers) > len(lm_layers):
        raise TransferError(
            f"{RECURRENT}/layers: the classifier has {len(layers)} recurrent layers, "
            f"the LM only {len(lm_layers)}"
        )
    names = []
    for l, layer in enumerate(layers):
        names.append(f"{RECURRENT}/layers/{l}" + ("/fw" if "fw" in layer else ""))
        target = _lm_part(layer)
        source = _lm_part(lm_layers[l])  # a bidirectional encoder: its forward direction
        _check_cell(names[-1], target, f"{RECURRENT}/layers/{l}", source)
        copied = {k: jnp.asarray(source[k], target[k].dtype) for k in target}
        new[RECURRENT]["layers"][l] = _with_lm_part(layer, copied)
    if LM_HEAD in params:
        new[LM_HEAD] = map_lm_head(lm_params.get(LM_OUT), lm_vocab, params[LM_HEAD], vocab)
        names.append(LM_HEAD)
    random = [f"{RECURRENT}/layers/{l}/bw" for l, layer in enumerate(layers) if "bw" in layer]
    report = {
        "words": len(vocab) - 1,  # without <pad>
        "missing_words": len(missing),
        "missing_examples": missing[:10],
        "from_lm": [f"{EMBED}/embedding", *names],
        "random": random + sorted(k for k in params if k not in (EMBED, RECURRENT, LM_HEAD)),
    }
    return new, report


def init_from_lm(workdir: str, params, vocab: Vocab) -> tuple[dict, dict]:
    """`transfer_lm` from the best checkpoint of the LM trained in `workdir`, or of an
    encoder-decoder (`EncoderDecoder` names its encoder `embed` and `rnn` too: a
    sequence autoencoder's encoder, Dai & Le's SA-LSTM; its decoder is dropped)."""
    try:
        lm = runs.load(workdir, best=True)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"init_from {workdir!r}: no LM checkpoint ({e}); train the "
                                "LM there first") from None  # fmt: skip
    if lm.task not in ("lm", "seq2seq"):
        raise TransferError(f"init_from {workdir!r} holds a {lm.task!r} model, not a word LM "
                            "or an encoder-decoder")  # fmt: skip
    new, report = transfer_lm(lm.params, lm.vocabs["words"], params, vocab)
    return new, {"init_from": workdir, "lm_step": lm.step, **report}


class ScalePretrainedState(NamedTuple):
    count: jax.Array  # updates so far


def scale_pretrained(mask, freeze_steps: int, lr_scale: float) -> optax.GradientTransformation:
    """The updates of the leaves where `mask` is True: exactly 0 for the first
    `freeze_steps` updates (the new head adapts to the pre-trained features before they
    move; one stage, not ULMFiT's layer-by-layer unfreezing), then x `lr_scale` (a
    smaller step for what is already trained). Put it last in the chain: with Adam or
    SGD, scaling the update scales the learning rate."""

    def init(params):
        del params
        return ScalePretrainedState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None):
        del params
        frozen = state.count < freeze_steps

        def scale(u, pretrained):
            if not pretrained:
                return u
            return jnp.where(frozen, jnp.zeros_like(u), u * jnp.asarray(lr_scale, u.dtype))

        updates = jax.tree.map(scale, updates, mask)
        return updates, ScalePretrainedState(count=optax.safe_int32_increment(state.count))

    return optax.GradientTransformation(init, update)
