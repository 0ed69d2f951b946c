"""Embedded default corpus: English-like sentences with long-distance dependencies.

A small seeded grammar (about 130 words, no files, no download) whose sentences put a
controllable number of words between a head noun and the word that must agree with it:

    the keys [to the old cabinet] [that the girl holds] are red .      (number agreement)
    the king [near the queens] sees himself .                          (reflexive gender)

The intervening material (prepositional phrases, object relative clauses, pronoun
PPs) is full of *attractor* nouns whose number/gender is drawn independently of the
head (in training) or is always the opposite one (in `minimal_pairs`), so only a model
that carries the head's features across the gap gets agreement right.

Every sentence dict: tokens, tags (PTB POS), label (head number: 0 singular, 1 plural),
distance (words between the head noun and the main verb), kind ("agreement" or
"reflexive"), verb_index (the main verb's position). `examples(task, split)` gives the
LM / classification / tagging views. Same seed -> the same sentences, byte for byte
(`random.Random` seeded by a string).

`treebank(n, rng)`: a second, tiny grammar ('the old dog sees a cat near the box .') with
each sentence's dependency tree, for parsing and probing without the EWT files.
"""

from __future__ import annotations

import random

SPLIT_SIZES = {"train": 20000, "dev": 2000, "test": 2000}
MAX_DISTANCE = 8
# Intervening-unit sizes; there is no 1-word unit, so distance 1 does not occur.
DISTANCES = (0, *range(2, MAX_DISTANCE + 1))

ADJECTIVES = ["old", "new", "small", "big", "red", "green", "happy", "quiet", "young", "dark"]
# singular, plural, gender ("m", "f" or None)
NOUNS_ANIMATE = [
    ("man", "men", "m"), ("boy", "boys", "m"), ("king", "kings", "m"),
    ("father", "fathers", "m"), ("brother", "brothers", "m"), ("uncle", "uncles", "m"),
    ("woman", "women", "f"), ("girl", "girls", "f"), ("queen", "queens", "f"),
    ("mother", "mothers", "f"), ("sister", "sisters", "f"), ("aunt", "aunts", "f"),
    ("teacher", "teachers", None), ("doctor", "doctors", None), ("dog", "dogs", None),
    ("cat", "cats", None), ("farmer", "farmers", None), ("pilot", "pilots", None),
]  # fmt: skip
_THINGS = "key cabinet table book door box picture car house letter garden window chair"
NOUNS_THING = [(w, w + ("es" if w.endswith("x") else "s"), None) for w in _THINGS.split(" ")]
PREPOSITIONS = ["to", "near", "behind", "on", "under", "with", "of", "beside", "from"]
# (singular VBZ, plural VBP)
VERBS_TRANSITIVE = [("sees", "see"), ("likes", "like"), ("knows", "know"),
                    ("finds", "find"), ("wants", "want"), ("holds", "hold")]  # fmt: skip
VERBS_INTRANSITIVE = [("sleeps", "sleep"), ("waits", "wait"), ("falls", "fall"),
                      ("smiles", "smile"), ("breaks", "break")]  # fmt: skip
COPULAS = [
    ("is", "are", "VBZ", "VBP"),
    ("was", "were", "VBD", "VBD"),
    ("has", "have", "VBZ", "VBP"),
]
REFLEXIVES = {("m", 0): "himself", ("f", 0): "herself", ("m", 1): "themselves",
              ("f", 1): "themselves"}  # fmt: skip

# The other-number form of every agreeing verb (the ungrammatical twin of minimal pairs).
_FLIP_VERB = {s: p for s, p in [c[:2] for c in COPULAS] + VERBS_TRANSITIVE + VERBS_INTRANSITIVE}
_FLIP_VERB.update({p: s for s, p in list(_FLIP_VERB.items())})
# The number (0 singular, 1 plural) of every noun form.
NOUN_NUMBER = {
    form: number for nouns in (NOUNS_ANIMATE, NOUNS_THING) for n in nouns for number, form in
    enumerate(n[:2])
}  # fmt: skip


class _Sentence:
    """Tokens and tags built left to right."""

    def __init__(self):
        self.tokens: list[str] = []
        self.tags: list[str] = []

    def add(self, token: str, tag: str) -> None:
        self.tokens.append(token)
        self.tags.append(tag)


def _noun_phrase(s, rng, nouns, number, gender=None, adjectives=0):
    """`the ADJ* NOUN` with the given number (and gender, if any is required)."""
    choices = [n for n in nouns if gender is None or n[2] == gender]
    noun = rng.choice(choices)[number]
    s.add("the", "DT")
    for _ in range(adjectives):
        s.add(rng.choice(ADJECTIVES), "JJ")
    s.add(noun, "NNS" if number else "NN")


