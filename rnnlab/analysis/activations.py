"""What single units of a trained RNN track: per-step activations, feature correlations,
single-unit sentiment probes, and text coloured by a unit (HTML and PNG).

    steps, finals = model_states(model, params, tokens_BxT, mask_BxT)   # per layer {"h", "c"}
    run = runs.load(workdir)                                             # any LM or classifier
    tokens, steps_T = text_states(run, text)                            # [T, H] per layer
    r_U = correlations(stack_units(steps_T), feature_T)
    report = probe(X_train_NxU, y_train_N, X_dev_MxU, y_dev_M)         # one unit vs all units
    report = softmax_probe(X_train_NxU, tags_N, X_dev_MxU, tags_M)     # multi-class, all units

Karpathy et al. (2015) found cells of character LSTMs that track quotes, brackets and
the position in a line; Radford et al. (2017) one unit of a byte LSTM LM whose value
alone classifies sentiment. Both are read off the states step by step.

How the states are read without copying the model's forward code: the model is applied
once (eval mode) under a flax method interceptor that records the inputs, initial carry
and parameters of its top-level recurrent stack (`models.Recurrent`). The stack is then
re-run by `recurrent.run_layers(..., return_states=True)`, which gives every layer's whole
carry (h, and c for an LSTM) at every step; masks, direction and the (label-conditioned)
initial carry are the model's own.

A unit's name is "layer:state:index" (layers from 1; in a bidirectional layer the
forward units come first), e.g. "2:c:17". Cell states c are unbounded: plots show tanh(c).
"""

from __future__ import annotations

import functools
import html

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from matplotlib import colormaps
from matplotlib.figure import Figure

from rnnlab import cells, models, recurrent, runs
from rnnlab.data import batching
from rnnlab.data.vocab import BOS

STATE_NAMES = ("h", "c")
CMAP = "RdBu_r"  # diverging: blue −1, white 0, red +1
SHOWN = {"\n": "↵", "\t": "⇥"}  # characters drawn as a visible symbol

# --------------------------------------------------------------------------- states


def layer_states(cell, layers, xs_BxTxD, mask_BxT, carry0=None, *, bidirectional=False):
    """(steps, finals), one dict per layer: {"h": [B, T, H'], "c": ...} at every step (zero
    at masked steps) and {"h": [B, H'], ...} after each sequence's last real step (its first
    for backward units). H' = 2H when bidirectional, forward units first."""
    num_leaves = len(jax.tree.leaves(cell.initial_carry()))
    if num_leaves > len(STATE_NAMES):
        raise ValueError(f"{cell.name}: a carry with more than {len(STATE_NAMES)} leaves")
    names = STATE_NAMES[:num_leaves]
    finals, _, states = recurrent.run_layers(
        cell, layers, xs_BxTxD, mask_BxT, carry0, bidirectional=bidirectional, return_states=True
    )
    if bidirectional:
        finals = [jax.tree.map(lambda fw, bw: jnp.concatenate([fw, bw], -1), *c) for c in finals]
    steps = [dict(zip(names, jax.tree.leaves(layer), strict=True)) for layer in states]
    return steps, [dict(zip(names, jax.tree.leaves(c), strict=True)) for c in finals]


