"""Entity-level evaluation of a tagger: spans from IOB tags and CoNLL precision/recall/F1.

Token accuracy flatters an NER tagger (about 80% of WikiNER tokens are "O"); the CoNLL
metric counts an entity as found only when its type and both boundaries are right.
Both IOB1 (WikiNER, CoNLL-2003: B- only between adjacent entities of one type) and IOB2
(every entity starts with B-) are read with conlleval's rules.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rnnlab.data.vocab import PAD, Vocab

Span = tuple[str, int, int]  # (type, start, end) with end exclusive


def is_iob(tags: Sequence[str]) -> bool:
    """Whether a tag set is an IOB chunk tag set ("O", "B-X", "I-X"), e.g. not UPOS."""
    return any(t != "O" for t in tags) and all(
        t == "O" or (t[:2] in ("B-", "I-") and len(t) > 2) for t in tags
    )


def spans(tags: Sequence[str]) -> list[Span]:
    """The entities of one sentence: a chunk starts at B-X, or at I-X after O or after
    another type; it ends where the next one starts or at O (conlleval)."""
    out: list[Span] = []
    start, kind = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, new = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or not new):
            raise ValueError(f"tag {i} of {list(tags)}: {tag!r} is not O, B-<type> or I-<type>")
        if start is not None and (tag == "O" or prefix == "B" or new != kind):
            out.append((kind, start, i))
            start, kind = None, None
        if tag != "O" and start is None:
            start, kind = i, new
    return out


def entity_scores(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """Micro precision/recall/F1 over exact-match entities, overall and per type."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    found, correct, total = Counter(), Counter(), Counter()
    for n, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {n}: {len(g)} gold tags but {len(p)} predicted")
        gs, ps = set(spans(g)), set(spans(p))
        total.update(s[0] for s in gs)
        found.update(s[0] for s in ps)
        correct.update(s[0] for s in gs & ps)

    def prf(c: int, f: int, t: int) -> dict[str, float]:
        precision, recall = c / max(f, 1), c / max(t, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-12)
        return {"precision": precision, "recall": recall, "f1": f1, "support": t}

    out = prf(sum(correct.values()), sum(found.values()), sum(total.values()))
    out["per_type"] = {k: prf(correct[k], found[k], total[k]) for k in sorted(total | found)}
    return out


@functools.partial(jax.jit, static_argnums=(0, 3))
def predict_ids(model, params, batch, pad_id: int):
    """Tag ids [B, T] of a batch: the argmax over tags other than padding."""
    logits_BxTxK = model.apply(
        {"params": params}, batch["tokens_BxT"], batch["mask_BxT"], batch.get("chars_BxTxW")
    )
    # The padding tag is never a prediction (an untrained model may well prefer it).
    return jnp.argmax(logits_BxTxK.at[..., pad_id].set(-jnp.inf), axis=-1)


def predict_tags(model, params, batches, tags: Vocab) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) tag strings of every real sentence of `batches` (tagging batches)."""
    gold, pred = [], []
    for batch in batches:
        pred_BxT = np.asarray(predict_ids(model, params, batch, tags.id(PAD)))
        for row_T, gold_T, mask_T in zip(
            pred_BxT, batch["tags_BxT"], batch["mask_BxT"], strict=True
        ):
            real = np.flatnonzero(mask_T)
            if real.size:
                gold.append(tags.decode(gold_T[real]))
                pred.append(tags.decode(row_T[real]))
    return gold, pred
