"""Models: sentence classifier, language model, tagger, encoder-decoder, dependency parser
(flax.linen over `recurrent.run`).

Built by keyword from a spec, `build({"model": "Classifier", **fields})`; `spec_of(model)`
gives it back (a run's checkpoint stores it, rnnlab.runs). Submodules have explicit names
shared across models: `embed` (word embedding), `rnn` (the recurrent stack), then each
model's head (`classify`, `out`, `lm_out`).

The recurrent layers are the library's pure cells; `Recurrent` only stores their
parameters in the Flax tree and calls `recurrent.run_layers`, so masks, reversal and
bidirectionality mean exactly what `rnnlab.recurrent` pins down. Dropout draws from the
"dropout" RNG stream and only runs with `train=True`.
"""

from __future__ import annotations

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from rnnlab import cells, recurrent

POOLINGS = ("final", "mean", "max")
COMPUTE_DTYPES = ("", "float32", "bfloat16")


@dataclasses.dataclass(frozen=True)
class Levers:
    """Speed options of `recurrent.run` (config `model.unroll`, `model.remat_chunk`,
    `model.compute_dtype`): the same function up to float rounding, tested in
    tests/test_levers.py. Frozen, so that it can be a field of a Flax module."""

    unroll: int = 0  # 0 = recurrent.default_unroll() (4 on GPU, 1 on CPU)
    remat_chunk: int = 0  # 0 = no jax.checkpoint over time chunks
    compute_dtype: str = ""  # "" = the parameters' dtype; "bfloat16" = bf16 matmuls

    def run_kwargs(self) -> dict:
        return {
            "unroll": self.unroll or None,
            "remat_chunk": self.remat_chunk or None,
            "compute_dtype": jnp.dtype(self.compute_dtype) if self.compute_dtype else None,
        }


def check_positive(**sizes: int) -> None:
    """One clear error for a bad size in a config, naming the field."""
    for name, value in sizes.items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


class Recurrent(nn.Module):
    """L layers of a named cell (uni- or bidirectional), dropout between layers."""

    cell: str = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    levers: Levers = Levers()
    segment_length: int = 0  # > 0: truncated BPTT (recurrent.run_truncated), forward only

    @nn.compact
    def __call__(self, xs_BxTxD, mask_BxT, carry0=None, *, train: bool = False):
        check_positive(hidden_size=self.hidden_size, num_layers=self.num_layers)
        cell = cells.make(self.cell, self.hidden_size)
        layers = self.param(
            "layers",
            lambda key: recurrent.init_layers(
                cell, key, xs_BxTxD.shape[-1], self.num_layers, self.bidirectional
            ),
        )
        rate = self.dropout if train else 0.0
        key = self.make_rng("dropout") if rate > 0.0 else None
        return recurrent.run_layers(
            cell,
            layers,
            xs_BxTxD,
            mask_BxT,
            carry0,
            bidirectional=self.bidirectional,
            dropout_rate=rate,
            dropout_key=key,
            segment_length=self.segment_length,
            **self.levers.run_kwargs(),
        )

    def initial_carry(self, batch_size: int) -> list:
        """Zero carries, one per layer (a (fw, bw) pair per layer when bidirectional)."""
        cell = cells.make(self.cell, self.hidden_size)
        carry = recurrent.initial_carry_batch(cell, batch_size)
        return [(carry, carry) if self.bidirectional else carry] * self.num_layers


