"""One LSTM-LM training step (embedding → L-layer LSTM → softmax cross-entropy → backward
→ Adam) in each implementation, on the same shapes, data and precision.

Each builder returns a `Runner`: `compile()` does the one-off work (JAX: trace + XLA
compile; PyTorch: the first, warm-up step) and returns its seconds; `step()` runs one
training step and waits for it to finish, so wall-clock timing around it is honest.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Shape(NamedTuple):
    V: int
    E: int
    H: int
    L: int
    B: int
    T: int

    def train_flops_per_token(self) -> int:
        """3 × forward: 2·4H·(D_l + H) per LSTM layer (D_0 = E, else H) plus 2·H·V."""
        D = [self.E] + [self.H] * (self.L - 1)
        forward = sum(2 * 4 * self.H * (d + self.H) for d in D) + 2 * self.H * self.V
        return 3 * forward


@dataclasses.dataclass
class Runner:
    name: str
    compile: Callable[[], float]
    step: Callable[[], None]
    matmul_precision: str
    memory_analysis: Callable[[], Any] | None = None  # JAX: XLA's, after compile()


def tokens(shape: Shape, seed: int = 0) -> np.ndarray:
    """[B, T + 1] random token ids: inputs are [:, :-1], next-token targets [:, 1:]."""
    return np.random.default_rng(seed).integers(0, shape.V, (shape.B, shape.T + 1), np.int32)


# --------------------------------------------------------------------------- JAX (shared)


def _jax_runner(name, loss_fn, params, tokens_np, precision, matmul_precision) -> Runner:
    """Jit `loss_fn` + Adam with donated state; compile ahead of time, timed separately."""
    import jax
    import optax

    opt = optax.adam(1e-3)
    state = {"params": params, "opt": opt.init(params)}
    tokens_BxT1 = jax.device_put(tokens_np)

    def train_step(params, opt_state, tokens_BxT1):
        loss, grads = jax.value_and_grad(loss_fn)(params, tokens_BxT1)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    compiled = {}

    def compile_() -> float:
        start = time.perf_counter()
        with jax.default_matmul_precision(matmul_precision):
            lowered = jax.jit(train_step, donate_argnums=(0, 1)).lower(
                state["params"], state["opt"], tokens_BxT1
            )
            compiled["step"] = lowered.compile()
        return time.perf_counter() - start

    def step() -> None:
        state["params"], state["opt"], loss = compiled["step"](
            state["params"], state["opt"], tokens_BxT1
        )
        loss.block_until_ready()

    return Runner(
        name,
        compile_,
        step,
        f"jax_default_matmul_precision={matmul_precision}",
        lambda: compiled["step"].memory_analysis(),
    )


def _lm_loss(logits_BxTxV, tokens_BxT1):
    import jax.numpy as jnp
    import optax

    return jnp.mean(
        optax.softmax_cross_entropy_with_integer_labels(
            logits_BxTxV.astype(jnp.float32), tokens_BxT1[:, 1:]
        )
    )


def _jax_precision(precision: str):
    """(compute dtype or None, jax_default_matmul_precision) for 'fp32' / 'bf16'."""
    import jax.numpy as jnp

    if precision == "fp32":
        return None, "highest"  # full fp32 matmuls (TF32 off on GPU)
    if precision == "bf16":
        return jnp.bfloat16, "default"
    raise ValueError(f"unknown precision {precision!r}; expected 'fp32' or 'bf16'")


# --------------------------------------------------------------------------- rnnlab


def rnnlab(
    shape: Shape, tokens_np, precision: str, name: str, generic: bool = False, **run_kwargs
) -> Runner:
    """rnnlab: `recurrent.run_layers` with `run_kwargs` (the levers) on fp32 parameters.
    `generic`: the LSTM without `activate`, i.e. plain autodiff of the scan."""
    import dataclasses

    import jax
    import jax.numpy as jnp

    from rnnlab import cells, recurrent

    compute_dtype, matmul_precision = _jax_precision(precision)
    if compute_dtype is not None:
        run_kwargs["compute_dtype"] = compute_dtype
    V, E, H, L = shape.V, shape.E, shape.H, shape.L
    cell = cells.lstm(H)
    if generic:
        cell = dataclasses.replace(cell, activate=None)
    k_embed, k_layers, k_out = jax.random.split(jax.random.key(0), 3)
    params = {
        "embed_VxE": 0.1 * jax.random.normal(k_embed, (V, E)),
        "layers": recurrent.init_layers(cell, k_layers, E, L),
        "out_HxV": jax.nn.initializers.glorot_uniform()(k_out, (H, V)),
        "out_V": jnp.zeros((V,)),
    }

    def loss_fn(params, tokens_BxT1):
        xs_BxTxE = params["embed_VxE"][tokens_BxT1[:, :-1]]
        _, hs_BxTxH = recurrent.run_layers(cell, params["layers"], xs_BxTxE, None, **run_kwargs)
        out_HxV = params["out_HxV"].astype(compute_dtype or params["out_HxV"].dtype)
        logits_BxTxV = cells.matmul(hs_BxTxH, out_HxV) + params["out_V"]
        return _lm_loss(logits_BxTxV, tokens_BxT1)

    return _jax_runner(name, loss_fn, params, tokens_np, precision, matmul_precision)


# --------------------------------------------------------------------------- flax.linen


def flax_rnn(shape: Shape, tokens_np, precision: str, name: str = "flax") -> Runner:
    """`flax.linen.RNN(OptimizedLSTMCell)` stacked L times, the Flax-native baseline."""
    import flax.linen as nn
    import jax

    compute_dtype, matmul_precision = _jax_precision(precision)

    class FlaxLM(nn.Module):
        @nn.compact
        def __call__(self, tokens_BxT):
            hs = nn.Embed(shape.V, shape.E)(tokens_BxT)
            for _ in range(shape.L):
                hs = nn.RNN(nn.OptimizedLSTMCell(shape.H, dtype=compute_dtype))(hs)
            return nn.Dense(shape.V, dtype=compute_dtype)(hs)

    model = FlaxLM()
    params = model.init(jax.random.key(0), tokens_np[:, :-1])

    def loss_fn(params, tokens_BxT1):
        return _lm_loss(model.apply(params, tokens_BxT1[:, :-1]), tokens_BxT1)

    return _jax_runner(name, loss_fn, params, tokens_np, precision, matmul_precision)


# --------------------------------------------------------------------------- PyTorch


def torch_lstm(shape: Shape, tokens_np, precision: str, name: str = "torch") -> Runner:
    """`torch.nn.LSTM`: cuDNN on a CUDA GPU, ATen/oneDNN on CPU (threads = cores)."""
    import os

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count())
    # Compare like with like: fp32 means full fp32 matmuls (TF32 off), as JAX "highest".
    tf32 = precision != "fp32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)

    class TorchLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(shape.V, shape.E)
            self.lstm = torch.nn.LSTM(shape.E, shape.H, shape.L, batch_first=True)
            self.out = torch.nn.Linear(shape.H, shape.V)

        def forward(self, tokens_BxT):
            hs, _ = self.lstm(self.embed(tokens_BxT))
            return self.out(hs)

    model = TorchLM().to(device)
    try:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    except (RuntimeError, ValueError):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens_BxT1 = torch.as_tensor(tokens_np, dtype=torch.long, device=device)
    inputs_BxT, targets_BxT = tokens_BxT1[:, :-1].contiguous(), tokens_BxT1[:, 1:].contiguous()
    autocast = functools.partial(
        torch.autocast, device, dtype=torch.bfloat16, enabled=precision == "bf16"
    )

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with autocast():
            logits = model(inputs_BxT)
        loss = torch.nn.functional.cross_entropy(
            logits.float().reshape(-1, shape.V), targets_BxT.reshape(-1)
        )
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        else:
            loss.item()

    def compile_() -> float:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start

    mode = "bf16 autocast" if precision == "bf16" else f"fp32, TF32 {'on' if tf32 else 'off'}"
    return Runner(name, compile_, step, f"torch {mode} on {device}")
