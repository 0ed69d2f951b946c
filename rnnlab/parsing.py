"""Dependency trees on the host (numpy): decoders for arc scores, and attachment scores.

Scores are `scores_NxN[d, h]`: how good head h is for dependent d, over positions
0..n where 0 is the root (N = n + 1); row 0 is ignored. Every decoder returns the
heads of words 1..n (`heads_n`, ints in 0..n, as in the data's "heads"):

    greedy(scores)       each word's best head: fast, but not always a tree
    mst(scores)          the best tree with exactly one word under the root
                         (Chu-Liu/Edmonds; non-projective, as UD allows)
    eisner(scores)       the best projective tree with one word under the root (Eisner 1996)

All three are tested against brute force over every tree of short sentences
(tests/test_parsing.py). Scores of -inf (or <= FORBIDDEN, e.g. the float32 minimum a
model masks with) forbid an arc; both tree decoders need at least one allowed tree.

Attachment scores follow the CoNLL 2018 UD evaluation: every word counts (punctuation
included); UAS = right head, LAS = right head and right relation (full relations,
subtypes included, unless the data set's `universal` view stripped them).
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence

import numpy as np

FORBIDDEN = -1e30  # scores at or below this forbid an arc, as -inf does (float32 masks)
DISTANCE_BINS = ("root", "1", "2", "3", "4", "5", "6", "7-9", "10+")


# ---------------------------------------------------------------------------- trees


def is_tree(heads_n: Sequence[int], single_root: bool = True) -> bool:
    """Whether heads of words 1..n (0 = root) form a tree (with one root child)."""
    heads = np.asarray(heads_n)
    n = len(heads)
    if n == 0 or heads.min() < 0 or heads.max() > n or np.any(heads == np.arange(1, n + 1)):
        return False
    if single_root and np.sum(heads == 0) != 1:
        return False
    up = np.concatenate([[0], heads])
    reach = up.copy()
    for _ in range(int(np.ceil(np.log2(n + 1))) + 1):  # pointer jumping: 2^k steps up
        reach = reach[reach]
    return bool(np.all(reach == 0))


def is_projective(heads_n: Sequence[int]) -> bool:
    """No two arcs cross (the root at position 0, left of every word)."""
    return not crossing_arcs(heads_n).any()


def crossing_arcs(heads_n: Sequence[int]) -> np.ndarray:
    """[n] bool: whether the arc into each word crosses another (the root at position 0)."""
    heads = np.asarray(heads_n)
    deps = np.arange(1, len(heads) + 1)
    lo, hi = np.minimum(heads, deps), np.maximum(heads, deps)
    a_lo, a_hi, b_lo, b_hi = lo[:, None], hi[:, None], lo[None, :], hi[None, :]
    crosses = (a_lo < b_lo) & (b_lo < a_hi) & (a_hi < b_hi)
    return crosses.any(1) | crosses.any(0)


def tree_score(scores_NxN: np.ndarray, heads_n: Sequence[int]) -> float:
    heads = np.asarray(heads_n)
    return float(scores_NxN[np.arange(1, len(heads) + 1), heads].sum())


# ---------------------------------------------------------------------------- decoders


def _checked(scores_NxN) -> np.ndarray:
    scores = np.asarray(scores_NxN, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores must be [n+1, n+1] with n >= 1 words, got {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("scores contain nan")
    return scores


def greedy(scores_NxN) -> np.ndarray:
    """Each word's highest-scoring head other than itself (may not be a tree)."""
    scores = _checked(scores_NxN).copy()
    np.fill_diagonal(scores, -np.inf)
    return scores[1:].argmax(-1)