def _recorded_stack(model: nn.Module, params, inputs: tuple):
    """(module, layer params, xs_BxTxD, mask_BxT, carry0) of the model's top-level
    recurrent stack, as the model calls it on `inputs` (eval mode)."""
    seen = []

    def record(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        module = context.module
        if (
            isinstance(module, models.Recurrent)
            and context.method_name == "__call__"
            and len(module.scope.path) == 1
        ):
            seen.append((module, module.variables["params"]["layers"], args, kwargs))
        return out

    with nn.intercept_methods(record):
        model.apply({"params": params}, *inputs)
    if len(seen) != 1:
        raise ValueError(
            f"{type(model).__name__}: expected one top-level recurrent stack, found {len(seen)}"
        )
    module, layers, (xs_BxTxD, mask, *rest), kwargs = seen[0]
    return module, layers, xs_BxTxD, mask, rest[0] if rest else kwargs.get("carry0")


def _stack_layer_states(module, layers, xs_BxTxD, mask_BxT, carry0):
    cell = cells.make(module.cell, module.hidden_size)
    return layer_states(cell, layers, xs_BxTxD, mask_BxT, carry0,
                        bidirectional=module.bidirectional)  # fmt: skip


@functools.partial(jax.jit, static_argnums=0)
def model_states(model: nn.Module, params, tokens_BxT, mask_BxT, *extra):
    """`layer_states` of the model's top-level recurrent stack, on the model's own inputs
    (`extra`: those after the mask, e.g. a tagger's or parser's chars_BxTxW)."""
    return _stack_layer_states(*_recorded_stack(model, params, (tokens_BxT, mask_BxT, *extra)))


@functools.partial(jax.jit, static_argnums=0)
def stack_states(model: nn.Module, params, tokens_BxT, mask_BxT, *extra):
    """(xs_BxTxD, steps): what the recurrent stack reads (the word representations:
    embeddings, with a char encoder's vectors beside them) and `layer_states` steps."""
    module, layers, xs_BxTxD, mask, carry0 = _recorded_stack(
        model, params, (tokens_BxT, mask_BxT, *extra)
    )
    return xs_BxTxD, _stack_layer_states(module, layers, xs_BxTxD, mask, carry0)[0]


def encode_text(text: str, run: runs.Run) -> tuple[list[str], np.ndarray, int]:
    """(tokens, ids, offset): characters for a char LM, whitespace words otherwise. A
    sentence LM reads `<s>` first, as in training: ids[offset:] are the tokens' ids."""
    if run.task not in ("chars", "lm", "classification"):
        raise ValueError(
            f"activations of a {run.task} model are not supported (LMs and classifiers)"
        )
    tokens = list(text) if run.task == "chars" else text.split()
    if not tokens:
        raise ValueError("the text is empty")
    sentence_lm = run.task == "lm" and run.config.lm_mode == "sentences"
    ids = run.vocabs["words"].encode([BOS, *tokens] if sentence_lm else tokens)
    return tokens, ids, int(sentence_lm)


def text_states(run: runs.Run, text: str):
    """(tokens, steps): per layer {"h": [T, H'], "c": ...} as numpy, one row per token."""
    tokens, ids, offset = encode_text(text, run)
    steps, _ = model_states(run.model, run.params, ids[None], np.ones((1, len(ids)), bool))
    return tokens, [{n: np.asarray(a[0, offset:]) for n, a in layer.items()} for layer in steps]


def sentence_vectors(
    run: runs.Run, texts, *, pooling: str = "final", batch_size: int = 64,
    max_tokens: int = 1 << 17,
) -> np.ndarray:  # fmt: skip
    """[N, U] one vector per text, units in `stack_units` order: the states after the last
    token ("final") or their mean over the tokens ("mean").

    A batch holds at most `max_tokens` padded steps (long documents in fewer rows): every
    unit at every step is materialised, so 64 rows of a 13k-character review would need
    ~15 GB for a 1x512 LSTM."""
    if pooling not in ("final", "mean"):
        raise ValueError(f"pooling must be 'final' or 'mean', got {pooling!r}")
    if not texts:
        raise ValueError("no texts to encode")
    encoded = [encode_text(t, run) for t in texts]
    ids_N, offset = [ids for _, ids, _ in encoded], encoded[0][2]

    def vectors(tokens_BxT, mask_BxT):
        steps, finals = model_states(run.model, run.params, tokens_BxT, mask_BxT)
        if pooling == "final":
            return stack_units(finals)
        real_BxT = mask_BxT.copy()
        real_BxT[:, :offset] = False  # not the `<s>` a sentence LM reads first
        summed = np.einsum("bt,btu->bu", real_BxT, stack_units(steps))
        return summed / np.maximum(real_BxT.sum(1, keepdims=True), 1)

    return batching.map_by_length(
        vectors, ids_N, rows=batch_size, pad_multiple=32, max_tokens=max_tokens
    )


# --------------------------------------------------------------------------- units


def stack_units(layers) -> np.ndarray:
    """Every layer's states side by side: [..., U], in `unit_names` order."""
    return np.concatenate([np.asarray(a) for layer in layers for a in layer.values()], axis=-1)


def unit_names(layers) -> list[str]:
    return [
        f"{i}:{state}:{j}"
        for i, layer in enumerate(layers, 1)
        for state, a in layer.items()
        for j in range(a.shape[-1])
    ]


def unit_index(name: str, names: list[str]) -> int:
    """Position of a unit named "layer:state:index", with an error that says what exists."""
    try:
        return names.index(name)
    except ValueError:
        layers = sorted({n.split(":")[0] for n in names}, key=int)
        states = sorted({n.split(":")[1] for n in names})
        per = sum(n.startswith("1:h:") for n in names)
        raise ValueError(
            f"no unit {name!r}: expected 'layer:state:index' with layer in {layers}, "
            f"state in {states}, index in 0..{per - 1}"
        ) from None


def shown_values(acts_T: np.ndarray, name: str) -> np.ndarray:
    """A unit's values in the tanh range for colouring (cell states through tanh)."""
    return np.tanh(acts_T) if name.split(":")[1] == "c" else acts_T


# --------------------------------------------------------------------------- features


def char_features(text: str) -> dict[str, np.ndarray]:
    """Built-in per-character features, each describing the context *after* reading
    character t (what h_t can know): quotes and parentheses count the char that opens them."""
    chars = np.array(list(text))
    T = len(chars)
    depth, inside_parens = 0, np.zeros(T)
    for t, ch in enumerate(text):
        depth = max(0, depth + (ch == "(") - (ch == ")"))  # a stray ")" cannot go below 0
        inside_parens[t] = depth > 0
    newline = chars == "\n"
    t_T = np.arange(T)
    last_newline = np.maximum.accumulate(np.where(newline, t_T, -1))
    alnum = np.array([ch.isalnum() for ch in text])
    return {
        "inside_quotes": (np.cumsum(chars == '"') % 2 == 1).astype(float),
        "inside_parentheses": inside_parens,
        "position_in_line": (t_T - last_newline).astype(float),  # 0 at the newline itself
        "beginning_of_word": (alnum & ~np.concatenate([[False], alnum[:-1]])).astype(float),
        "after_newline": newline.astype(float),
    }


def check_features(features: dict, length: int) -> dict[str, np.ndarray]:
    """Features as float arrays of one value per token; a clear error otherwise."""
    out = {}
    for name, values in features.items():
        values = np.asarray(values, dtype=float)
        if values.shape != (length,):
            raise ValueError(
                f"feature {name!r} has shape {values.shape}; expected ({length},): one value "
                "per token of the text"
            )
        out[name] = values
    return out


def correlations(acts_TxU: np.ndarray, feature_T: np.ndarray) -> np.ndarray:
    """Pearson r of every unit with the feature over time; 0 for a constant unit."""
    a_TxU = acts_TxU - acts_TxU.mean(0)
    f_T = feature_T - feature_T.mean()
    denom_U = np.sqrt((a_TxU**2).sum(0) * (f_T**2).sum())
    safe_U = np.where(denom_U > 0, denom_U, 1.0)
    return np.where(denom_U > 0, f_T @ a_TxU / safe_U, 0.0)


def top_units(acts_TxU, features: dict[str, np.ndarray], names: list[str], k: int = 5):
    """{feature: [(unit name, r), ...]}: the k units with the largest |r|, best first.
    A constant feature has no correlation: it is left out (the caller can report it)."""
    out = {}
    for feature, values in features.items():
        if np.ptp(values) == 0:
            continue
        r_U = correlations(acts_TxU, values)
        best = np.argsort(-np.abs(r_U), kind="stable")[:k]
        out[feature] = [(names[u], float(r_U[u])) for u in best]
    return out


# --------------------------------------------------------------------------- probes


def standardize(X_train_NxU, X_dev_MxU) -> tuple[np.ndarray, np.ndarray]:
    """Both splits scaled by the TRAIN mean and std of each unit (a constant unit: by 1),
    so that one L2 penalty means the same for every unit."""
    mean_U, std_U = X_train_NxU.mean(0), X_train_NxU.std(0)
    std_U = np.where(std_U > 0, std_U, 1.0)
    return (X_train_NxU - mean_U) / std_U, (X_dev_MxU - mean_U) / std_U


def _logistic_loss(X_PxNxK, w_PxK, y_N, l2: float) -> np.ndarray:
    z_PxN = np.einsum("pnk,pk->pn", X_PxNxK, w_PxK)
    return (np.logaddexp(0.0, z_PxN) - y_N * z_PxN).sum(-1) + 0.5 * l2 * (w_PxK**2).sum(-1)


def fit_logistic(X_PxNxK, y_N, l2: float = 1.0, steps: int = 50, tol: float = 1e-8):
    """[P, K] weights of P independent logistic regressions by Newton's method (float64,
    until no weight moves by `tol`). The L2 penalty l2·‖w‖²/2 on every weight keeps the
    Hessian positive definite; each step is halved until the loss does not rise, since
    plain Newton diverged on real, strongly correlated LSTM states with a small l2."""
    X = np.asarray(X_PxNxK, np.float64)
    P, _, K = X.shape
    w_PxK = np.zeros((P, K))
    loss_P = _logistic_loss(X, w_PxK, y_N, l2)
    for _ in range(steps):
        p_PxN = 0.5 + 0.5 * np.tanh(0.5 * np.einsum("pnk,pk->pn", X, w_PxK))  # σ, no overflow
        grad_PxK = np.einsum("pnk,pn->pk", X, p_PxN - y_N) + l2 * w_PxK
        hess_PxKxK = np.swapaxes(X * (p_PxN * (1 - p_PxN))[..., None], 1, 2) @ X
        step_PxK = np.linalg.solve(hess_PxKxK + l2 * np.eye(K), grad_PxK[..., None])[..., 0]
        for _ in range(30):
            new_w_PxK = w_PxK - step_PxK
            new_loss_P = _logistic_loss(X, new_w_PxK, y_N, l2)
            worse_P = new_loss_P > loss_P + 1e-12 * np.abs(loss_P)
            if not worse_P.any():
                break
            step_PxK = np.where(worse_P[:, None], step_PxK / 2, step_PxK)
        w_PxK, loss_P = new_w_PxK, new_loss_P
        if np.abs(step_PxK).max() < tol:
            break
    return w_PxK


def _accuracy(X_PxNxK, w_PxK, y_N) -> np.ndarray:
    return ((np.einsum("pnk,pk->pn", X_PxNxK, w_PxK) > 0) == y_N.astype(bool)).mean(-1)


def probe(X_train_NxU, y_train_N, X_dev_MxU, y_dev_M, *, top: int = 10, l2: float = 1.0):
    """Logistic probes on standardised features: one per unit (ranked by TRAIN accuracy,
    so dev stays held out) and one on all units together. Labels must be 0/1."""
    y_train, y_dev = np.asarray(y_train_N), np.asarray(y_dev_M)
    for split, y in (("train", y_train), ("dev", y_dev)):
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{split} labels must be 0/1 (use a binary view, e.g. sst:binary)")
    z_train, z_dev = standardize(X_train_NxU, X_dev_MxU)

    def single(z_NxU):  # [U, N, 2]: bias and one unit
        return np.stack([np.ones_like(z_NxU.T), z_NxU.T], axis=-1)

    def joint(z_NxU):  # [1, N, 1 + U]
        return np.concatenate([np.ones((len(z_NxU), 1)), z_NxU], axis=1)[None]

    w_Ux2 = fit_logistic(single(z_train), y_train, l2)
    train_U, dev_U = (
        _accuracy(single(z_train), w_Ux2, y_train),
        _accuracy(single(z_dev), w_Ux2, y_dev),
    )
    w_all = fit_logistic(joint(z_train), y_train, l2)
    best = np.argsort(-train_U, kind="stable")[:top]
    return {
        "single_units": [
            {
                "unit": int(u),
                "train_accuracy": float(train_U[u]),
                "dev_accuracy": float(dev_U[u]),
                "weight": float(w_Ux2[u, 1]),
            }
            for u in best
        ],
        "all_units": {
            "train_accuracy": float(_accuracy(joint(z_train), w_all, y_train)[0]),
            "dev_accuracy": float(_accuracy(joint(z_dev), w_all, y_dev)[0]),
        },
        "majority_dev_accuracy": float(max(y_dev.mean(), 1 - y_dev.mean())),
        "train_examples": len(y_train),
        "dev_examples": len(y_dev),
    }


def fit_softmax(X_NxK, y_N, num_classes: int, l2: float = 1.0, *, max_steps: int = 500,
                tol: float = 1e-6) -> jax.Array:  # fmt: skip
    """[K, C] weights of a multinomial logistic regression (the multi-class `fit_logistic`:
    summed cross-entropy + l2·‖W‖²/2 on every weight, a bias is a column of ones in X).
    Newton's K·C × K·C Hessian is too big for hundreds of units and dozens of classes, so
    L-BFGS (optax) runs under jit until the gradient per example is below `tol`. In the
    dtype of X: float32 for speed, float64 under `jax.enable_x64` for references."""
    X = jnp.asarray(X_NxK)
    return _fit_softmax(X, jnp.asarray(y_N), jnp.asarray(l2, X.dtype), num_classes,
                        max_steps, tol * len(y_N))  # fmt: skip


@functools.partial(jax.jit, static_argnums=(3, 4))
def _fit_softmax(X_NxK, y_N, l2, num_classes: int, max_steps: int, tol):
    def loss(W_KxC):
        logits_NxC = X_NxK @ W_KxC
        nll = optax.softmax_cross_entropy_with_integer_labels(logits_NxC, y_N).sum()
        return nll + 0.5 * l2 * jnp.sum(W_KxC**2)

    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(loss)

    def step(carry):
        W_KxC, state = carry
        value, grad = value_and_grad(W_KxC, state=state)
        updates, state = solver.update(grad, state, W_KxC, value=value, grad=grad, value_fn=loss)
        return optax.apply_updates(W_KxC, updates), state

    def going(carry):
        count = optax.tree_utils.tree_get(carry[1], "count")
        grad = optax.tree_utils.tree_get(carry[1], "grad")
        return (count == 0) | ((count < max_steps) & (jnp.linalg.norm(grad) >= tol))

    W0_KxC = jnp.zeros((X_NxK.shape[1], num_classes), X_NxK.dtype)
    return jax.lax.while_loop(going, step, (W0_KxC, solver.init(W0_KxC)))[0]


def softmax_probe(X_train_NxU, labels_train_N, X_dev_MxU, labels_dev_M, *, l2: float = 1.0,
                  max_steps: int = 500) -> dict:  # fmt: skip
    """A multi-class linear probe on standardised features (float32): labels are any
    values; a dev label never seen in training is always an error (as is a wrong one)."""
    labels_train, labels_dev = np.asarray(labels_train_N), np.asarray(labels_dev_M)
    if len(labels_train) != len(X_train_NxU) or len(labels_dev) != len(X_dev_MxU):
        raise ValueError(
            f"{len(X_train_NxU)}/{len(X_dev_MxU)} train/dev rows for "
            f"{len(labels_train)}/{len(labels_dev)} labels"
        )
    classes, y_train = np.unique(labels_train, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"a probe needs at least 2 classes in training, got {classes.tolist()}")
    known = np.isin(labels_dev, classes)
    y_dev = np.where(known, np.searchsorted(classes, labels_dev), -1)
    z_train, z_dev = (
        np.concatenate([np.ones((len(z), 1)), z], axis=1).astype(np.float32)
        for z in standardize(X_train_NxU, X_dev_MxU)
    )
    W_KxC = np.asarray(fit_softmax(z_train, y_train, len(classes), l2, max_steps=max_steps))
    majority = np.bincount(y_train).argmax()
    return {
        "train_accuracy": float(((z_train @ W_KxC).argmax(1) == y_train).mean()),
        "dev_accuracy": float(((z_dev @ W_KxC).argmax(1) == y_dev).mean()),
        "majority_dev_accuracy": float((y_dev == majority).mean()),
        "classes": len(classes),
        "unseen_dev_labels": int((~known).sum()),
        "train_examples": len(y_train),
        "dev_examples": len(y_dev),
    }


# --------------------------------------------------------------------------- pictures


def _shown(token: str) -> str:
    return "".join(SHOWN.get(ch, ch) for ch in token)


def _hex(rgba) -> str:
    return "#" + "".join(f"{round(255 * x):02x}" for x in rgba[:3])


def _ink(rgba) -> str:
    """Black text on light cells, white on dark ones."""
    return "#000" if 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.5 else "#fff"


def write_html(path, tokens: list[str], panels, *, title: str, chars: bool) -> None:
    """One block per unit: every token on a background coloured by the unit's value
    (panels: (heading, values in [−1, 1]) pairs). Text is escaped; newlines stay."""
    cmap = colormaps[CMAP]
    blocks = []
    for heading, values in panels:
        spans = []
        for token, v in zip(tokens, values, strict=True):
            rgba = cmap((float(v) + 1) / 2)
            spans.append(
                f'<span style="background:{_hex(rgba)};color:{_ink(rgba)}" title="{v:+.3f}">'
                f"{html.escape(_shown(token), quote=True)}</span>" + ("\n" if token == "\n" else "")
            )
        text = ("" if chars else " ").join(spans)
        blocks.append(f"<h2>{html.escape(heading)}</h2>\n<div class=t>{text}</div>")
    legend = "".join(
        f'<span style="background:{_hex(cmap((v + 1) / 2))}">{v:+.1f}</span>'
        for v in np.linspace(-1, 1, 9)
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:1em auto}}
h2{{font-size:1em;margin:1.2em 0 .3em}}
.t{{font-family:monospace;white-space:pre-wrap;line-height:1.5;border:1px solid #ccc;padding:.4em}}
.legend span{{font-family:monospace;padding:0 .5em}}</style></head><body>
<h1>{html.escape(title)}</h1><p class=legend>unit value (tanh range): {legend}</p>
{chr(10).join(blocks)}
</body></html>
"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)


def grid_layout(tokens: list[str], columns: int, chars: bool):
    """(row, col, width) of every token in a grid at most `columns` cells wide, and the
    grid's (rows, columns) as used. A character takes one cell and a newline ends its
    row; a word takes one cell per letter and a blank cell after it."""
    placed, row, col = [], 0, 0
    for token in tokens:
        width = 1 if chars else min(len(_shown(token)), columns)
        if col + width > columns:
            row, col = row + 1, 0
        placed.append((row, col, width))
        col += width + (0 if chars else 1)
        if chars and token == "\n":
            row, col = row + 1, 0
    return placed, (1 + max(r for r, _, _ in placed), max(c + w for _, c, w in placed))


def write_png(path, tokens, panels, *, title: str, chars: bool, columns: int = 80) -> None:
    """The HTML view as a picture: one grid of coloured cells per unit, and a colorbar."""
    layout, (rows, columns) = grid_layout(tokens, columns, chars)
    cell_w, cell_h, head = 0.078, 0.17, 0.42  # inches: a cell, and a panel's heading
    size = (max(columns * cell_w, 5.0) + 1.6, len(panels) * (rows * cell_h + head) + 0.8)
    fig = Figure(figsize=size, layout="constrained")  # room for headings and the colorbar
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (heading, values) in zip(axes, panels, strict=True):
        grid = np.full((rows, columns), np.nan)
        for (r, c, w), v in zip(layout, values, strict=True):
            grid[r, c : c + w] = v
        image = ax.imshow(grid, cmap=CMAP, vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
        for (r, c, w), token in zip(layout, tokens, strict=True):
            shown = _shown(token)[:w]
            if shown.strip():
                ink = _ink(colormaps[CMAP]((grid[r, c] + 1) / 2))
                ax.text(c + (w - 1) / 2, r, shown, ha="center", va="center", fontsize=7.5,
                        family="monospace", color=ink)  # fmt: skip
        ax.set_title(heading, loc="left", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    bar = fig.colorbar(
        image, ax=list(axes), fraction=0.02, pad=0.01, shrink=min(1.0, 4 / len(panels))
    )
    bar.set_label("unit value (tanh range)", fontsize=8)
    fig.savefig(path, dpi=130)