def align_ends(tokens_BxT, mask_BxT, multiple: int):
    """Each row's real tokens moved to the end, padding first, T padded up to a multiple
    of `multiple`: segments of K steps then end at every row's last token. A padding step
    holds the carry, so the final states are unchanged. Masks must be prefixes (as
    batching makes them)."""
    B, T = tokens_BxT.shape
    padded_T = -(-T // multiple) * multiple
    lengths_B = jnp.sum(mask_BxT, axis=-1)
    source_BxP = jnp.arange(padded_T)[None, :] - (padded_T - lengths_B)[:, None]
    real_BxP = source_BxP >= 0
    gathered = jnp.take_along_axis(tokens_BxT, jnp.clip(source_BxP, 0, T - 1), axis=1)
    return jnp.where(real_BxP, gathered, 0), real_BxP


def pool(hs_BxTxH, mask_BxT, carries, how: str) -> jax.Array:
    """Sentence vector: final states (course), or mean/max over real steps only."""
    if how == "final":
        return carries[-1]
    mask_BxTx1 = mask_BxT[..., None].astype(bool)
    if how == "mean":
        total = jnp.sum(jnp.where(mask_BxTx1, hs_BxTxH, 0.0), axis=1)
        return total / jnp.maximum(jnp.sum(mask_BxTx1, axis=1), 1)
    if how == "max":
        pooled = jnp.max(jnp.where(mask_BxTx1, hs_BxTxH, -jnp.inf), axis=1)
        return jnp.where(jnp.isfinite(pooled), pooled, 0.0)  # an all-padding filler row
    raise ValueError(f"unknown pooling {how!r}; expected one of {POOLINGS}")


class Classifier(nn.Module):
    """Embedding -> (Bi)RNN layers -> sentence vector -> class logits.

    Its embedding and recurrent stack are named as the LanguageModel's (`embed`, `rnn`),
    so an LM's parameters initialise it by a copy of those subtrees (rnnlab.transfer).
    With `aux_lm` (unidirectional only: a backward state has read the next word) a
    next-word softmax `lm_out` over the top layer's states, for an auxiliary LM loss
    while fine-tuning from an LM (Chronopoulou et al. 2019): see `with_lm`.

    `truncate` K > 0 is truncated BPTT inside the sentence (unidirectional): each row is
    moved to end at the last step (`align_ends`) and run in segments of K steps with the
    gradient cut between them, so the loss reaches only the last K steps (the lecture's
    weak signal from the end of a long document); forward values are unchanged. With
    mean or max pooling every segment still gets a gradient, from its own steps.
    """

    vocab_size: int
    num_classes: int
    embed_dim: int = 64
    hidden_size: int = 64
    cell: str = "lstm"
    num_layers: int = 1
    bidirectional: bool = True
    pooling: str = "final"
    dropout: float = 0.0
    levers: Levers = Levers()
    aux_lm: bool = False
    truncate: int = 0

    def setup(self):
        check_positive(vocab_size=self.vocab_size, num_classes=self.num_classes,
                       embed_dim=self.embed_dim)  # fmt: skip
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLINGS}")
        if self.aux_lm and self.bidirectional:
            raise ValueError("aux_lm needs a unidirectional classifier (a backward state "
                             "has read the word it would predict)")  # fmt: skip
        if self.truncate and (self.bidirectional or self.aux_lm):
            raise ValueError("truncate needs a unidirectional classifier without aux_lm")
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        self.rnn = Recurrent(
            self.cell,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.levers,
            self.truncate,
        )
        self.classify = nn.Dense(self.num_classes)
        self.drop = nn.Dropout(self.dropout)
        if self.aux_lm:
            self.lm_out = nn.Dense(self.vocab_size)

    def __call__(self, tokens_BxT, mask_BxT, *, train: bool = False):
        """Returns (logits_BxC, sentence_BxS)."""
        logits_BxC, sentence_BxS, hs_BxTxH = self._forward(tokens_BxT, mask_BxT, train)
        if self.aux_lm and self.is_initializing():  # create the head's parameters
            self.lm_out(hs_BxTxH)
        return logits_BxC, sentence_BxS

    def with_lm(self, tokens_BxT, mask_BxT, *, train: bool = False):
        """(logits_BxC, next-word logits_BxTxV): the logits at t predict token t + 1."""
        logits_BxC, features_BxTxH = self.with_lm_features(tokens_BxT, mask_BxT, train=train)
        return logits_BxC, self.lm_out(features_BxTxH)

    def with_lm_features(self, tokens_BxT, mask_BxT, *, train: bool = False):
        """(logits_BxC, features_BxTxH): what the next-word softmax `output_weights` reads
        (the top layer's states after dropout), for a sampled softmax over them."""
        if not self.aux_lm:
            raise ValueError("with_lm needs a Classifier built with aux_lm=True")
        logits_BxC, _, hs_BxTxH = self._forward(tokens_BxT, mask_BxT, train)
        return logits_BxC, self.drop(hs_BxTxH, deterministic=not train)

    def output_weights(self):
        """(W_VxH, b_V) of the auxiliary next-word softmax `lm_out`."""
        return _softmax_weights(self.lm_out)

    def _forward(self, tokens_BxT, mask_BxT, train: bool):
        if self.truncate:
            tokens_BxT, mask_BxT = align_ends(tokens_BxT, mask_BxT, self.truncate)
        xs_BxTxE = self.drop(self.embed(tokens_BxT), deterministic=not train)
        carries, hs_BxTxH = self.rnn(xs_BxTxE, mask_BxT, train=train)
        finals = [_layer_hidden(c, self.bidirectional) for c in carries]
        sentence_BxS = pool(hs_BxTxH, mask_BxT, finals, self.pooling)
        logits_BxC = self.classify(self.drop(sentence_BxS, deterministic=not train))
        return logits_BxC, sentence_BxS, hs_BxTxH


