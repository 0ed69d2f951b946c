"""A dependency tree as a picture: the words left to right, each arc a curve above them
from head to dependent (arrow at the dependent) labelled with its relation.

    fig = draw_tree(["The", "cat", "sat"], [2, 3, 0], ["det", "nsubj", "root"]).figure
    fig.savefig("tree.png")

Heads are 1-based, 0 = the root (as `Predictor.parse` and `read_conllu` give them). The
root word is bold under a vertical arrow labelled with its relation. Each word's slot is
as wide as its word or its relation, so labels between neighbours do not collide; an arc
is drawn one level above every shorter arc it overlaps, so nested arcs stack, arcs of one
level never overlap, and crossing (non-projective) arcs cross visibly, in red (an arc
over the root word crosses the root's arrow, as `parsing.is_projective` counts it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path

from rnnlab import parsing

CHAR_INCHES = 0.1  # the width of a character of the 10-point words, with some room
LEVEL_INCHES = 0.45  # the height of one level of arcs
BASE = 0.35  # where arcs start, above the words (in levels)


def arc_levels(heads: Sequence[int]) -> np.ndarray:
    """The level (1, 2, ...) of each word's arc: one above every shorter arc that overlaps
    its span (sharing an end is no overlap); the root's arc (head 0) gets level 0."""
    heads = np.asarray(heads)
    deps = np.arange(1, len(heads) + 1)
    lo, hi = np.minimum(heads, deps), np.maximum(heads, deps)
    levels = np.zeros(len(heads), int)
    for i in np.argsort(hi - lo, kind="stable"):  # the arcs not yet placed are at level 0
        if heads[i]:
            levels[i] = 1 + levels[(lo < hi[i]) & (lo[i] < hi)].max()
    return levels


def draw_tree(
    words: Sequence[str],
    heads: Sequence[int],
    deprels: Sequence[str],
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """The tree drawn on `ax`, or on a new Figure (`ax.figure`) as wide as the sentence
    needs: one arrow patch per word (`ax.patches`), its relation as a text label."""
    n = len(words)
    if not n == len(heads) == len(deprels):
        raise ValueError(f"{n} words, {len(heads)} heads and {len(deprels)} relations")
    if any(not 0 <= h <= n or h == d for d, h in enumerate(heads, 1)):
        raise ValueError(f"heads must be in 0..{n} and not the word itself, got {list(heads)}")
    slots = np.array([max(len(w), len(r)) + 2 for w, r in zip(words, deprels, strict=True)])
    x = np.cumsum(slots) - slots / 2  # the centre of each word, in characters
    levels = arc_levels(heads)
    top = max(levels.max(), 1) + 1  # the root's arrow starts above every arc
    if ax is None:
        width, height = slots.sum() * CHAR_INCHES + 0.4, (top + 1.2) * LEVEL_INCHES + 0.3
        ax = Figure(figsize=(max(width, 3.0), height), layout="constrained").add_subplot()
    # x: characters (a word's slot, its centre); y: levels of arcs, the words at 0.
    ax.set_xlim(0, slots.sum())
    ax.set_ylim(-0.8, top + 0.6)
    ax.set_axis_off()
    for d, (word, head) in enumerate(zip(words, heads, strict=True)):
        ax.text(x[d], 0, word, ha="center", va="center", fontsize=10,
                fontweight="bold" if head == 0 else "normal")  # fmt: skip
    spread = np.minimum(slots, 6) / 6  # where an arc leaves its head: off-centre, by side
    red = parsing.crossing_arcs(heads)
    for d, (head, rel, level) in enumerate(zip(heads, deprels, levels, strict=True)):
        end = (x[d], BASE)
        if head == 0:
            path = Path([(x[d], top), end])
            label_at = (x[d], top)
        else:
            h = head - 1
            start = (x[h] + np.sign(x[d] - x[h]) * spread[h], BASE)
            # A cubic Bezier peaks at 3/4 of the way up to its control points: at the level.
            rise = BASE + (level - BASE) / 0.75
            path = Path([start, (start[0], rise), (end[0], rise), end],
                        [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])  # fmt: skip
            label_at = ((start[0] + end[0]) / 2, level)
        color = "tab:red" if red[d] else "0.25"
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=9,
                                     color=color, linewidth=1.0, shrinkA=0, shrinkB=0))  # fmt: skip
        ax.text(*label_at, rel, ha="center", va="center", fontsize=8, color=color, zorder=3,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})  # fmt: skip
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return ax
