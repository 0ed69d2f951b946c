"""Winograd schemas by LM scoring: the reader (and its errors), the text's PTB form, the
substitution, full and partial log-probabilities of a bigram LM whose probabilities are
set by hand, the Wilson interval against scipy, the real collection and the CLI."""

import dataclasses
import json
import math
import re
import subprocess
import sys

import flax.linen as nn
import numpy as np
import pytest
import scipy.stats
from conftest import REPO_ROOT

from rnnlab import agreement
from rnnlab.analysis import winograd
from rnnlab.data.vocab import Vocab

# The lecture's pair as WSCollection.xml writes it (odd spacing and "A." included), and
# a non-ASCII word in the declared ISO-8859-1 encoding.
TROPHY_XML = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<collection>
<schema>
<text>
<txt1>
The trophy doesn't fit into the brown suitcase because
</txt1>
<pron> it  </pron>
<txt2> is too large.
</txt2>
</text>
<answers>
<answer>The trophy </answer>
<answer>the brown suitcase </answer>
</answers>
<correctAnswer>A.  </correctAnswer>
<source> Hector Levesque </source>
</schema>

<schema>
<text>
<txt1>The trophy doesn't fit into the brown suitcase because</txt1>
<pron>it</pron>
<txt2>is too small. Caf\xe9.</txt2>
</text>
<answers><answer>The trophy</answer><answer>the brown suitcase</answer></answers>
<correctAnswer> B  </correctAnswer>
</schema>
</collection>
"""


def test_reader_on_the_trophy_schemas():
    first, second = winograd.parse_schemas(TROPHY_XML, "trophy.xml")
    assert first == winograd.Schema(
        index=0,
        line=3,
        before="The trophy doesn't fit into the brown suitcase because",
        pronoun="it",
        after="is too large.",
        candidates=("The trophy", "the brown suitcase"),
        answer=0,
    )
    assert (second.index, second.line, second.answer) == (1, 20, 1)
    assert second.after == "is too small. Caf\u00e9."  # decoded as ISO-8859-1


@pytest.mark.parametrize(
    "broken, message",
    [
        (b"<txt2> is too large.\n</txt2>", r"trophy\.xml:10:\d+: not well-formed XML \(mismatched"),
        (b"<pron> it  </pron>", r"trophy\.xml:3: schema 1: expected one <pron> in <text> \(line 4"),
        (b"<correctAnswer>A.  </correctAnswer>", r"schema 1: expected <correctAnswer> A or B"),
        (b"<answer>The trophy </answer>", r"schema 1: expected two non-empty <answer>s"),
    ],
)
def test_malformed_xml_names_file_line_schema_and_what_was_expected(broken, message):
    replacement = {
        b"<txt2> is too large.\n</txt2>": b"<txt2> is too large.\n</txt1>",
        b"<pron> it  </pron>": b"",
        b"<correctAnswer>A.  </correctAnswer>": b"<correctAnswer> C </correctAnswer>",
        b"<answer>The trophy </answer>": b"<answer>The trophy</answer><answer>it</answer>",
    }[broken]
    with pytest.raises(ValueError, match=message):
        winograd.parse_schemas(TROPHY_XML.replace(broken, replacement, 1), "trophy.xml")


def test_another_element_among_the_schemas_is_refused():
    xml = TROPHY_XML.replace(b"<schema>", b"<note/><schema>", 1)
    with pytest.raises(ValueError, match=r"schema 1: expected <schema>, found <note>"):
        winograd.parse_schemas(xml, "trophy.xml")


@pytest.mark.parametrize(
    "text, words",
    [
        ("The trophy doesn't fit.", "the trophy does n't fit"),
        ("Tom can't, won't; I'm sure they're right.", "tom ca n't wo n't i 'm sure they 're right"),
        ("Emma's mother and the parents' house", "emma 's mother and the parents ' house"),
        (
            'He said "Check" -- to Mr. Smith (of the U.S.)!',
            "he said check to mr. smith of the u.s.",
        ),
        ("It cost $5,000 in 1990, up 3.5%.", "it cost $ N in N up N N"),
        ("A third-quarter loss", "a third-quarter loss"),
    ],
)
def test_text_in_ptb_conventions(text, words):
    assert agreement.ptb_words(text) == words.split()


def schema(before, pronoun, after, candidates=("The man", "the boy")):
    return winograd.Schema(0, 1, before, pronoun, after, candidates, 0)


@pytest.mark.parametrize(
    "s, k, want",
    [
        (schema("The man lifted the boy onto", "his", "shoulders."), 1, "the boy's"),
        (
            schema("Lily spoke to Donna, breaking", "her", "silence.", ("Lily", "Donna")),
            0,
            "Lily's",
        ),
        (schema("so father gave", "her", "a stern look.", ("Lily", "Donna")), 1, "Donna"),
        (schema("because", "He", "was tired.", ("the man", "Bill")), 0, "The man"),
        (schema("and", "her", "education", ("Emma's", "Emma's mother")), 0, "Emma's"),
        (schema("and", "her", "education", ("Emma's", "Emma's mother")), 1, "Emma's mother's"),
    ],
)
def test_candidate_takes_the_pronouns_case_and_possessive(s, k, want):
    assert winograd.candidate_text(s, k) == want


def test_substitution_marks_where_partial_scoring_starts():
    trophy = winograd.parse_schemas(TROPHY_XML)[0]
    words, start = winograd.substitute(trophy, 1)
    assert " ".join(words) == (
        "the trophy does n't fit into the brown suitcase because the brown suitcase is too large"
    )
    assert words[start:] == ["is", "too", "large"]


class Bigram(nn.Module):
    """p(next | previous word) read from a table: log-probabilities set by hand."""

    vocab_size: int

    @nn.compact
    def __call__(self, inputs_BxT, mask_BxT, carry=None):
        logp_VxV = self.param("logp_VxV", nn.initializers.zeros, (self.vocab_size,) * 2)
        return logp_VxV[inputs_BxT], carry


def bigram_lm(words, special: dict[tuple[str, str], float]) -> agreement.LM:
    """Uniform next-word distributions, except that p(b | a) = special[a, b] (the rest of
    row a shared evenly)."""
    vocab = Vocab.build([words])
    V = len(vocab)
    p_VxV = np.full((V, V), 1.0 / V)
    for (a, b), p in special.items():
        p_VxV[vocab.id(a)] = (1.0 - p) / (V - 1)
        p_VxV[vocab.id(a), vocab.id(b)] = p
    return agreement.LM(Bigram(V), {"logp_VxV": np.log(p_VxV).astype(np.float32)}, vocab)


def test_full_and_partial_scores_are_the_hand_computed_log_probabilities():
    schemas = winograd.parse_schemas(TROPHY_XML)
    words = [w for s in schemas for k in (0, 1) for w in winograd.substitute(s, k)[0]]
    # "is" is likely after "suitcase" and unlikely after "trophy": partial scoring picks
    # the suitcase; the full sentence with the suitcase has one more word ("brown", 1/V).
    lm = bigram_lm(words, {("suitcase", "is"): 0.6, ("trophy", "is"): 0.1})
    V = len(lm.vocab)
    assert V == 4 + 14  # <pad> <unk> <s> </s>, 14 words
    u = math.log(1 / V)
    trophy_does, suitcase_because = math.log(0.9 / (V - 1)), math.log(0.4 / (V - 1))
    # <s> the trophy does n't fit into the brown suitcase because CANDIDATE is too large </s>
    full_trophy = 13 * u + trophy_does + suitcase_because + math.log(0.1)
    full_suitcase = 14 * u + trophy_does + suitcase_because + math.log(0.6)
    partial_trophy, partial_suitcase = math.log(0.1) + 3 * u, math.log(0.6) + 3 * u

    result = winograd.evaluate(lm, schemas)
    large, small = result["items"]
    np.testing.assert_allclose(large["full"], [full_trophy, full_suitcase], rtol=1e-5)
    np.testing.assert_allclose(large["partial"], [partial_trophy, partial_suitcase], rtol=1e-5)
    assert large["partial_from"] == [12, 13]
    # ... is too small café </s>: one more uniform step in each
    np.testing.assert_allclose(small["full"], [full_trophy + u, full_suitcase + u], rtol=1e-5)
    np.testing.assert_allclose(
        small["partial"], [partial_trophy + u, partial_suitcase + u], rtol=1e-5
    )
    # full prefers the trophy (log V - log 6 > 0), partial the suitcase: "too large"
    # (answer A) is right in full only, "too small" (B) in partial only.
    assert (large["correct_full"], large["correct_partial"]) == (1.0, 0.0)
    assert (small["correct_full"], small["correct_partial"]) == (0.0, 1.0)
    assert result["full"]["accuracy"] == result["partial"]["accuracy"] == 0.5
    assert result["full"]["count"] == 2 and result["full"]["correct"] == 1.0
    assert result["oov_words"] == 0 and result["schemas_unresolved"] == 0


def test_oov_words_are_counted_and_indistinguishable_candidates_tie():
    schemas = winograd.parse_schemas(TROPHY_XML)
    words = winograd.substitute(schemas[0], 0)[0]  # the trophy ... the trophy is too large
    lm = bigram_lm([w for w in words if w not in ("brown", "suitcase")], {})
    result = winograd.evaluate(lm, schemas)
    # brown and suitcase: 1 + 2 per schema (the candidate sentences); small, café: 2 each
    assert dict(result["most_common_oov"]) == {"brown": 6, "suitcase": 6, "small": 2, "café": 2}
    assert result["oov_words"] == 16 and result["schemas_with_oov"] == 2
    assert result["schemas_unresolved"] == 0  # "the trophy" vs "the <unk> <unk>"
    both_unknown = dataclasses.replace(schemas[0], candidates=("the brown", "the suitcase"))
    tie = winograd.evaluate(lm, [both_unknown])
    assert tie["schemas_unresolved"] == 1
    assert tie["full"]["accuracy"] == tie["partial"]["accuracy"] == 0.5


@pytest.mark.parametrize("k, n", [(0, 10), (7, 10), (168, 273), (273, 273), (1, 1)])
def test_wilson_interval_matches_scipy(k, n):
    want = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    np.testing.assert_allclose(winograd.wilson_interval(k, n), [want.low, want.high], atol=1e-12)


def test_the_collection_reads_and_every_schema_substitutes(shared_data):
    path = shared_data / "wsc" / "WSCollection.xml"
    schemas = winograd.read_schemas(path)
    assert len(schemas) == 285 and [s.index for s in schemas] == list(range(285))
    letters = re.findall(r"<correctAnswer>\s*([AB])", path.read_text(encoding="latin-1"))
    assert ["AB"[s.answer] for s in schemas] == letters
    trophy = [s for s in schemas[: winograd.WSC273] if "trophy" in s.before]
    assert [s.answer for s in trophy] == [0, 1] and trophy[0].pronoun == "it"
    for s in schemas:
        for k in (0, 1):
            words, start = winograd.substitute(s, k)
            candidate = agreement.ptb_words(winograd.candidate_text(s, k))
            assert words[start - len(candidate) : start] == candidate, s
            assert all(w in ("N", w.lower()) and w.strip('.,;:!?"') for w in words), words


def test_cli_writes_png_and_json_and_names_a_broken_file(tmp_path):
    wsc = tmp_path / "wsc.xml"
    wsc.write_bytes(TROPHY_XML)
    text = tmp_path / "text.txt"
    text.write_text("the trophy is too large\nthe suitcase is too small\n")
    out = tmp_path / "w.png"
    args = [sys.executable, "-m", "experiments.winograd", f"--wsc={wsc}",
            f"--unigram_text={text}", f"--out={out}"]  # fmt: skip
    run = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "unigram" in run.stdout and out.stat().st_size > 10_000
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["unigram"]["wsc273"]["full"]["count"] == 2
    assert len(results["unigram"]["all"]["items"]) == 2
    assert results["meta"]["interval"].startswith("Wilson")

    wsc.write_bytes(TROPHY_XML.replace(b"</pron>", b"</prn>", 1))
    broken = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0 and f"{wsc}:8:" in broken.stderr
    assert "not well-formed XML" in broken.stderr