def _softmax_weights(dense: nn.Dense) -> tuple[jax.Array, jax.Array]:
    """(W_VxF, b_V) of a softmax layer `dense` (F -> V): its kernel transposed and its bias,
    as the sampled softmax (`losses.softmax_cross_entropy`) reads them."""
    out = dense.variables["params"]
    return out["kernel"].T, out["bias"]


def _layer_hidden(carry, bidirectional: bool) -> jax.Array:
    if bidirectional:
        return jnp.concatenate([cells.carry_output(c) for c in carry], axis=-1)
    return cells.carry_output(carry)


class LanguageModel(nn.Module):
    """Embedding -> L recurrent layers -> softmax over the vocabulary.

    `carry` in/out lets truncated BPTT streams continue across batches (pass the previous
    batch's final carry through `jax.lax.stop_gradient`). With `num_classes > 0` the
    initial state is a learned function of `labels_B` (class-conditioned generation).
    Weight tying (Press & Wolf 2017) reuses the embedding as the output matrix, with a
    projection when hidden_size != embed_dim.
    """

    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128
    cell: str = "lstm"
    num_layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = False
    num_classes: int = 0
    levers: Levers = Levers()

    def setup(self):
        check_positive(vocab_size=self.vocab_size, embed_dim=self.embed_dim)
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        self.rnn = Recurrent(
            self.cell, self.hidden_size, self.num_layers, False, self.dropout, self.levers
        )
        self.drop = nn.Dropout(self.dropout)
        if self.tie_weights:
            if self.hidden_size != self.embed_dim:
                self.project = nn.Dense(self.embed_dim)
            self.out_bias = self.param("out_bias", nn.initializers.zeros, (self.vocab_size,))
        else:
            self.out = nn.Dense(self.vocab_size)
        if self.num_classes > 0:
            self.label_embed = nn.Embed(self.num_classes, self.hidden_size)
            # One hidden-sized slice per leaf of each layer's carry (h; and c for an LSTM).
            leaves = len(jax.tree.leaves(self.rnn.initial_carry(1)))
            self.label_to_carry = nn.Dense(leaves * self.hidden_size)

    def __call__(self, inputs_BxT, mask_BxT, carry=None, labels_B=None, *, train=False):
        """Returns (logits_BxTxV, final carry: one per layer)."""
        features_BxTxF, carry = self.features(inputs_BxT, mask_BxT, carry, labels_B, train=train)
        if not self.tie_weights:
            return self.out(features_BxTxF), carry
        return self.embed.attend(features_BxTxF) + self.out_bias, carry

    def features(self, inputs_BxT, mask_BxT, carry=None, labels_B=None, *, train=False):
        """(the softmax's inputs features_BxTxF, final carry): logits = features @ W.T + b
        with (W_VxF, b_V) = `output_weights()`, for a sampled softmax in training."""
        if carry is None:
            carry = self.initial_carry(inputs_BxT.shape[0], labels_B)
        xs_BxTxE = self.drop(self.embed(inputs_BxT), deterministic=not train)
        carry, hs_BxTxH = self.rnn(xs_BxTxE, mask_BxT, carry, train=train)
        hs_BxTxH = self.drop(hs_BxTxH, deterministic=not train)
        if self.tie_weights and self.hidden_size != self.embed_dim:
            hs_BxTxH = self.project(hs_BxTxH)
        return hs_BxTxH, carry

    def output_weights(self):
        """(W_VxF, b_V) of the softmax: the embedding when tied, else `out`'s kernel.T."""
        if self.tie_weights:
            return self.embed.embedding, self.out_bias
        return _softmax_weights(self.out)

    def initial_carry(self, batch_size: int, labels_B=None):
        zeros = self.rnn.initial_carry(batch_size)
        if self.num_classes <= 0 or labels_B is None:
            return zeros
        # Every leaf of every layer's carry (h, and c for an LSTM) from the label.
        leaves, treedef = jax.tree.flatten(zeros)
        init_BxN = jnp.tanh(self.label_to_carry(self.label_embed(labels_B)))
        parts = jnp.split(init_BxN, len(leaves), axis=-1)
        return jax.tree.unflatten(treedef, parts)


