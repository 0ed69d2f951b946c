"""Greedy and beam search against brute-force enumeration of every output.

The decoders are tiny random RNNs whose next-token distribution depends on the whole
history, so greedy decoding is not optimal (checked) and a beam that drops or misorders
hypotheses, or gathers carries from the wrong beam, picks a different sequence.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxprs import equations

from rnnlab import decode

PAD, EOS = 0, 1


def rnn_step(params, h_BxH, tokens_B):
    """h' = tanh(W[token] + U h), logits = h' O (+ bias_V): the history lives in h."""
    W_VxH, U_HxH, O_HxV, bias_V = params
    h_BxH = jnp.tanh(W_VxH[tokens_B] + h_BxH @ U_HxH)
    return h_BxH, h_BxH @ O_HxV + bias_V


def random_rnn(seed, V, H=6, batch=3, scale=2.0):
    """(params, h0_BxH, bos_B): the distributions are peaky enough to make greedy err."""
    kW, kU, kO, kh, kb = jax.random.split(jax.random.PRNGKey(seed), 5)
    params = (
        jax.random.normal(kW, (V, H)),
        jax.random.normal(kU, (H, H)) / np.sqrt(H),
        jax.random.normal(kO, (H, V)) * scale,
        jnp.zeros((V,)),
    )
    h0_BxH = jax.random.normal(kh, (batch, H))
    bos_B = jax.random.randint(kb, (batch,), 2, V)
    return params, h0_BxH, bos_B


def all_outputs(V, max_len, banned_ids):
    """Every hypothesis: k < max_len tokens + EOS, or max_len tokens without EOS."""
    tokens = [v for v in range(V) if v != EOS and v not in banned_ids]
    for n in range(max_len):
        yield from (seq + (EOS,) for seq in itertools.product(tokens, repeat=n))
    yield from itertools.product(tokens, repeat=max_len)


def teacher_forced(step, carry0, bos, outputs, max_len):
    """log p of each output's t-th token given its prefix, [M, max_len] float64 (0 after
    the output ends). `carry0` is one example's carry (leading axis 1)."""
    M = len(outputs)
    targets_MxN = np.zeros((M, max_len), np.int32)
    for m, seq in enumerate(outputs):
        targets_MxN[m, : len(seq)] = seq
    emitted_M = np.array([len(seq) for seq in outputs])
    carry = jax.tree.map(lambda x: jnp.repeat(x, M, axis=0), carry0)
    inputs_M, logp_MxN = jnp.full((M,), bos, jnp.int32), np.zeros((M, max_len))
    for t in range(max_len):
        carry, logits_MxV = step(carry, inputs_M)
        logp_MxV = np.asarray(jax.nn.log_softmax(logits_MxV), np.float64)
        logp_MxN[:, t] = np.where(t < emitted_M, logp_MxV[np.arange(M), targets_MxN[:, t]], 0.0)
        inputs_M = jnp.asarray(targets_MxN[:, t])
    return logp_MxN


def ranked(outputs, logp_M, alpha):
    """[(score, tokens before EOS)], best first."""
    emitted_M = np.array([len(seq) for seq in outputs], np.float64)
    scores_M = logp_M / emitted_M**alpha
    pairs = sorted(zip(scores_M, outputs, strict=True), key=lambda pair: -pair[0])
    return [(score, tuple(v for v in seq if v != EOS)) for score, seq in pairs]


def brute_force(step, carry0, bos, *, V, max_len, banned_ids, alpha):
    """[(score, tokens before EOS)] of every hypothesis, best first, by teacher forcing.

    `carry0` is one example's carry (leading axis 1); it is repeated for all outputs.
    """
    outputs = list(all_outputs(V, max_len, banned_ids))
    logp_MxN = teacher_forced(step, carry0, bos, outputs, max_len)
    return ranked(outputs, logp_MxN.sum(axis=1), alpha)