def _attractor(rng, head_number, head_gender, attract: float):
    """(number, gender) of an intervening noun. Agreement sentences (no head gender): the
    opposite number with prob `attract`. Reflexive sentences: the opposite gender with
    prob `attract`, and then the head's number, so only gender tells them apart."""
    if head_gender is None:
        return (1 - head_number if rng.random() < attract else rng.randrange(2)), None
    if rng.random() < attract:
        return head_number, "f" if head_gender == "m" else "m"
    return rng.randrange(2), rng.choice("mf")


def _unit_sizes(rng, distance: int) -> list[int]:
    """Split `distance` words into units of 2..6 words (no unit of 1)."""
    sizes, left = [], distance
    while left:
        options = [k for k in range(2, 7) if k == left or left - k >= 2]
        k = rng.choice(options)
        sizes.append(k)
        left -= k
    return sizes


def _intervening(s, rng, size, head_number, head_gender, attract):
    number, gender = _attractor(rng, head_number, head_gender, attract)
    if size == 2:  # near them / near her
        if number == 1:
            pronoun = "them"
        elif gender is not None:
            pronoun = "him" if gender == "m" else "her"
        else:
            pronoun = rng.choice(["it", "him", "her"])
        s.add(rng.choice(PREPOSITIONS), "IN")
        s.add(pronoun, "PRP")
    elif size in (3, 4, 5) and (size == 3 or rng.random() < 0.5):  # PP: to the old cabinets
        s.add(rng.choice(PREPOSITIONS), "IN")
        nouns = NOUNS_ANIMATE if gender else NOUNS_ANIMATE + NOUNS_THING
        _noun_phrase(s, rng, nouns, number, gender, adjectives=size - 3)
    else:  # object relative clause: that the girls hold
        s.add("that", "WDT")
        _noun_phrase(s, rng, NOUNS_ANIMATE, number, gender, adjectives=size - 4)
        verb = rng.choice(VERBS_TRANSITIVE)[number]
        s.add(verb, "VBP" if number else "VBZ")


def sentence(rng: random.Random, distance: int, kind: str, attract: float = 0.5) -> dict:
    """One sentence with exactly `distance` words between head noun and main verb."""
    if distance == 1 or not distance >= 0:
        raise ValueError(f"distance must be 0 or >= 2, got {distance}")
    s = _Sentence()
    number = rng.randrange(2)
    if kind == "reflexive":
        gender = rng.choice("mf")
        head_nouns = [n for n in NOUNS_ANIMATE if n[2] == gender]
    elif kind == "agreement":
        gender = None
        head_nouns = NOUNS_ANIMATE + NOUNS_THING
    else:
        raise ValueError(f"kind must be 'agreement' or 'reflexive', got {kind!r}")
    _noun_phrase(s, rng, head_nouns, number, adjectives=rng.randrange(2))
    head = len(s.tokens) - 1
    for size in _unit_sizes(rng, distance):
        _intervening(s, rng, size, number, gender, attract)
    tag = "VBP" if number else "VBZ"
    if kind == "reflexive":
        s.add(rng.choice(VERBS_TRANSITIVE)[number], tag)
        s.add(REFLEXIVES[gender, number], "PRP")
    else:
        form = rng.randrange(3)
        if form == 0:  # copula + adjective
            singular, plural, tag_s, tag_p = rng.choice(COPULAS[:2])
            s.add(plural if number else singular, tag_p if number else tag_s)
            s.add(rng.choice(ADJECTIVES), "JJ")
        elif form == 1:  # transitive verb + object
            verb = rng.choice(VERBS_TRANSITIVE + [COPULAS[2][:2]])
            s.add(verb[number], tag)
            _noun_phrase(s, rng, NOUNS_ANIMATE + NOUNS_THING, rng.randrange(2))
        else:
            s.add(rng.choice(VERBS_INTRANSITIVE)[number], tag)
    s.add(".", ".")
    return {
        "tokens": s.tokens,
        "tags": s.tags,
        "label": number,
        "distance": distance,
        "kind": kind,
        "verb_index": head + distance + 1,
    }


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(f"rnnlab.synthetic/{seed}/{name}")


def corpus(
    split: str = "train",
    *,
    seed: int = 0,
    size: int | None = None,
    max_distance: int = MAX_DISTANCE,
    min_distance: int = 0,
    reflexive_fraction: float = 0.3,
    attract: float = 0.0,
) -> list[dict]:
    """Sentences of one split; distances uniform over min_distance..max_distance (not 1).

    A large `min_distance` removes the short-distance "ladder" that lets even an Elman
    RNN learn agreement step by step before facing long gaps. `attract` (default 0) is
    the probability that an intervening noun takes the opposite number/gender; at 0 its
    features are independent of the head, so "the opposite of the nearest noun" is no
    shortcut (in `minimal_pairs` every attractor is opposite: that heuristic scores 0).
    """
    if split not in SPLIT_SIZES:
        raise ValueError(f"split must be one of {sorted(SPLIT_SIZES)}, got {split!r}")
    rng = _rng(seed, split)
    distances = [d for d in range(min_distance, max_distance + 1) if d != 1]
    if not distances:
        raise ValueError(f"no distance in [{min_distance}, {max_distance}] (1 does not occur)")
    n = SPLIT_SIZES[split] if size is None else size
    return [
        sentence(
            rng,
            rng.choice(distances),
            "reflexive" if rng.random() < reflexive_fraction else "agreement",
            attract,
        )
        for _ in range(n)
    ]