def word_dropout(key, tokens_BxT, mask_BxT, rate: float, unk_id: int) -> jax.Array:
    """Each real token (mask) -> `unk_id` with probability `rate` (training only), so that
    <unk> is trained and a character encoder learns to carry unseen words."""
    drop_BxT = jax.random.bernoulli(key, rate, tokens_BxT.shape)
    return jnp.where(drop_BxT & mask_BxT, unk_id, tokens_BxT)


class CharWordEncoder(nn.Module):
    """A word's characters -> one vector: BiLSTM final states (fw after the last char,
    bw after the first), as in Lample et al. (2016) / Plank et al. (2016)."""

    num_chars: int
    embed_dim: int = 32
    hidden_size: int = 32

    @nn.compact
    def __call__(self, chars_NxW, *, train: bool = False):
        mask_NxW = chars_NxW > 0
        xs_NxWxE = nn.Embed(self.num_chars, self.embed_dim, name="embed")(chars_NxW)
        rnn = Recurrent("lstm", self.hidden_size, 1, True, name="rnn")
        carries, _ = rnn(xs_NxWxE, mask_NxW)
        return _layer_hidden(carries[-1], True)


class Tagger(nn.Module):
    """Word embedding (+ char-BiLSTM word vector) -> BiRNN -> per-token tag logits.

    Word dropout (training only) replaces real tokens by `unk_id` with probability
    `word_dropout`, so that <unk> is trained and the character encoder learns to carry
    the words that dev/test sentences have but training did not.
    """

    vocab_size: int
    num_tags: int
    embed_dim: int = 64
    hidden_size: int = 64
    cell: str = "lstm"
    num_layers: int = 1
    dropout: float = 0.0
    num_chars: int = 0
    char_embed_dim: int = 32
    char_hidden_size: int = 32
    levers: Levers = Levers()
    word_dropout: float = 0.0
    unk_id: int = 1

    @nn.compact
    def __call__(self, tokens_BxT, mask_BxT, chars_BxTxW=None, *, train: bool = False):
        check_positive(vocab_size=self.vocab_size, num_tags=self.num_tags,
                       embed_dim=self.embed_dim)  # fmt: skip
        if train and self.word_dropout > 0.0:
            key = self.make_rng("dropout")
            tokens_BxT = word_dropout(key, tokens_BxT, mask_BxT, self.word_dropout, self.unk_id)
        xs_BxTxE = nn.Embed(self.vocab_size, self.embed_dim, name="embed")(tokens_BxT)
        if self.num_chars > 0:
            if chars_BxTxW is None:
                raise ValueError("this tagger has a character encoder: pass chars_BxTxW")
            B, T, W = chars_BxTxW.shape
            enc = CharWordEncoder(
                self.num_chars, self.char_embed_dim, self.char_hidden_size, name="chars"
            )
            words_BxTxC = enc(chars_BxTxW.reshape(B * T, W), train=train).reshape(B, T, -1)
            xs_BxTxE = jnp.concatenate([xs_BxTxE, words_BxTxC], axis=-1)
        drop = nn.Dropout(self.dropout, deterministic=not train)
        rnn = Recurrent(
            self.cell, self.hidden_size, self.num_layers, True, self.dropout, self.levers,
            name="rnn",
        )  # fmt: skip
        _, hs_BxTxH = rnn(drop(xs_BxTxE), mask_BxT, train=train)
        return nn.Dense(self.num_tags, name="out")(drop(hs_BxTxH))


ATTENTIONS = ("", "dot", "general", "additive")


def masked_softmax(scores_BxTxS, mask_BxS) -> jax.Array:
    """Softmax over the real source positions only: padding gets exactly 0, and a row
    without any real position all zeros (not nan)."""
    mask_Bx1xS = mask_BxS[:, None, :].astype(bool)
    scores = jnp.where(mask_Bx1xS, scores_BxTxS, jnp.finfo(scores_BxTxS.dtype).min)
    return jnp.where(mask_Bx1xS, jax.nn.softmax(scores, axis=-1), 0.0)