def row(tree, b):
    return jax.tree.map(lambda x: x[b : b + 1], tree)


def hypothesis(tokens_N, length):
    tokens_N = np.asarray(tokens_N)
    assert (tokens_N[length:] == PAD).all()  # padding after the hypothesis, EOS included
    return tuple(tokens_N[:length].tolist())


def assert_k_best(tokens_KxN, lengths_K, scores_K, truth):
    """The beam's list is the brute force's K best: scores, and distinct outputs with them.

    (Sequences are compared through their scores: float ties make the order among equals
    arbitrary.) Slots beyond the number of possible outputs are empty.
    """
    found = min(len(scores_K), len(truth))
    want = np.array([score for score, _ in truth[:found]])
    np.testing.assert_allclose(scores_K[:found], want, rtol=1e-5, atol=1e-5)
    score_of = {seq: score for score, seq in truth}
    listed = [hypothesis(tokens_KxN[k], int(lengths_K[k])) for k in range(found)]
    assert len(set(listed)) == found
    np.testing.assert_allclose([score_of[seq] for seq in listed], want, rtol=1e-5, atol=1e-5)
    assert (scores_K[found:] == -np.inf).all()
    assert (tokens_KxN[found:] == PAD).all() and (lengths_K[found:] == 0).all()


def test_beam_of_one_is_greedy_bit_for_bit():
    V, max_len, ended_by_eos, cut = 7, 6, 0, 0
    for seed in range(8):
        params, h0_BxH, bos_B = random_rnn(seed, V, batch=6, scale=1.5)
        step = jax.tree_util.Partial(rnn_step, params)
        kwargs = dict(eos_id=EOS, max_len=max_len, banned_ids=(PAD,))
        g_tokens, g_lengths, g_scores = decode.greedy(step, h0_BxH, bos_B, **kwargs)
        b_tokens, b_lengths, b_scores = decode.beam_search(
            step, h0_BxH, bos_B, beam_size=1, **kwargs
        )
        np.testing.assert_array_equal(b_tokens[:, 0], g_tokens)
        np.testing.assert_array_equal(b_lengths[:, 0], g_lengths)
        np.testing.assert_array_equal(b_scores[:, 0], g_scores)
        # With length normalisation the same path, its score divided by L**alpha.
        n_tokens, n_lengths, n_scores = decode.beam_search(
            step, h0_BxH, bos_B, beam_size=1, length_alpha=0.8, **kwargs
        )
        np.testing.assert_array_equal(n_tokens[:, 0], g_tokens)
        emitted_B = np.minimum(np.asarray(g_lengths) + 1, max_len)
        np.testing.assert_allclose(n_scores[:, 0], g_scores / emitted_B**0.8, rtol=1e-6)
        ended_by_eos += int((g_lengths < max_len).sum())
        cut += int((g_lengths == max_len).sum())
    assert ended_by_eos > 0 and cut > 0  # both ways of ending were compared


# (V, max_len, beam_size): with banned PAD and EOS, n = V - 2 tokens continue a hypothesis.
# A beam is as wide as the search space when it keeps every extension before the last step
# (beam_size >= n**t (n + 1) for t <= max_len - 2) and holds every final prefix (n**max_len).
WIDE = [
    (5, 3, 27),  # 40 outputs
    (4, 4, 16),  # 31 outputs
    (3, 6, 2),  # 7 outputs; the finished set is full from step 2 on: the early exit decides
    (3, 3, 6),  # 4 outputs for 6 slots: two empty
]