def mst(scores_NxN) -> np.ndarray:
    """The maximum spanning tree in which exactly one word hangs from the root.

    Chu-Liu/Edmonds on scores where every root arc is lowered by a constant larger than
    any difference in tree scores (Gabow & Tarjan 1984; Zmigrod et al. 2020): a tree
    with one root arc then beats every tree with two, and among one-root trees the
    order is unchanged.
    """
    scores = _checked(scores_NxN).copy()
    n = scores.shape[0] - 1
    scores[scores <= FORBIDDEN] = -np.inf  # a mask value: it must not set the penalty's scale
    np.fill_diagonal(scores, -np.inf)
    arcs = scores[1:][np.isfinite(scores[1:])]
    if arcs.size:
        scores[1:, 0] -= (n + 1) * (arcs.max() - arcs.min()) + 1.0
    return _chu_liu_edmonds(scores)[1:]


def _chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """Heads of positions 0..n (heads[0] = 0) of the maximum arborescence rooted at 0."""
    scores = scores.copy()
    np.fill_diagonal(scores, -np.inf)
    scores[0] = -np.inf
    scores[0, 0] = 0.0
    heads = scores.argmax(-1)
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(len(heads), bool)
    in_cycle[cycle] = True
    cyc, rest = np.flatnonzero(in_cycle), np.flatnonzero(~in_cycle)  # rest[0] == 0
    cycle_arcs = scores[cyc, heads[cyc]]
    # Entering the cycle at word c from head h breaks c's cycle arc.
    enter = scores[np.ix_(cyc, rest)] - cycle_arcs[:, None]  # [C, R]
    enter_at = enter.argmax(0)
    leave_from = scores[np.ix_(rest, cyc)].argmax(1)  # best cycle head of each outside word
    m = len(rest)
    contracted = np.full((m + 1, m + 1), -np.inf)
    contracted[:m, :m] = scores[np.ix_(rest, rest)]
    contracted[m, :m] = enter.max(0)
    contracted[:m, m] = scores[np.ix_(rest, cyc)].max(1)
    sub = _chu_liu_edmonds(contracted)
    out = heads.copy()
    for k, d in enumerate(rest[1:], start=1):
        h = sub[k]
        out[d] = cyc[leave_from[k]] if h == m else rest[h]
    h = sub[m]
    out[cyc[enter_at[h]]] = rest[h]
    return out


def _find_cycle(heads: np.ndarray) -> np.ndarray | None:
    """The positions of one cycle of `heads` (positions 1..n; 0 is the root), or None."""
    state = np.zeros(len(heads), np.int8)  # 0 unseen, 1 on the current path, 2 done
    state[0] = 2
    for start in range(1, len(heads)):
        path, w = [], start
        while state[w] == 0:
            state[w] = 1
            path.append(w)
            w = heads[w]
        if state[w] == 1:
            return np.array(path[path.index(w) :])
        state[path] = 2
    return None


def eisner(scores_NxN) -> np.ndarray:
    """The best projective tree with exactly one word under the root (Eisner 1996).

    The charts span words 1..n only; the root's single child r is chosen at the end,
    with its left and right complete spans: max_r s[r, 0] + C_left[1, r] + C_right[r, n].
    """
    scores = _checked(scores_NxN)
    n = scores.shape[0] - 1
    neg = -np.inf
    # complete / incomplete spans [s, t] (positions 1..n); dir 0: head t, dir 1: head s.
    C = np.full((n + 2, n + 2, 2), neg)
    I = np.full((n + 2, n + 2, 2), neg)  # noqa: E741
    Cb = np.zeros((n + 2, n + 2, 2), np.int64)
    Ib = np.zeros((n + 2, n + 2), np.int64)
    for s in range(1, n + 1):
        C[s, s] = 0.0
    for width in range(1, n):
        for s in range(1, n - width + 1):
            t = s + width
            r = np.arange(s, t)
            joined = C[s, r, 1] + C[r + 1, t, 0]  # s's right part + t's left part
            best = int(joined.argmax())
            Ib[s, t] = s + best
            I[s, t, 0] = joined[best] + scores[s, t]  # head t, dependent s
            I[s, t, 1] = joined[best] + scores[t, s]  # head s, dependent t
            left = C[s, r, 0] + I[r, t, 0]  # head t: [s, r] complete + [r, t] incomplete
            Cb[s, t, 0] = s + int(left.argmax())
            C[s, t, 0] = left.max()
            r1 = np.arange(s + 1, t + 1)
            right = I[s, r1, 1] + C[r1, t, 1]
            Cb[s, t, 1] = s + 1 + int(right.argmax())
            C[s, t, 1] = right.max()
    words = np.arange(1, n + 1)
    total = scores[words, 0] + C[1, words, 0] + C[words, n, 1]
    root_child = 1 + int(total.argmax())
    heads = np.zeros(n + 1, np.int64)
    heads[root_child] = 0

    def complete(s, t, d):
        if s == t:
            return
        r = Cb[s, t, d]
        if d == 0:
            complete(s, r, 0)
            incomplete(r, t, 0)
        else:
            incomplete(s, r, 1)
            complete(r, t, 1)

    def incomplete(s, t, d):
        r = Ib[s, t]
        if d == 0:
            heads[s] = t
        else:
            heads[t] = s
        complete(s, r, 1)
        complete(r + 1, t, 0)

    complete(1, root_child, 0)
    complete(root_child, n, 1)
    return heads[1:]