class EncoderDecoder(nn.Module):
    """Read a source sequence, generate a target sequence (conditioned generation).

    Encoder: embedding -> L (bi)RNN layers (`rnn`, named as in the other models). The
    decoder (`decoder`, L layers of the same cell, hidden size D = H x directions) starts
    from each encoder layer's final carry (forward and backward concatenated) and reads
    the previous target token (+ an optional feature embedding, e.g. the word's UPOS).
    With `attention` (Luong et al. 2015: "dot", "general"; Bahdanau et al. 2015:
    "additive") each decoder state attends over the encoder states, padding masked to
    weight 0, and `combine` mixes state and context before the softmax `out`. One
    vocabulary (and embedding) for source and target.

    With `num_edits` > 0, an edit classifier `edit` on the encoder's final state (and the
    feature) chooses how the target is made, e.g. copy / lowercase the source or generate
    it (Stanza's lemmatizer): long or unseen sources are copied whole, not regenerated.

    `__call__` is teacher-forced (the whole target in one `recurrent.run`; `teacher_forced`
    stops before the softmax, for a sampled softmax in training); `encode` +
    `step` decode one token at a time (greedy or beam search, rnnlab.decode), with the
    `memory` dict as the carry.
    """

    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 128
    cell: str = "lstm"
    num_layers: int = 1
    bidirectional: bool = True
    attention: str = "dot"
    num_features: int = 0
    feature_dim: int = 16
    num_edits: int = 0
    dropout: float = 0.0
    levers: Levers = Levers()

    def setup(self):
        check_positive(vocab_size=self.vocab_size, embed_dim=self.embed_dim)
        if self.attention not in ATTENTIONS:
            raise ValueError(f"unknown attention {self.attention!r}; expected one of {ATTENTIONS}")
        D = self.hidden_size * (2 if self.bidirectional else 1)
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        self.rnn = Recurrent(self.cell, self.hidden_size, self.num_layers, self.bidirectional,
                             self.dropout, self.levers)  # fmt: skip
        self.decoder = Recurrent(self.cell, D, self.num_layers, False, self.dropout, self.levers)
        self.drop = nn.Dropout(self.dropout)
        if self.num_features > 0:
            self.feature_embed = nn.Embed(self.num_features, self.feature_dim)
        if self.attention == "general":
            self.attend_key = nn.Dense(D, use_bias=False)
        elif self.attention == "additive":
            self.attend_query = nn.Dense(D)
            self.attend_key = nn.Dense(D, use_bias=False)
            self.attend_v = nn.Dense(1, use_bias=False)
        if self.attention:
            self.combine = nn.Dense(D)
        if self.num_edits > 0:
            self.edit = nn.Dense(self.num_edits)
        self.out = nn.Dense(self.vocab_size)

    def __call__(self, source_BxS, source_mask_BxS, inputs_BxT, mask_BxT, features_B=None,
                 *, train: bool = False):  # fmt: skip
        """Teacher-forced next-token logits_BxTxV (inputs: <s> + target)."""
        memory = self.encode(source_BxS, source_mask_BxS, features_B, train=train)
        if self.num_edits > 0 and self.is_initializing():  # create the edit head's parameters
            self.edit_logits(memory)
        return self.decode(memory, inputs_BxT, mask_BxT, train=train)[0]

    def teacher_forced(self, source_BxS, source_mask_BxS, inputs_BxT, mask_BxT, features_B=None,
                       *, train: bool = False):  # fmt: skip
        """(the softmax's inputs features_BxTxD, edit logits_BxE or None): logits =
        features @ W.T + b with (W_VxD, b_V) = `output_weights()`, so that training may
        use a sampled softmax."""
        memory = self.encode(source_BxS, source_mask_BxS, features_B, train=train)
        features_BxTxD = self.decode_features(memory, inputs_BxT, mask_BxT, train=train)[0]
        edits_BxE = self.edit_logits(memory, train=train) if self.num_edits > 0 else None
        return features_BxTxD, edits_BxE

    def output_weights(self):
        """(W_VxD, b_V) of the softmax `out`."""
        return _softmax_weights(self.out)

    def edit_logits(self, memory, *, train: bool = False):
        """Edit classifier logits_BxE from the top encoder layer's final state (+ feature)."""
        summary_BxD = cells.carry_output(memory["carry"][-1])
        if "feature_BxF" in memory:
            summary_BxD = jnp.concatenate([summary_BxD, memory["feature_BxF"]], axis=-1)
        return self.edit(self.drop(summary_BxD, deterministic=not train))

    def encode(self, source_BxS, source_mask_BxS, features_B=None, *, train: bool = False):
        """The decoder's memory: its initial carry (one per layer), the encoder states
        and source mask (attention), and the feature vector."""
        xs_BxSxE = self.drop(self.embed(source_BxS), deterministic=not train)
        carries, states_BxSxD = self.rnn(xs_BxSxE, source_mask_BxS, train=train)
        if self.bidirectional:
            carries = [_concat_carries(fw, bw) for fw, bw in carries]
        memory = {"carry": carries, "states_BxSxD": states_BxSxD, "mask_BxS": source_mask_BxS}
        if self.num_features > 0:
            memory["feature_BxF"] = self.feature_embed(features_B)
        return memory

    def decode(self, memory, inputs_BxT, mask_BxT, *, train: bool = False):
        """(logits_BxTxV, memory with the carry after each row's last real step,
        attention weights_BxTxS or None)."""
        features_BxTxD, memory, weights_BxTxS = self.decode_features(
            memory, inputs_BxT, mask_BxT, train=train
        )
        return self.out(features_BxTxD), memory, weights_BxTxS

    def decode_features(self, memory, inputs_BxT, mask_BxT, *, train: bool = False):
        """`decode` up to the softmax: (its inputs features_BxTxD, memory, weights)."""
        xs_BxTxE = self.drop(self.embed(inputs_BxT), deterministic=not train)
        if "feature_BxF" in memory:
            feature_BxTxF = jnp.broadcast_to(
                memory["feature_BxF"][:, None], (*inputs_BxT.shape, self.feature_dim)
            )
            xs_BxTxE = jnp.concatenate([xs_BxTxE, feature_BxTxF], axis=-1)
        carry, hs_BxTxD = self.decoder(xs_BxTxE, mask_BxT, memory["carry"], train=train)
        weights_BxTxS = None
        if self.attention:
            states_BxSxD = memory["states_BxSxD"]
            weights_BxTxS = masked_softmax(self._scores(hs_BxTxD, states_BxSxD), memory["mask_BxS"])
            context_BxTxD = jnp.einsum("bts,bsd->btd", weights_BxTxS, states_BxSxD)
            hs_BxTxD = jnp.tanh(self.combine(jnp.concatenate([hs_BxTxD, context_BxTxD], -1)))
        features_BxTxD = self.drop(hs_BxTxD, deterministic=not train)
        return features_BxTxD, {**memory, "carry": carry}, weights_BxTxS

    def step(self, memory, tokens_B):
        """One decoding step: (memory with the new carry, next-token logits_BxV)."""
        real_Bx1 = jnp.ones((tokens_B.shape[0], 1), bool)
        logits_Bx1xV, memory, _ = self.decode(memory, tokens_B[:, None], real_Bx1)
        return memory, logits_Bx1xV[:, 0]

    def _scores(self, query_BxTxD, keys_BxSxD):
        if self.attention == "dot":
            return jnp.einsum("btd,bsd->bts", query_BxTxD, keys_BxSxD)
        if self.attention == "general":
            return jnp.einsum("btd,bsd->bts", query_BxTxD, self.attend_key(keys_BxSxD))
        hidden_BxTxSxD = jnp.tanh(
            self.attend_query(query_BxTxD)[:, :, None] + self.attend_key(keys_BxSxD)[:, None]
        )
        return self.attend_v(hidden_BxTxSxD)[..., 0]


