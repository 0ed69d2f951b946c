"""Independent float64 numpy references for the cells, written from the papers' equations.

They share nothing with rnnlab except the parameter layout (fused W [D, G·H], U [H, G·H],
b [G·H]), which they unpack into the separate per-gate matrices of the equations.
"""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _stack(hs, H):
    return np.array(hs).reshape(len(hs), H)


def _gate_blocks(params, num_gates):
    W, U, b = (np.asarray(params[k], np.float64) for k in ("W_DxG", "U_HxG", "b_G"))
    return np.split(W, num_gates, axis=1), np.split(U, num_gates, axis=1), np.split(b, num_gates)


def elman_seq(params, xs_TxD, h_H):
    (W,), (U,), (b,) = _gate_blocks(params, 1)
    h_H = np.asarray(h_H, np.float64)
    hs = []
    for x in np.asarray(xs_TxD, np.float64):
        h_H = np.tanh(x @ W + h_H @ U + b)
        hs.append(h_H)
    return h_H, _stack(hs, len(h_H))


def lstm_seq(params, xs_TxD, carry):
    (Wi, Wf, Wg, Wo), (Ui, Uf, Ug, Uo), (bi, bf, bg, bo) = _gate_blocks(params, 4)
    h, c = (np.asarray(a, np.float64) for a in carry)
    hs = []
    for x in np.asarray(xs_TxD, np.float64):
        i = _sigmoid(x @ Wi + h @ Ui + bi)
        f = _sigmoid(x @ Wf + h @ Uf + bf)
        g = np.tanh(x @ Wg + h @ Ug + bg)
        o = _sigmoid(x @ Wo + h @ Uo + bo)
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    return (h, c), _stack(hs, len(h))


def gru_seq(params, xs_TxD, h_H):
    """Cho et al. (2014), eqs. 5-8: reset applied to h before the recurrent matmul."""
    (Wr, Wz, Wn), (Ur, Uz, Un), (br, bz, bn) = _gate_blocks(params, 3)
    h = np.asarray(h_H, np.float64)
    hs = []
    for x in np.asarray(xs_TxD, np.float64):
        r = _sigmoid(x @ Wr + h @ Ur + br)
        z = _sigmoid(x @ Wz + h @ Uz + bz)
        n = np.tanh(x @ Wn + (r * h) @ Un + bn)
        h = z * h + (1.0 - z) * n
        hs.append(h)
    return h, _stack(hs, len(h))


SEQ_REFS = {"elman": elman_seq, "lstm": lstm_seq, "gru": gru_seq}


def run_padded(name, params, xs_BxTxD, mask_BxT, carry0_B, reverse=False):
    """Runs each sequence ALONE on its real steps only, then scatters outputs back.

    `carry0_B` is a list of per-example carries. Returns (list of final carries,
    hs_BxTxH with zeros at masked steps).
    """
    seq = SEQ_REFS[name]
    xs_BxTxD, mask_BxT = np.asarray(xs_BxTxD, np.float64), np.asarray(mask_BxT, bool)
    B, T, _ = xs_BxTxD.shape
    finals, hs_out = [], None
    for b in range(B):
        idx = np.flatnonzero(mask_BxT[b])
        if reverse:
            idx = idx[::-1]
        final, hs = seq(params, xs_BxTxD[b, idx], carry0_B[b])
        finals.append(final)
        if hs_out is None:
            H = np.asarray(params["U_HxG"]).shape[0]
            hs_out = np.zeros((B, T, H))
        if len(idx):
            hs_out[b, idx] = hs
    return finals, hs_out