DECODERS = {"greedy": greedy, "mst": mst, "eisner": eisner}


# ---------------------------------------------------------------------------- scores


def distance_bin(head: int, dep: int) -> str:
    if head == 0:
        return "root"
    d = abs(head - dep)
    return str(d) if d <= 6 else ("7-9" if d <= 9 else "10+")


def attachment_scores(
    gold: Iterable[tuple[Sequence[int], Sequence[str]]],
    predicted: Iterable[tuple[Sequence[int], Sequence[str]]],
) -> dict:
    """UAS, LAS (every word, punctuation included: CoNLL 2018), per gold relation
    (count, UAS, LAS, and precision/recall/F1 of the label on right-headed words as in
    LAS), by gold head distance, and how many predicted sentences are not trees (a
    cycle) or have not exactly one word under the root."""
    words = uas = las = sentences = not_trees = not_one_root = 0
    by_rel = collections.defaultdict(lambda: [0, 0, 0])  # gold count, uas, las
    predicted_rel = collections.Counter()
    by_dist = collections.defaultdict(lambda: [0, 0, 0])
    for (g_heads, g_rels), (p_heads, p_rels) in zip(gold, predicted, strict=True):
        if len(g_heads) != len(p_heads):
            raise ValueError(f"a predicted sentence has {len(p_heads)} heads for {len(g_heads)}")
        sentences += 1
        not_trees += not is_tree(p_heads, single_root=False)
        not_one_root += sum(int(h) == 0 for h in p_heads) != 1
        for i, (gh, gr, ph, pr) in enumerate(zip(g_heads, g_rels, p_heads, p_rels, strict=True)):
            u = int(gh) == int(ph)
            lab = u and gr == pr
            words, uas, las = words + 1, uas + u, las + lab
            for table, key in ((by_rel, gr), (by_dist, distance_bin(int(gh), i + 1))):
                table[key][0] += 1
                table[key][1] += u
                table[key][2] += lab
            predicted_rel[pr] += 1
    relations = {}
    for rel, (count, u, lab) in sorted(by_rel.items(), key=lambda kv: -kv[1][0]):
        precision = lab / predicted_rel[rel] if predicted_rel[rel] else 0.0
        recall = lab / count
        f1 = 2 * precision * recall / (precision + recall) if lab else 0.0
        relations[rel] = {"count": count, "uas": u / count, "las": recall,
                          "precision": precision, "f1": f1}  # fmt: skip
    distance = {
        b: {"count": by_dist[b][0], "uas": by_dist[b][1] / by_dist[b][0],
            "las": by_dist[b][2] / by_dist[b][0]}
        for b in DISTANCE_BINS if by_dist[b][0]
    }  # fmt: skip
    return {
        "uas": uas / max(words, 1),
        "las": las / max(words, 1),
        "words": words,
        "sentences": sentences,
        "not_trees": not_trees,
        "not_one_root": not_one_root,
        "relations": relations,
        "distance": distance,
    }
