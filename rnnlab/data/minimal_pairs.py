"""Minimal pairs for long-distance dependencies: one `Pair` type, a hand-written English
set shipped with the code (`english()`), and the synthetic corpus's pairs (`synthetic()`).

The English set is in the spirit of the lecture's "He does not have very much confidence
in himself / *herself": each line of `ENGLISH` is one pair, the two twins differing in
exactly one word. It is written in the style of the Mikolov Penn Treebank LM data (lower
case, `'s` and `n't` split off, no punctuation) from words that occur in PTB's training
text, so a PTB language model can score it.

Line format: the alternation `[good|bad]` marks the one word that differs; `*` marks the
cue (the word the dependency starts from: the head noun, the antecedent, the licensor);
`^` marks the target (the word whose form the cue licenses) when it is not the
alternation itself (negative polarity items: `*[no|the] ... ^ever`). The distance is
computed: the number of words strictly between cue and target. In the `selectional`
construction the cue may also follow the target (`CUE_MAY_FOLLOW`).

Every agreement and reflexive construction is balanced (each target form is as often
the good as the bad word: as many singular as plural heads, "he" as "she"), so an LM
that simply prefers one form ("is", "himself") scores 0.5, not more. Intervening nouns
(attractors) have the other number or gender wherever the construction has them.

Selectional preference (the lecture's "the reign / rain has lasted as long as the life
of the queen / clouds"): one noun or verb fits the slot its cue opens and its twin does
not ("drink a glass of wine / engine"). Each word pair appears twice, each word once as
the fitting one, so an LM that only knows word frequencies scores exactly 0.5 (ties
aside); the two words of a pair also have similar PTB train counts (within a factor
of 2.3, median 1.2), so that frequency decides little pair by pair either.
"""

from __future__ import annotations

import dataclasses
import re

from rnnlab.data import synthetic as synthetic_corpus

_ALTERNATION = re.compile(r"^([*^]?)\[([^|\[\]\s]+)\|([^|\[\]\s]+)\]$")

# Constructions whose cue may come after the target: a selectional preference binds
# both ways ("the reign ... of the queen"), and the twins' whole-sentence probabilities
# (they share the words before the target) see the cue wherever it is.
CUE_MAY_FOLLOW = frozenset({"selectional"})


@dataclasses.dataclass(frozen=True)
class Pair:
    """A grammatical sentence and its ungrammatical twin.

    target: index of the word whose form the cue licenses (an LM is compared on the
    twins' log-probabilities from here on: the whole sentence when only the target
    differs). distance: words between the cue and the target.
    """

    good: tuple[str, ...]
    bad: tuple[str, ...]
    target: int
    distance: int
    construction: str

    def __post_init__(self):
        same_length = len(self.good) == len(self.bad)
        diff = [i for i, (g, b) in enumerate(zip(self.good, self.bad, strict=False)) if g != b]
        if not same_length or len(diff) != 1:
            raise ValueError(
                f"a minimal pair differs in exactly one word: {' '.join(self.good)!r} vs "
                f"{' '.join(self.bad)!r}"
            )
        if not 0 <= self.target < len(self.good) or self.distance < 0:
            raise ValueError(f"bad target {self.target} / distance {self.distance} in {self}")


def parse(line: str, construction: str) -> Pair:
    """One marked-up line (see the module docstring) -> a `Pair`; ValueError if malformed."""
    good, bad, cues, targets, alternations = [], [], [], [], []
    for i, token in enumerate(line.split()):
        m = _ALTERNATION.match(token)
        if m:
            mark, g, b = m.groups()
            alternations.append(i)
        elif "[" in token or "]" in token or "|" in token:
            raise ValueError(f"malformed alternation {token!r} in {line!r} (expected [good|bad])")
        else:
            mark, g = (token[0], token[1:]) if token[0] in "*^" else ("", token)
            b = g
        if not g:
            raise ValueError(f"a bare marker {token!r} in {line!r}")
        (cues if mark == "*" else targets if mark == "^" else []).append(i)
        good.append(g)
        bad.append(b)
    if len(alternations) != 1 or len(cues) != 1 or len(targets) > 1:
        raise ValueError(
            f"need one [good|bad], one *cue and at most one ^target, got {len(alternations)}, "
            f"{len(cues)} and {len(targets)} in {line!r}"
        )
    target = (targets or alternations)[0]
    if target == cues[0]:
        raise ValueError(f"the target and the cue must be different words in {line!r}")
    if target < cues[0] and construction not in CUE_MAY_FOLLOW:
        raise ValueError(f"the target must follow the cue in {line!r}")
    return Pair(tuple(good), tuple(bad), target, abs(target - cues[0]) - 1, construction)