TASK_FIELDS = {
    "lm": ("tokens",),
    "classification": ("tokens", "label"),
    "tagging": ("tokens", "tags"),
}


def examples(task: str, split: str = "train", **kwargs) -> list[dict]:
    """The corpus in the shared example schema of `task` (lm, classification, tagging)."""
    if task not in TASK_FIELDS:
        raise ValueError(f"task must be one of {sorted(TASK_FIELDS)}, got {task!r}")
    return [{k: s[k] for k in TASK_FIELDS[task]} for s in corpus(split, **kwargs)]


def minimal_pairs(
    *,
    seed: int = 0,
    per_distance: int = 200,
    distances: tuple[int, ...] = DISTANCES,
    kind: str = "agreement",
) -> dict[int, list[dict]]:
    """Grammatical/ungrammatical twins by distance, every attractor of the opposite
    number (agreement) or gender (reflexive, singular heads).

    Each pair: {"good": tokens, "bad": tokens, "index": the differing position}; an LM
    passes when it scores `good` above `bad` (e.g. log-prob of the whole sentence).
    """
    pairs: dict[int, list[dict]] = {}
    for d in distances:
        rng = _rng(seed, f"pairs/{kind}/{d}")
        pairs[d] = []
        while len(pairs[d]) < per_distance:
            good = sentence(rng, d, kind, attract=1.0)
            if kind == "reflexive" and good["label"] == 1:
                continue  # "themselves" has no gender to get wrong
            i = good["verb_index"] + (kind == "reflexive")
            bad = list(good["tokens"])
            bad[i] = _FLIP_VERB[bad[i]] if kind == "agreement" else _flip_reflexive(bad[i])
            pairs[d].append({"good": good["tokens"], "bad": bad, "index": i})
    return pairs


def _flip_reflexive(word: str) -> str:
    return {"himself": "herself", "herself": "himself"}[word]


# ---- a treebank: dependency trees without data files (notebooks 09 and 10) ----

TREEBANK_WORDS = {"DET": ["the", "a"], "ADJ": ["old", "red", "small"],
                  "NOUN": ["dog", "cat", "man", "box"], "VERB": ["sees", "likes", "finds"],
                  "ADP": ["in", "near"]}  # fmt: skip


def _tree_noun_phrase(rows: list, head, rel: str, rng) -> int:
    """Appends 'DET (ADJ) NOUN' rows [form, UPOS, head, relation]; the noun's position."""
    noun = len(rows) + 2 + (adj := rng.random() < 0.5)
    rows.append([rng.choice(TREEBANK_WORDS["DET"]), "DET", noun, "det"])
    if adj:
        rows.append([rng.choice(TREEBANK_WORDS["ADJ"]), "ADJ", noun, "amod"])
    rows.append([rng.choice(TREEBANK_WORDS["NOUN"]), "NOUN", head, rel])
    return noun


def treebank(n: int, rng) -> list[dict]:
    """n sentences 'NP VERB NP (ADP NP) .' with their trees, as `formats.read_conllu(...,
    syntax=True)` gives them ({"tokens", "tags" (UPOS), "heads", "deprels"}); `rng` a
    numpy Generator. A head not yet written is filled in once its position is known."""
    out = []
    for _ in range(n):
        rows = []
        subject = _tree_noun_phrase(rows, None, "nsubj", rng)
        rows.append([rng.choice(TREEBANK_WORDS["VERB"]), "VERB", 0, "root"])
        verb = len(rows)
        rows[subject - 1][2] = verb
        obj = _tree_noun_phrase(rows, verb, "obj", rng)
        if rng.random() < 0.5:
            rows.append([rng.choice(TREEBANK_WORDS["ADP"]), "ADP", None, "case"])
            adp = len(rows)
            rows[adp - 1][2] = _tree_noun_phrase(rows, obj, "nmod", rng)
        rows.append([".", "PUNCT", verb, "punct"])
        forms, tags, heads, rels = (list(column) for column in zip(*rows, strict=True))
        out.append({"tokens": [str(f) for f in forms], "tags": [str(t) for t in tags],
                    "heads": [int(h) for h in heads], "deprels": rels})  # fmt: skip
    return out
