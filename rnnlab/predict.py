"""A trained model as a few calls: `rnnlab.load(workdir)` -> a Predictor.

    p = rnnlab.load("runs/parser")            # the best checkpoint (best=False: the latest)
    p.parse("The cat sat")                    # {"heads": [2, 3, 0], "deprels": [...]}

Per kind of run: classify (classification), score / generate (lm, chars), tag (tagging),
parse / parse_many (parsing), lemmatize (seq2seq). Another kind's method is a ValueError
that names the run's kind. Inputs are token lists or whitespace-split strings (a
character LM reads strings as characters); unknown words are `<unk>`, as in training.
The work is the task's own inference helpers (`Task.for_inference`: no data needed),
batched by length, so many inputs cost few compilations and padding changes nothing.
"""

from __future__ import annotations

import types

from rnnlab import generate as sampling
from rnnlab import runs, tasks


def load(workdir: str, *, best: bool = True) -> Predictor:
    """The predictor of a run's best (or latest) checkpoint (see `runs.load`)."""
    return Predictor(runs.load(workdir, best=best))


def _tokens(text) -> list[str]:
    tokens = text.split() if isinstance(text, str) else list(text)
    if not tokens:
        raise ValueError("an input has no tokens")
    return tokens


class Predictor:
    def __init__(self, run: runs.Run):
        self.run, self.kind = run, run.task
        cls = tasks.REGISTRY.get(run.task)
        self.task = cls and cls.for_inference(run.config, run.vocabs, run.model)

    def _need(self, method: str, *kinds: str) -> None:
        if self.kind not in kinds:
            raise ValueError(f"{method}() is for {' / '.join(kinds)} models; "
                             f"{self.run.workdir} holds a {self.kind!r} model")  # fmt: skip

    def classify(self, texts) -> list[dict]:
        """{"label": the likeliest class, "probs": every class's probability} per text."""
        self._need("classify", "classification")
        probs_NxC = self.task.class_probs(self.run.params, [_tokens(t) for t in texts])
        return [{"label": int(p.argmax()), "probs": p.tolist()} for p in probs_NxC]

    def score(self, texts) -> list[float]:
        """Total log-probability (natural log) of each text: a sentence LM's from `<s>`,
        `</s>` included; a character LM's after a line break."""
        self._need("score", "lm", "chars")
        inputs = [self._lm_input(t) for t in texts]
        return self.task.log_probs(self.run.params, inputs).tolist()

    def _lm_input(self, text):
        if self.kind == "chars":
            if not text:
                raise ValueError("an input has no characters")
            return list(text)
        return _tokens(text)

    def generate(self, prefix: str = "", *, length: int = 50, temperature: float = 1.0,
                 top_k: int = 0, seed: int = 0) -> str:  # fmt: skip
        """A sample of `length` tokens after `prefix`, shown with it (rnnlab.generate;
        temperature 0: greedy; a label-conditioned LM's starts "[0] ")."""
        self._need("generate", "lm", "chars")
        options = types.SimpleNamespace(num=1, prompt=prefix, length=length, seed=seed,
                                        temperature=temperature, top_k=top_k)  # fmt: skip
        return sampling.sample_text(self.run.model, self.run.params, self.run.vocabs["words"],
                                    options, chars=self.kind == "chars")[0]  # fmt: skip

    def tag(self, sentences) -> list[list[str]]:
        """One tag per word of each sentence."""
        self._need("tag", "tagging")
        return self.task.tag(self.run.params, [_tokens(s) for s in sentences])

    def parse_many(self, sentences, upos=None, *, decoder: str = "mst") -> list[dict]:
        """{"heads": 1-based head of each word (0: the root), "deprels": its relation} per
        sentence; MST trees by default (rnnlab.parsing.DECODERS); `upos` if the parser
        reads tags."""
        self._need("parse", "parsing")
        parsed = self.task.parse(self.run.params, [_tokens(s) for s in sentences], upos, decoder)
        return [{"heads": list(heads), "deprels": list(rels)} for heads, rels in parsed]

    def parse(self, words, upos=None, *, decoder: str = "mst") -> dict:
        """One sentence's parse (see `parse_many`)."""
        return self.parse_many([words], None if upos is None else [upos], decoder=decoder)[0]

    def lemmatize(self, words, upos=None, *, beam_size: int = 1) -> list[str]:
        """The lemma of each word (its UPOS tag too, if the model reads features): a
        character encoder-decoder, as `ewt_lemmas` trains it."""
        self._need("lemmatize", "seq2seq")
        words = _tokens(words)
        if "features" in self.run.vocabs and upos is None:
            raise ValueError("this lemmatizer reads UPOS tags: pass upos (one per word)")
        decoded = self.task.generate(self.run.params, [list(w) for w in words],
                                     None if upos is None else list(upos),
                                     beam_size=beam_size)  # fmt: skip
        return ["".join(chars) for chars in decoded]

    def __repr__(self) -> str:
        return f"Predictor({self.kind!r} model of {self.run.workdir}, step {self.run.step})"