# construction -> one pair per line. Singular/plural (he/she) versions alternate.
ENGLISH = {
    "simple": """
    the *company [has|have] a new chairman
    the *companies [have|has] a new chairman
    the *stock [was|were] higher yesterday
    the *stocks [were|was] higher yesterday
    the new *president [wants|want] more money
    the new *officials [want|wants] more money
    the *bank [expects|expect] lower profits
    the *banks [expect|expects] lower profits
    the *price [remains|remain] too high
    the *prices [remain|remains] too high
    the *investor [seems|seem] worried
    the *investors [seem|seems] worried
    the *lawyer [is|are] in new york
    the *lawyers [are|is] in new york
    the *plan [needs|need] more work
    the *plans [need|needs] more work
    the small *firm [owns|own] two stores
    the small *firms [own|owns] two stores
    the *trader [was|were] not surprised
    the *traders [were|was] not surprised
""",
    "prepositional_phrase": """
    the *price of the shares [is|are] too high
    the *prices of the stock [are|is] too high
    the *chairman of the companies [has|have] resigned
    the *directors of the company [have|has] resigned
    the *value of the new bonds [was|were] lower
    the *yields on the new bond [were|was] lower
    the *cost of the new programs [is|are] high
    the *costs of the new program [are|is] high
    the *head of the unions [wants|want] a new contract
    the *workers at the plant [want|wants] a new contract
    the *lawyer for the two former executives [says|say] the case is weak
    the *lawyers for the former executive [say|says] the case is weak
    the *demand for the company 's new products [remains|remain] strong
    the *sales of the company 's main unit [remain|remains] strong
    the *profit from the sales of its computers in japan [was|were] small
    the *profits from the sale of its computer unit in japan [were|was] small
    the *bank with the most branches in the three states [expects|expect] higher profits
    the *banks with the largest branch in the state [expect|expects] higher profits
    the *manager of the funds at the big brokerage firms [was|were] fired
    the *managers of the fund at the big brokerage firm [were|was] fired
""",
    "subject_relative": """
    the *analyst who follows the stocks [is|are] optimistic
    the *analysts who follow the stock [are|is] optimistic
    the *company that owns the banks [has|have] lost money
    the *companies that own the bank [have|has] lost money
    the *executive who runs the two units [was|were] replaced
    the *executives who run the unit [were|was] replaced
    the *bank that lent money to the companies [expects|expect] losses
    the *banks that lent money to the company [expect|expects] losses
    the *investor who bought the shares last year [wants|want] a higher price
    the *investors who bought the stock last year [want|wants] a higher price
    the *lawyer who represents the former officials [is|are] confident
    the *lawyers who represent the former official [are|is] confident
    the *firm that makes the chips for the computers [plans|plan] to expand
    the *firms that make the chip for the computer [plan|plans] to expand
    the *official who met the japanese bankers in tokyo last week [says|say] the talks went well
    the *officials who met the japanese banker in tokyo last week [say|says] the talks went well
    the *trader who sold the bonds [was|were] fired
    the *traders who sold the bond [were|was] fired
    the *unit that builds the engines for the new planes [needs|need] more workers
    the *units that build the engine for the new plane [need|needs] more workers
""",
    "object_relative": """
    the *stock that the analysts like [is|are] cheap
    the *stocks that the analyst likes [are|is] cheap
    the *company that the banks own [has|have] lost money
    the *companies that the bank owns [have|has] lost money
    the *bond that the investors bought [was|were] risky
    the *bonds that the investor bought [were|was] risky
    the *plan that the directors approved [needs|need] more work
    the *plans that the director approved [need|needs] more work
    the *executive that the shareholders hired last year [is|are] leaving
    the *executives that the shareholder hired last year [are|is] leaving
    the *product that the two big companies sell [remains|remain] popular
    the *products that the big company sells [remain|remains] popular
    the *loan that the japanese banks made to the firm [was|were] repaid
    the *loans that the japanese bank made to the firm [were|was] repaid
    the *contract that the workers at the plants signed [expects|expect] higher wages
    the *contracts that the worker at the plant signed [expect|expects] higher wages
    the *analyst that the reporters called yesterday [says|say] prices will fall
    the *analysts that the reporter called yesterday [say|says] prices will fall
    the *building that the new owners bought in new york last year [was|were] sold
    the *buildings that the new owner bought in new york last year [were|was] sold
""",
    "sentential_complement": """
    the analysts said the *company [is|are] profitable
    the analyst said the *companies [are|is] profitable
    the bankers believe the *plan [has|have] failed
    the banker believes the *plans [have|has] failed
    the officials think the *price [remains|remain] too high
    the official thinks the *prices [remain|remains] too high
    the investors know the *stock [was|were] cheap
    the investor knows the *stocks [were|was] cheap
    the traders said the new *rule [is|are] a mistake
    the trader said the new *rules [are|is] a mistake
    the lawyers say that the *judge [wants|want] more time
    the lawyer says that the *judges [want|wants] more time
    the executives said that the *unit [expects|expect] a loss
    the executive said that the *units [expect|expects] a loss
    the analysts think that the big *bank [needs|need] more capital
    the analyst thinks that the big *banks [need|needs] more capital
""",
    "long_mixed": """
    the *price of the shares that the investors bought last year [is|are] too high
    the *prices of the stock that the investor bought last year [are|is] too high
    the *company that owns the banks in the three states [has|have] lost money
    the *companies that own the bank in the state [have|has] lost money
    the *chairman of the companies that make the new computers [was|were] fired
    the *chairmen of the company that makes the new computer [were|was] fired
    the *lawyer for the former officials of the two big banks [says|say] the case is weak
    the *lawyers for the former official of the big bank [say|says] the case is weak
    the *manager of the funds that the brokerage firms sold to investors [was|were] fired
    the *managers of the fund that the brokerage firm sold to investors [were|was] fired
    the *plan that the directors of the banks approved at their meetings [needs|need] more work
    the *plans that the director of the bank approved at his meeting [need|needs] more work
    the *bank that lent money to the firms that make computers in japan [expects|expect] losses
    the *banks that lent money to the firm that makes computers in japan [expect|expects] losses
""",
    "reflexive_gender": """
    *he likes [himself|herself]
    *she likes [herself|himself]
    the *man hurt [himself|herself]
    the *woman hurt [herself|himself]
    her *husband protected [himself|herself]
    his *wife protected [herself|himself]
    *he does n't like [himself|herself]
    *she does n't like [herself|himself]
    my *father blames only [himself|herself]
    my *mother blames only [herself|himself]
    the *son of the woman described [himself|herself] as a victim
    the *daughter of the man described [herself|himself] as a victim
    *he does not have much confidence in [himself|herself]
    *she does not have much confidence in [herself|himself]
    *he does not have very much confidence in [himself|herself]
    *she does not have very much confidence in [herself|himself]
    *he has never been able to defend [himself|herself]
    *she has never been able to defend [herself|himself]
    the *man who sold the company to the woman hurt [himself|herself]
    the *woman who sold the company to the man hurt [herself|himself]
    *he did not want to see the woman again and blamed [himself|herself]
    *she did not want to see the man again and blamed [herself|himself]
    *he does not have very much confidence in his wife or in [himself|herself]
    *she does not have very much confidence in her husband or in [herself|himself]
""",
    "reflexive_number": """
    the *company protected [itself|themselves]
    the *companies protected [themselves|itself]
    the *bank sold [itself|themselves] to investors
    the *banks sold [themselves|itself] to investors
    the *funds hurt [themselves|itself]
    the *fund hurt [itself|themselves]
    the *firm that the investors bought can defend [itself|themselves]
    the *firms that the investor bought can defend [themselves|itself]
    the *company does not have much confidence in [itself|themselves]
    the *companies do not have much confidence in [themselves|itself]
    the *market has been able to correct [itself|themselves]
    the *markets have been able to correct [themselves|itself]
    the *unit that makes chips for the computers will sell [itself|themselves]
    the *units that make chips for the computer will sell [themselves|itself]
""",
    "npi": """
    *[no|the] company has ^ever paid a dividend
    *[no|the] analysts have ^ever seen such a market
    *[no|the] investor who bought the shares has ^ever made money
    *[no|the] bank that lent money to the firm has ^ever been repaid
    *[no|the] official has ^ever said that
    *[no|the] executives at the company have ^ever been charged
    *[no|the] trader in new york has ^ever lost so much
    *[no|the] company that the banks own has ^ever reported a loss
    *[no|the] lawyer who represents the former officials has ^ever won a case
    *[no|the] stock has ^ever fallen so fast
""",
    # Each word pair twice, each word once the fitting one ("reign", the lecture's word,
    # is not in PTB's vocabulary: "empire" takes its place).
    "selectional": """
    the [empire|rain] has lasted as long as the life of the *queen
    the [rain|empire] has lasted as long as the life of the *clouds
    he likes to *drink a glass of [wine|engine] with his dinner
    the workers *repaired the [engine|wine] of the old truck
    he *wrote a long [letter|bridge] to his mother
    the engineers *built a new [bridge|letter] across the bay
    the voters *elected a new [mayor|hospital] last week
    the city *opened a new [hospital|mayor] for the children
    she *plays [golf|wheat] every weekend
    the farmers *grow [wheat|golf] and corn
    the *pilot landed the [plane|milk] at the airport
    the children *drink a glass of [milk|plane] at lunch
    the *band played loud [music|beer] all night
    they like to *drink cold [beer|music] at the bar
    you should not [drink|wear] the *water
    you should not [wear|drink] those *shoes
    the pilot will [fly|eat] the *plane to new york
    the children will [eat|fly] the fresh *bread
    he likes to [read|drive] the morning *newspaper
    he likes to [drive|read] his new *car
    the *judge sentenced him to N years in [prison|river]
    the *boat went down the [river|prison]
    the *hospital admitted more [patients|corn] than ever
    the farmers *planted their [corn|patients] in the spring
    the *farmer rode his [horse|storm] to town
    the [storm|horse] brought heavy *rain to the coast
    she *drinks a cup of [coffee|ship] every morning
    the *navy built a new [ship|coffee]
    the [teacher|soup] *taught the children to read
    she ordered a *bowl of hot [soup|teacher]
    the workers will [repair|kill] the broken *machine
    the farmer had to [kill|repair] the sick *animals
    the *tobacco company makes [cigarettes|passengers]
    the *airline carried more [passengers|cigarettes] this year
    he *reads the morning [newspaper|truck] on the train
    he *drove the [truck|newspaper] to the plant
    the *school teaches [children|cars] to read
    the *factory produces N [cars|children] a day
    the company *mines [gold|school] in south africa
    the *students went to [school|gold] every day
    the [doctor|fruit] *examined the patient
    the children *eat fresh [fruit|doctor]
""",
}


def english(constructions: tuple[str, ...] | None = None) -> list[Pair]:
    """The hand-written English pairs (or those of the given constructions), in order."""
    names = tuple(ENGLISH) if constructions is None else tuple(constructions)
    unknown = set(names) - set(ENGLISH)
    if unknown:
        raise ValueError(
            f"unknown constructions {sorted(unknown)}; expected some of {list(ENGLISH)}"
        )
    return [parse(line, name) for name in names for line in ENGLISH[name].strip().splitlines()]


def synthetic(
    *,
    seed: int = 0,
    per_distance: int = 200,
    distances: tuple[int, ...] = synthetic_corpus.DISTANCES,
    kinds: tuple[str, ...] = ("agreement", "reflexive"),
) -> list[Pair]:
    """`synthetic.minimal_pairs` as `Pair`s, construction = kind. The distance is the
    corpus's own: words between the head noun and the main verb (a reflexive comes one
    word later, after the verb)."""
    return [
        Pair(tuple(p["good"]), tuple(p["bad"]), p["index"], d, kind)
        for kind in kinds
        for d, ps in synthetic_corpus.minimal_pairs(
            seed=seed, per_distance=per_distance, distances=distances, kind=kind
        ).items()
        for p in ps
    ]
