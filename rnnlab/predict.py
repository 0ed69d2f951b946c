"""A trained model as a few calls: `rnnlab.load(workdir or exported file)` -> a Predictor.

    p = rnnlab.load("runs/parser")            # the best checkpoint (best=False: the latest)
    rnnlab.load_ensemble(["runs/lem0", "runs/lem1"])   # seeds of one lemmatizer config
    p.parse("The cat sat")                    # {"heads": [2, 3, 0], "deprels": [...]}
    rnnlab.export("runs/parser", "parser.rnnlab")   # one file: rnnlab.load reads it alone

Per kind of run: classify (classification), score / generate (lm, chars), tag (tagging),
parse / parse_many (parsing), lemmatize / lemmatize_many (seq2seq), embed (all but
parsing). Another kind's method is a ValueError that names the run's kind. Inputs are
token lists or whitespace-split strings (a character LM reads strings as characters);
unknown words are `<unk>`, as in training. The work is the task's own inference helpers
(`Task.for_inference`: no data needed), batched by length, so many inputs cost few
compilations and padding changes nothing.

An exported file is a `flax.serialization` msgpack dict: the parameters (arrays), the
model spec, config, vocabularies and inference tables (JSON text), the task and step, and
a format tag and version, so a file that is not one is refused with a sentence, not a
traceback.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types

import flax.serialization
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from etils import epath

from rnnlab import cells, models, runs, tasks
from rnnlab import generate as sampling
from rnnlab.data import batching, local_formats, pipeline
from rnnlab.data.vocab import BOS, EOS, Vocab

EXPORT_FORMAT, EXPORT_VERSION = "rnnlab.export", 1
EMBEDS = ("classification", "lm", "chars", "tagging", "seq2seq")  # kinds with an encoder


def load(path: str, *, best: bool = True) -> Predictor:
    """The predictor of a file written by `export`, or of a run folder's best (or
    latest) checkpoint (see `runs.load`)."""
    if epath.Path(path).is_file():
        return Predictor(_read_export(path))
    if not epath.Path(path).exists():
        raise FileNotFoundError(f"{path}: no such run folder or file written by rnnlab.export")
    if not runs.has_checkpoint(path, best=best):
        raise ValueError(f"{path} is neither a training run folder (no checkpoint in "
                         f"{runs.checkpoint_dir(path, best=best)}) nor a file written by "
                         "rnnlab.export")  # fmt: skip
    return Predictor(runs.load(path, best=best))


def load_ensemble(paths, *, best: bool = True) -> Predictor:
    """One predictor from runs of one config that differ only in their seed: it decodes by
    the mean of their probabilities (seq2seq runs: `lemmatize`). Runs of different tasks,
    models, vocabularies or train dictionaries are refused: they are no ensemble."""
    members = [load(p, best=best).run for p in paths]
    if not members:
        raise ValueError("an ensemble needs at least one run")
    first = members[0]
    if not tasks.REGISTRY[first.task].ENSEMBLES:
        raise ValueError(f"{first.workdir} holds a {first.task!r} model; only seq2seq runs "
                         "decode as an ensemble")  # fmt: skip
    for run in members[1:]:
        for what, same in (("task", lambda r: r.task),
                           ("model", lambda r: models.spec_of(r.model)),
                           ("vocabularies", lambda r: {k: v.tokens for k, v in r.vocabs.items()}),
                           ("train dictionary", lambda r: r.tables)):  # fmt: skip
            if same(run) != same(first):
                raise ValueError(f"{run.workdir} and {first.workdir} differ in their {what}: "
                                 "an ensemble is runs of one config and data")  # fmt: skip
    params = tuple(run.params for run in members)
    return Predictor(dataclasses.replace(first, workdir=",".join(r.workdir for r in members),
                                         params=params))  # fmt: skip


def export(workdir: str, path: str, *, best: bool = True) -> str:
    """Writes the run's best (or latest) model as one file at `path` (returned):
    everything `load` needs, without the training data or the run folder."""
    run = load(workdir, best=best).run
    payload = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "task": run.task,
        "step": run.step,
        "model": json.dumps(models.spec_of(run.model)),
        "config": run.config.to_json(),
        "vocabs": {k: json.dumps([v.tokens, v.lowercase]) for k, v in run.vocabs.items()},
        "tables": {k: json.dumps(v) for k, v in run.tables.items()},
        "params": run.params,  # dicts and lists (as orbax restores them) of arrays
    }
    epath.Path(path).write_bytes(flax.serialization.msgpack_serialize(payload))
    return path


def _read_export(path: str) -> runs.Run:
    try:
        payload = flax.serialization.msgpack_restore(epath.Path(path).read_bytes())
        if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
            raise ValueError("no rnnlab.export format tag")
        if payload["version"] != EXPORT_VERSION:
            raise ValueError(f"format version {payload['version']}, this rnnlab reads "
                             f"{EXPORT_VERSION}")  # fmt: skip
        vocabs = {}
        for name, text in payload["vocabs"].items():
            tokens, lowercase = json.loads(text)
            vocabs[name] = Vocab(tuple(tokens), lowercase)
        model = models.build(json.loads(payload["model"]))
        config = ml_collections.ConfigDict(json.loads(payload["config"]))
        params = jax.tree.map(jnp.asarray, payload["params"])
        tables = {k: json.loads(v) for k, v in payload.get("tables", {}).items()}
        return runs.Run(str(path), payload["task"], model, params, vocabs, config,
                        int(payload["step"]), tables)  # fmt: skip
    except Exception as e:  # any damage: one sentence that says what was expected
        raise ValueError(f"{path} is not a model file written by rnnlab.export "
                         f"({type(e).__name__}: {e})") from None  # fmt: skip


def _tokens(text) -> list[str]:
    tokens = text.split() if isinstance(text, str) else list(text)
    if not tokens:
        raise ValueError("an input has no tokens")
    return tokens


class Predictor:
    def __init__(self, run: runs.Run):
        self.run, self.kind = run, run.task
        cls = tasks.REGISTRY.get(run.task)
        self.task = cls and cls.for_inference(run.config, run.vocabs, run.model, run.tables)
        # The class names of a data set with named labels (tsv:/jsonl:, in memory).
        labels = run.vocabs.get("labels")
        self.labels = None if labels is None else list(labels.tokens[1:])  # [0] is padding

    def _need(self, method: str, *kinds: str) -> None:
        if self.kind not in kinds:
            raise ValueError(f"{method}() is for {' / '.join(kinds)} models; "
                             f"{self.run.workdir} holds a {self.kind!r} model")  # fmt: skip

    def classify(self, texts) -> list[dict]:
        """{"label": the likeliest class, "probs": every class's probability} per text;
        a class is its name where the data named them (`labels`, the order of "probs")."""
        self._need("classify", "classification")
        probs_NxC = self.task.class_probs(self.run.params, [_tokens(t) for t in texts])
        names = self.labels or range(probs_NxC.shape[1])
        return [{"label": names[int(p.argmax())], "probs": p.tolist()} for p in probs_NxC]

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

    def lemmatize_many(self, sentences, upos=None, *, beam_size: int = 1,
                       dictionary: bool = True) -> list[list[str]]:  # fmt: skip
        """The lemma of each word of each sentence (with each word's UPOS tag, if the
        model reads features), as the run's combined lemmatizer gives it
        (`Seq2Seq.predict`): the train dictionary for a (word, UPOS) seen in train, the
        character encoder-decoder for the rest. A word before a PROPN of its sentence
        stands in a name (`local_formats.in_name`), where the lexicon may keep its
        capital. `dictionary` False, or a run that saved no dictionary: the model alone."""
        self._need("lemmatize", "seq2seq")
        sentences = [_tokens(s) for s in sentences]
        if "features" in self.run.vocabs and upos is None:
            raise ValueError("this lemmatizer reads UPOS tags: pass upos (one per word)")
        tags = [None] * len(sentences) if upos is None else [list(u) for u in upos]
        if len(tags) != len(sentences):
            raise ValueError(f"{len(sentences)} sentences but {len(tags)} lists of UPOS tags")
        for i, (words, sentence_upos) in enumerate(zip(sentences, tags, strict=True)):
            if sentence_upos is not None and len(sentence_upos) != len(words):
                raise ValueError(f"sentence {i}: {len(words)} words but {len(sentence_upos)} "
                                 "UPOS tags: pass one per word")  # fmt: skip
        flat = [list(w) for words in sentences for w in words]
        decoded = self.task.predict(
            self.run.params, flat,
            None if upos is None else [u for sentence_upos in tags for u in sentence_upos],
            None if upos is None else [n for u in tags for n in local_formats.in_name(u)],
            beam_size=beam_size, dictionary=dictionary,
        )  # fmt: skip
        lemmas = iter("".join(chars) for chars in decoded)
        return [[next(lemmas) for _ in words] for words in sentences]

    def lemmatize(self, words, upos=None, *, beam_size: int = 1,
                  dictionary: bool = True) -> list[str]:  # fmt: skip
        """One sentence's lemmas (see `lemmatize_many`)."""
        return self.lemmatize_many([words], None if upos is None else [upos],
                                   beam_size=beam_size, dictionary=dictionary)[0]  # fmt: skip

    def embed(self, texts) -> np.ndarray:
        """[N, D] float32: one vector per text, what the model's encoder reads it into.

        classification: the classifier's sentence vector (its pooling of the RNN states:
        the input of the class layer); lm / chars: the top layer's state h after the
        text, read as `score` reads it (after `<s>`, a stream LM's after `</s>`, a
        character LM's after a line break; no end mark); tagging: the top BiRNN layer's
        final forward h (after the last word) and backward h (after the first word),
        concatenated; seq2seq: the same for the encoder over one word's characters."""
        self._need("embed", *EMBEDS)
        if isinstance(self.run.params, tuple):
            raise ValueError("embed() reads one model's encoder; this predictor is an ensemble")
        vocabs, encoded = self.run.vocabs, None
        if self.kind == "seq2seq":
            ids_N = [vocabs["words"].encode(_tokens(list(word))) for word in texts]
        elif self.kind == "tagging":
            encoded = [pipeline.encode({"tokens": _tokens(t)}, vocabs["words"],
                                       char_vocab=vocabs.get("chars")) for t in texts]  # fmt: skip
            ids_N = [e["tokens"] for e in encoded]
        else:
            start = {"chars": ["\n"], "lm": [EOS if self.run.config.lm_mode == "stream" else BOS]}
            inputs = [self._lm_input(t) if self.kind != "classification" else _tokens(t)
                      for t in texts]  # fmt: skip
            ids_N = [vocabs["words"].encode([*start.get(self.kind, []), *x]) for x in inputs]
        vectors = functools.partial(_vectors, self.kind, self.run.model, self.run.params)

        def fn(tokens_BxT, mask_BxT, index_B):
            if encoded is None or "chars" not in vocabs:
                return vectors(tokens_BxT, mask_BxT)
            words_B = [encoded[i]["chars"] if real else []  # filler rows: no characters
                       for i, real in zip(index_B, mask_BxT.any(-1), strict=True)]  # fmt: skip
            return vectors(tokens_BxT, mask_BxT, batching.pad_chars(words_B, *tokens_BxT.shape))

        rows = min(self.run.config.eval_batch_size, len(ids_N))
        return batching.map_by_length(fn, ids_N, rows=rows, pad_multiple=8,
                                      per_row=[np.arange(len(ids_N))])  # fmt: skip

    def __repr__(self) -> str:
        return f"Predictor({self.kind!r} model of {self.run.workdir}, step {self.run.step})"


def _rnn_call(module, name: str) -> bool:
    """The tagger's BiRNN (not the one inside its character encoder)."""
    return name == "__call__" and module.path == ("rnn",)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _vectors(kind: str, model, params, tokens_BxT, mask_BxT, chars_BxTxW=None) -> jax.Array:
    """[B, D] sentence vectors of one batch (see `Predictor.embed`)."""
    variables = {"params": params}
    if kind == "classification":
        return model.apply(variables, tokens_BxT, mask_BxT)[1]
    if kind in ("lm", "chars"):  # the carry holds still on padding: the last real step's
        return cells.carry_output(model.apply(variables, tokens_BxT, mask_BxT)[1][-1])
    if kind == "seq2seq":  # the feature (UPOS) embedding is not part of the encoder's carry
        features_B = jnp.zeros(tokens_BxT.shape[0], jnp.int32)
        memory = model.apply(variables, tokens_BxT, mask_BxT, features_B, method="encode")
        return cells.carry_output(memory["carry"][-1])
    _, state = model.apply(variables, tokens_BxT, mask_BxT, chars_BxTxW,
                           capture_intermediates=_rnn_call, mutable=["intermediates"])  # fmt: skip
    carries, _ = state["intermediates"]["rnn"]["__call__"][0]
    return jnp.concatenate([cells.carry_output(c) for c in carries[-1]], axis=-1)
