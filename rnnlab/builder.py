"""The lecture's incremental API (DyNet's RNN builders) over the same pure cells.

    s = Builder(cell, params).initial_state()
    s = s.add_input(x_D)        # a NEW state; the old one is unchanged
    h_H = s.output()

States are immutable, so a state can be branched (e.g. to score two continuations of the
same prefix). This is for teaching, notebooks and step-by-step decoding by hand; batched
training uses `rnnlab.recurrent.run`, which computes the same numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp

from rnnlab.cells import Cell, Params, carry_output


@dataclasses.dataclass(frozen=True)
class Builder:
    cell: Cell
    params: Params
    step: Any = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Compiled once per builder; every add_input reuses it.
        object.__setattr__(self, "step", jax.jit(self.cell.step))

    def initial_state(self, carry0: Any = None, dtype=jnp.float32) -> State:
        """The state before any input (`carry0`: ONE example's carry; default zeros)."""
        carry = self.cell.initial_carry(dtype) if carry0 is None else carry0
        return State(self, carry, carry_output(carry))


@dataclasses.dataclass(frozen=True)
class State:
    builder: Builder
    carry: Any
    h_H: jax.Array

    def add_input(self, x_D: jax.Array) -> State:
        carry, h_H = self.builder.step(self.builder.params, self.carry, jnp.asarray(x_D))
        return State(self.builder, carry, h_H)

    def add_inputs(self, xs: Iterable[jax.Array]) -> list[State]:
        """The states after each input in turn (DyNet's `add_inputs`)."""
        states, s = [], self
        for x_D in xs:
            s = s.add_input(x_D)
            states.append(s)
        return states

    def transduce(self, xs: Iterable[jax.Array]) -> list[jax.Array]:
        """The outputs after each input in turn."""
        return [s.output() for s in self.add_inputs(xs)]

    def output(self) -> jax.Array:
        """h_H after the last input (before any input: the initial carry's h)."""
        return self.h_H