@pytest.mark.parametrize("alpha", [0.0, 0.7, 2.0])
@pytest.mark.parametrize("V,max_len,beam_size", WIDE)
def test_wide_beam_lists_the_k_best_of_brute_force(V, max_len, beam_size, alpha):
    for seed in range(6):
        params, h0_BxH, bos_B = random_rnn(seed, V)
        step = jax.tree_util.Partial(rnn_step, params)
        tokens, lengths, scores = decode.beam_search(
            step,
            h0_BxH,
            bos_B,
            beam_size=beam_size,
            eos_id=EOS,
            max_len=max_len,
            length_alpha=alpha,
            banned_ids=(PAD,),
        )
        for b in range(len(bos_B)):
            truth = brute_force(
                step,
                row(h0_BxH, b),
                int(bos_B[b]),
                V=V,
                max_len=max_len,
                banned_ids=(PAD,),
                alpha=alpha,
            )
            assert_k_best(tokens[b], lengths[b], scores[b], truth)


def table_step(logits_NxV, t_B, tokens_B):
    """Next-token logits by position alone: the carry counts the tokens emitted."""
    return t_B + 1, logits_NxV[t_B]


def test_early_exit_waits_for_a_long_hypothesis_that_normalisation_favours():
    # Only "a" or EOS can be emitted, so a beam of 2 keeps every extension and is exact.
    # After 3 steps the finished "<eos>" and "a <eos>" score better than the live "a a a"
    # would if it ended at once, but "a"*9 + EOS, nearly sure from there, beats both once
    # divided by its length. An exit bound that divides by the current length instead of
    # the longest reachable one stops at step 3 and misses it.
    probs_NxV = np.full((10, 3), 1e-6)  # columns: PAD (banned), EOS, a
    probs_NxV[0, 1:] = [np.exp(-0.9), 1 - np.exp(-0.9)]
    probs_NxV[1, 1:] = [0.5, 0.5]
    probs_NxV[2, 2] = np.exp(-2.5)
    probs_NxV[3:9, 2] = 1.0
    probs_NxV[9, 1] = 1.0
    probs_NxV[2, 0] = 1 - probs_NxV[2, 1:].sum()  # the model's mass on the banned PAD
    logits_NxV = jnp.log(jnp.asarray(probs_NxV / probs_NxV.sum(1, keepdims=True)))
    step = jax.tree_util.Partial(table_step, logits_NxV)
    t0_B = jnp.zeros((1,), jnp.int32)
    tokens, lengths, scores = decode.beam_search(
        step,
        t0_B,
        jnp.array([2]),
        beam_size=2,
        eos_id=EOS,
        max_len=10,
        length_alpha=1.0,
        banned_ids=(PAD,),
    )
    truth = brute_force(step, t0_B, 2, V=3, max_len=10, banned_ids=(PAD,), alpha=1.0)
    assert truth[0][1] == (2,) * 9  # the case is what it means to be
    assert hypothesis(tokens[0, 0], int(lengths[0, 0])) == truth[0][1]
    np.testing.assert_allclose(scores[0], [truth[0][0], truth[1][0]], rtol=1e-5)


def test_wide_beam_finds_the_best_sequence_where_greedy_does_not():
    V, max_len, beam_size = 5, 3, 27
    greedy_missed, alpha_mattered = 0, 0
    for seed in range(10):
        params, h0_BxH, bos_B = random_rnn(seed, V)
        step = jax.tree_util.Partial(rnn_step, params)
        kwargs = dict(eos_id=EOS, max_len=max_len, banned_ids=(PAD,))
        _, _, g_scores = decode.greedy(step, h0_BxH, bos_B, **kwargs)
        best = {}
        for alpha in (0.0, 1.0):
            tokens, lengths, scores = decode.beam_search(
                step, h0_BxH, bos_B, beam_size=beam_size, length_alpha=alpha, **kwargs
            )
            for b in range(len(bos_B)):
                truth = brute_force(
                    step,
                    row(h0_BxH, b),
                    int(bos_B[b]),
                    V=V,
                    max_len=max_len,
                    banned_ids=(PAD,),
                    alpha=alpha,
                )
                (score_0, seq_0), (score_1, _) = truth[:2]
                np.testing.assert_allclose(scores[b, 0], score_0, rtol=1e-5)
                if score_0 - score_1 > 1e-4:  # a clear winner: the very sequence
                    assert hypothesis(tokens[b, 0], int(lengths[b, 0])) == seq_0
                best[alpha, b] = seq_0
                if alpha == 0.0:
                    greedy_missed += bool(g_scores[b] < score_0 - 1e-4)
        alpha_mattered += sum(best[0.0, b] != best[1.0, b] for b in range(len(bos_B)))
    # Otherwise this test could not tell beam search from greedy, or alpha from none.
    assert greedy_missed > 0 and alpha_mattered > 0