def _concat_carries(fw, bw):
    """A forward and a backward layer's final carries as one carry of twice the size."""
    return jax.tree.map(lambda f, b: jnp.concatenate([f, b], axis=-1), fw, bw)


SCORERS = ("biaffine", "mlp")


class Parser(nn.Module):
    """A graph-based dependency parser: word embedding (+ char-BiLSTM word vector, +
    optional UPOS embedding) -> BiRNN layers -> arc and relation scores.

    Position 0 of every row is the root (a real token, `<s>` in the task); words are
    1..n. `scorer` "biaffine" (Dozat & Manning 2017: ReLU MLPs give each position a
    dependent and a head vector; arc = dep^T U head + head . u; relation r = dep^T U_r
    head + W_r [dep; head] + b_r) or "mlp" (Kiperwasser & Goldberg 2016: arc = v^T
    tanh(W_h head + W_d dep + b), relation = an MLP of [head; dep]).

    `arc_scores_BxTxT[b, d, h]` is masked: h must be a real position (mask) other than d,
    else the score is the dtype's minimum; rows d that are padding (or the root) are
    scored but must be ignored by the caller (`dependents_BxT`). Relation scores are
    for the given heads (the gold ones in training, the decoded ones when parsing).
    """

    vocab_size: int
    num_rels: int
    embed_dim: int = 100
    hidden_size: int = 200
    cell: str = "lstm"
    num_layers: int = 2
    dropout: float = 0.0
    num_chars: int = 0
    char_embed_dim: int = 32
    char_hidden_size: int = 32
    num_upos: int = 0
    upos_dim: int = 32
    scorer: str = "biaffine"
    arc_dim: int = 400
    rel_dim: int = 100
    levers: Levers = Levers()
    word_dropout: float = 0.0
    unk_id: int = 1
    num_tags: int = 0  # > 0: a UPOS classifier over the top states (`tags`, multi-task)
    distance_bins: int = 0  # K > 0: + a dependent's score for each head distance (below)

    def setup(self):
        check_positive(vocab_size=self.vocab_size, num_rels=self.num_rels, embed_dim=self.embed_dim,
                       arc_dim=self.arc_dim, rel_dim=self.rel_dim)  # fmt: skip
        if self.scorer not in SCORERS:
            raise ValueError(f"unknown scorer {self.scorer!r}; expected one of {SCORERS}")
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        if self.num_chars > 0:
            self.chars = CharWordEncoder(self.num_chars, self.char_embed_dim,
                                         self.char_hidden_size)  # fmt: skip
        if self.num_upos > 0:
            self.upos_embed = nn.Embed(self.num_upos, self.upos_dim)
        self.rnn = Recurrent(self.cell, self.hidden_size, self.num_layers, True, self.dropout,
                             self.levers)  # fmt: skip
        self.drop = nn.Dropout(self.dropout)
        A, R = self.arc_dim, self.rel_dim
        if self.scorer == "biaffine":
            self.arc_dep, self.arc_head = nn.Dense(A), nn.Dense(A)
            self.rel_dep, self.rel_head = nn.Dense(R), nn.Dense(R)
            self.arc_U = self.param("arc_U", nn.initializers.zeros, (A, A))
            self.arc_u = self.param("arc_u", nn.initializers.zeros, (A,))
            self.rel_U = self.param("rel_U", nn.initializers.zeros, (self.num_rels, R, R))
            self.rel_W = nn.Dense(self.num_rels)
        else:
            self.arc_dep, self.arc_head = nn.Dense(A), nn.Dense(A, use_bias=False)
            self.arc_v = nn.Dense(1, use_bias=False)
            self.rel_hidden = nn.Dense(R)
            self.rel_out = nn.Dense(self.num_rels)
        if self.num_tags > 0:
            self.tagger = nn.Dense(self.num_tags)
        if self.distance_bins > 0:  # starts at zero: the scorer's arcs, then learns a prior
            self.arc_distance = nn.Dense(
                2 * self.distance_bins + 2, kernel_init=nn.initializers.zeros
            )

    def __call__(self, tokens_BxT, mask_BxT, chars_BxTxW=None, upos_BxT=None, heads_BxT=None,
                 *, train: bool = False):  # fmt: skip
        """(arc_scores_BxTxT, rel_scores_BxTxR for heads_BxT, or for the best-scoring
        heads when none are given)."""
        states_BxTxH = self.encode(tokens_BxT, mask_BxT, chars_BxTxW, upos_BxT, train=train)
        arcs_BxTxT = self.arcs(states_BxTxH, mask_BxT, train=train)
        if heads_BxT is None:
            heads_BxT = jnp.argmax(arcs_BxTxT, -1)
        if self.num_tags > 0 and self.is_initializing():  # `tags` is a method of its own
            self.tags(states_BxTxH)
        return arcs_BxTxT, self.rels(states_BxTxH, heads_BxT, train=train)

    def encode(self, tokens_BxT, mask_BxT, chars_BxTxW=None, upos_BxT=None, *,
               train: bool = False):  # fmt: skip
        """The BiRNN states of every position (root included), states_BxTxH."""
        if train and self.word_dropout > 0.0:
            words_BxT = mask_BxT & (jnp.arange(tokens_BxT.shape[1]) > 0)  # never the root
            key = self.make_rng("dropout")
            tokens_BxT = word_dropout(key, tokens_BxT, words_BxT, self.word_dropout, self.unk_id)
        parts = [self.embed(tokens_BxT)]
        if self.num_chars > 0:
            if chars_BxTxW is None:
                raise ValueError("this parser has a character encoder: pass chars_BxTxW")
            B, T, W = chars_BxTxW.shape
            parts.append(self.chars(chars_BxTxW.reshape(B * T, W)).reshape(B, T, -1))
        if self.num_upos > 0:
            if upos_BxT is None:
                raise ValueError("this parser reads UPOS tags: pass upos_BxT")
            parts.append(self.upos_embed(upos_BxT))
        xs_BxTxE = self.drop(jnp.concatenate(parts, -1), deterministic=not train)
        _, hs_BxTxH = self.rnn(xs_BxTxE, mask_BxT, train=train)
        return self.drop(hs_BxTxH, deterministic=not train)

    def arcs(self, states_BxTxH, mask_BxT, *, train: bool = False):
        """Masked arc_scores_BxTxT[b, dependent, head]."""
        drop = functools.partial(self.drop, deterministic=not train)
        if self.scorer == "biaffine":
            dep_BxTxA = drop(nn.relu(self.arc_dep(states_BxTxH)))
            head_BxTxA = drop(nn.relu(self.arc_head(states_BxTxH)))
            scores = jnp.einsum("bda,ac,bhc->bdh", dep_BxTxA, self.arc_U, head_BxTxA)
            scores = scores + (head_BxTxA @ self.arc_u)[:, None, :]
        else:
            dep_BxTxA, head_BxTxA = self.arc_dep(states_BxTxH), self.arc_head(states_BxTxH)
            hidden_BxTxTxA = jnp.tanh(dep_BxTxA[:, :, None] + head_BxTxA[:, None, :])
            scores = self.arc_v(drop(hidden_BxTxTxA))[..., 0]
        T = mask_BxT.shape[1]
        if self.distance_bins > 0:
            by_bin_BxTxN = self.arc_distance(states_BxTxH)
            bins_BxTxT = jnp.broadcast_to(distance_bins(T, self.distance_bins), scores.shape)
            scores = scores + jnp.take_along_axis(by_bin_BxTxN, bins_BxTxT, axis=2)
        allowed_BxTxT = mask_BxT[:, None, :].astype(bool) & ~jnp.eye(T, dtype=bool)
        return jnp.where(allowed_BxTxT, scores, jnp.finfo(scores.dtype).min)

    def tags(self, states_BxTxH):
        """tag_logits_BxTxK of every position (the auxiliary UPOS classifier)."""
        return self.tagger(states_BxTxH)

    def rels(self, states_BxTxH, heads_BxT, *, train: bool = False):
        """rel_scores_BxTxR of each position d attached to heads_BxT[b, d]."""
        drop = functools.partial(self.drop, deterministic=not train)
        take = jax.vmap(lambda x_TxD, i_T: x_TxD[i_T])
        if self.scorer == "biaffine":
            dep_BxTxR = drop(nn.relu(self.rel_dep(states_BxTxH)))
            head_BxTxR = take(drop(nn.relu(self.rel_head(states_BxTxH))), heads_BxT)
            bilinear = jnp.einsum("btr,krs,bts->btk", dep_BxTxR, self.rel_U, head_BxTxR)
            return bilinear + self.rel_W(jnp.concatenate([dep_BxTxR, head_BxTxR], -1))
        pair_BxTx2H = jnp.concatenate([take(states_BxTxH, heads_BxT), states_BxTxH], -1)
        return self.rel_out(drop(jnp.tanh(self.rel_hidden(pair_BxTx2H))))