def test_banned_ids_are_never_emitted_even_when_most_likely():
    V, banned = 9, (PAD, 4, 7)
    params, h0_BxH, bos_B = random_rnn(0, V, batch=4)
    bias_V = jnp.zeros((V,)).at[jnp.array(banned)].set(8.0)
    step = jax.tree_util.Partial(rnn_step, (*params[:3], bias_V))
    kwargs = dict(eos_id=EOS, max_len=5, banned_ids=banned)
    g_tokens, _, g_scores = decode.greedy(step, h0_BxH, bos_B, **kwargs)
    tokens, lengths, scores = decode.beam_search(step, h0_BxH, bos_B, beam_size=4, **kwargs)
    assert not np.isin(np.asarray(g_tokens), banned[1:]).any()
    assert not np.isin(np.asarray(tokens), banned[1:]).any()
    assert np.isfinite(g_scores).all() and np.isfinite(scores).all()
    # The scores are the model's own probabilities, not renormalised over allowed ids.
    for b in range(4):
        truth = brute_force(
            step, row(h0_BxH, b), int(bos_B[b]), V=V, max_len=5, banned_ids=banned, alpha=0.0
        )
        score_of = {seq: score for score, seq in truth}
        seq = hypothesis(tokens[b, 0], int(lengths[b, 0]))
        np.testing.assert_allclose(scores[b, 0], score_of[seq], rtol=1e-5)


def test_batch_rows_are_decoded_independently():
    params, h0_BxH, bos_B = random_rnn(3, V=8, batch=5)
    step = jax.tree_util.Partial(rnn_step, params)
    kwargs = dict(eos_id=EOS, max_len=7, banned_ids=(PAD,))
    batch = decode.beam_search(step, h0_BxH, bos_B, beam_size=3, length_alpha=0.5, **kwargs)
    greedy = decode.greedy(step, h0_BxH, bos_B, **kwargs)
    for b in range(5):
        alone = decode.beam_search(
            step, row(h0_BxH, b), bos_B[b : b + 1], beam_size=3, length_alpha=0.5, **kwargs
        )
        np.testing.assert_array_equal(batch[0][b], alone[0][0])
        np.testing.assert_array_equal(batch[1][b], alone[1][0])
        np.testing.assert_allclose(batch[2][b], alone[2][0], rtol=1e-6)
        greedy_alone = decode.greedy(step, row(h0_BxH, b), bos_B[b : b + 1], **kwargs)
        np.testing.assert_array_equal(greedy[0][b], greedy_alone[0][0])
        np.testing.assert_allclose(greedy[2][b], greedy_alone[2][0], rtol=1e-6)


def attention_step(params, carry, tokens_B):
    """An attention decoder's shape of carry: its state, plus memory passed through."""
    (W_VxH, U_HxH, O_2HxV), ((h_BxH, n_B), memory) = params, carry
    h_BxH = jnp.tanh(W_VxH[tokens_B] + h_BxH @ U_HxH)
    weights_BxS = jnp.einsum("bh,bsh->bs", h_BxH, memory["states_BxSxH"])
    weights_BxS = jax.nn.softmax(jnp.where(memory["mask_BxS"], weights_BxS, -jnp.inf))
    context_BxH = jnp.einsum("bs,bsh->bh", weights_BxS, memory["states_BxSxH"])
    logits_BxV = jnp.concatenate([h_BxH, context_BxH], axis=-1) @ O_2HxV
    return ((h_BxH, n_B + 1), memory), logits_BxV


def test_nested_carry_with_encoder_memory_under_jit():
    V, H, S, B, max_len, beam_size = 5, 6, 4, 3, 3, 27
    k = jax.random.split(jax.random.PRNGKey(5), 5)
    params = (
        jax.random.normal(k[0], (V, H)),
        jax.random.normal(k[1], (H, H)) / np.sqrt(H),
        jax.random.normal(k[2], (2 * H, V)) * 2.0,
    )
    memory = {
        "states_BxSxH": jax.random.normal(k[3], (B, S, H)) * 2.0,
        "mask_BxS": jnp.arange(S)[None, :] < jnp.array([[4], [2], [1]]),  # per-row lengths
    }
    carry0 = ((jax.random.normal(k[4], (B, H)), jnp.zeros((B,), jnp.int32)), memory)
    bos_B = jnp.array([2, 3, 4])

    @jax.jit
    def decode_all(params, carry0, bos_B):
        step = jax.tree_util.Partial(attention_step, params)
        kwargs = dict(eos_id=EOS, max_len=max_len, banned_ids=(PAD,))
        return (
            decode.beam_search(step, carry0, bos_B, beam_size=beam_size, **kwargs),
            decode.greedy(step, carry0, bos_B, **kwargs),
        )

    (tokens, lengths, scores), (_, _, g_scores) = decode_all(params, carry0, bos_B)
    step = jax.tree_util.Partial(attention_step, params)
    for b in range(B):
        truth = brute_force(
            step, row(carry0, b), int(bos_B[b]), V=V, max_len=max_len, banned_ids=(PAD,), alpha=0.0
        )
        assert_k_best(tokens[b], lengths[b], scores[b], truth)
        assert g_scores[b] <= scores[b, 0] + 1e-5


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("V,max_len,beam_size", WIDE[:2])
def test_an_ensembles_wide_beam_lists_the_k_best_of_the_mean_of_its_members(
    V, max_len, beam_size, alpha
):
    """The reference: each member teacher-forced alone, its per-token probabilities
    averaged over members in float64, the log of the mean summed over the output."""
    members = [random_rnn(seed, V) for seed in range(3)]
    bos_B = members[0][2]
    steps = [jax.tree_util.Partial(rnn_step, params) for params, _, _ in members]
    carry0 = tuple(h0_BxH for _, h0_BxH, _ in members)  # each member starts from its own
    step = decode.ensemble(*steps)
    tokens, lengths, scores = decode.beam_search(step, carry0, bos_B, beam_size=beam_size,
                                                 eos_id=EOS, max_len=max_len,
                                                 length_alpha=alpha, banned_ids=(PAD,))  # fmt: skip
    outputs = list(all_outputs(V, max_len, (PAD,)))
    for b in range(len(bos_B)):
        logp_MxN = [teacher_forced(s, row(h0, b), int(bos_B[b]), outputs, max_len)
                    for s, h0 in zip(steps, carry0, strict=True)]  # fmt: skip
        mean_logp = np.log(np.mean(np.exp(np.stack(logp_MxN)), axis=0)).sum(axis=1)
        truth = ranked(outputs, mean_logp, alpha)
        assert_k_best(tokens[b], lengths[b], scores[b], truth)
        alone = ranked(outputs, logp_MxN[0].sum(axis=1), alpha)
        assert [seq for _, seq in truth[:3]] != [seq for _, seq in alone[:3]]  # it matters


def test_an_ensemble_of_one_is_the_step_and_of_copies_decodes_as_one():
    params, h0_BxH, bos_B = random_rnn(3, V=6, batch=5)
    step = jax.tree_util.Partial(rnn_step, params)
    assert decode.ensemble(step) is step
    kwargs = dict(beam_size=4, eos_id=EOS, max_len=5, banned_ids=(PAD,))
    one = decode.beam_search(step, h0_BxH, bos_B, **kwargs)
    copies = decode.beam_search(decode.ensemble(step, step), (h0_BxH, h0_BxH), bos_B, **kwargs)
    np.testing.assert_array_equal(copies[0], one[0])
    np.testing.assert_allclose(copies[2], one[2], rtol=1e-5)