def distance_bins(T: int, K: int) -> np.ndarray:
    """bins_TxT[d, h] of the arc d <- h: the signed distance h - d clipped to [-K, K],
    shifted to [0, 2K]; the root (h = 0) has a bin of its own, 2K + 1. With `distance_bins`
    the parser adds a score per bin, linear in the dependent's state (a context-free prior
    in the bias): the distance and direction terms of Qi et al. (2018), as categories."""
    d_Tx1, h_1xT = np.arange(T)[:, None], np.arange(T)[None, :]
    return np.where(h_1xT == 0, 2 * K + 1, np.clip(h_1xT - d_Tx1, -K, K) + K)


def dependents(mask_BxT) -> jax.Array:
    """The positions that need a head: real and not the root (position 0)."""
    return mask_BxT.astype(bool) & (jnp.arange(mask_BxT.shape[1]) > 0)


MODELS = {m.__name__: m for m in (Classifier, LanguageModel, Tagger, EncoderDecoder, Parser)}


def spec_of(model: nn.Module) -> dict:
    """The JSON-able keyword arguments that rebuild `model` (`build(spec_of(m)) == m`)."""
    fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.init}
    fields = {k: v for k, v in fields.items() if k not in ("parent", "name")}
    fields["levers"] = dataclasses.asdict(fields["levers"])
    return {"model": type(model).__name__, **fields}


def build(spec: dict) -> nn.Module:
    """A model from its spec: {"model": class name, **keyword arguments}."""
    kwargs = dict(spec)
    name = kwargs.pop("model")
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    if "levers" in kwargs:
        kwargs["levers"] = Levers(**kwargs["levers"])
    return MODELS[name](**kwargs)