def test_an_ensemble_of_attention_decoders_keeps_one_memory_per_row():
    """The members' encoder memories pass through the ensemble's step as the very objects
    they were, so beam search does not gather them per beam: the jaxpr holds no gather of
    a [B*K, S, H] memory. The result is still the mean of the members (brute force)."""
    V, H, S, B, max_len, beam_size = 5, 6, 4, 3, 3, 27
    members, carry0 = [], []
    for seed in (5, 6):
        k = jax.random.split(jax.random.PRNGKey(seed), 5)
        members.append((jax.random.normal(k[0], (V, H)),
                        jax.random.normal(k[1], (H, H)) / np.sqrt(H),
                        jax.random.normal(k[2], (2 * H, V)) * 2.0))  # fmt: skip
        memory = {"states_BxSxH": jax.random.normal(k[3], (B, S, H)) * 2.0,
                  "mask_BxS": jnp.arange(S)[None, :] < jnp.array([[4], [2], [1]])}  # fmt: skip
        carry0.append(((jax.random.normal(k[4], (B, H)), jnp.zeros((B,), jnp.int32)), memory))
    carry0, bos_B = tuple(carry0), jnp.array([2, 3, 4])
    steps = [jax.tree_util.Partial(attention_step, params) for params in members]
    step = decode.ensemble(*steps)
    kwargs = dict(beam_size=beam_size, eos_id=EOS, max_len=max_len, banned_ids=(PAD,))
    tokens, lengths, scores = decode.beam_search(step, carry0, bos_B, **kwargs)
    outputs = list(all_outputs(V, max_len, (PAD,)))
    for b in range(B):
        logp_MxN = [teacher_forced(s, row(c, b), int(bos_B[b]), outputs, max_len)
                    for s, c in zip(steps, carry0, strict=True)]  # fmt: skip
        mean_logp = np.log(np.mean(np.exp(np.stack(logp_MxN)), axis=0)).sum(axis=1)
        assert_k_best(tokens[b], lengths[b], scores[b], ranked(outputs, mean_logp, 0.0))
    jaxpr = jax.make_jaxpr(lambda c: decode.beam_search(step, c, bos_B, **kwargs))(carry0)
    gathered = [e for e in equations(jaxpr.jaxpr) if e.primitive.name == "gather"
                and e.outvars[0].aval.shape == (B * beam_size, S, H)]  # fmt: skip
    assert not gathered


def test_new_params_reuse_the_compiled_search():
    traces = []

    def counted_step(params, h_BxH, tokens_B):
        traces.append(1)
        return rnn_step(params, h_BxH, tokens_B)

    for seed in range(3):
        params, h0_BxH, bos_B = random_rnn(seed, V=6)
        step = jax.tree_util.Partial(counted_step, params)
        decode.beam_search(step, h0_BxH, bos_B, beam_size=3, eos_id=EOS, max_len=4)
        if seed == 0:
            traced_once = len(traces)
    assert len(traces) == traced_once


def test_bad_arguments_are_clear_errors():
    params, h0_BxH, bos_B = random_rnn(0, V=6)
    step = jax.tree_util.Partial(rnn_step, params)
    with pytest.raises(ValueError, match="leading axis"):
        decode.greedy(step, (h0_BxH, jnp.zeros(())), bos_B, eos_id=EOS, max_len=3)
    with pytest.raises(ValueError, match="banned"):
        decode.beam_search(
            step, h0_BxH, bos_B, beam_size=2, eos_id=EOS, max_len=3, banned_ids=(EOS,)
        )
