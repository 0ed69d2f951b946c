r"""Sentence retrieval: the corpus sentences nearest to a query, by a trained encoder.

    python -m experiments.retrieve --workdir=/tmp/sentiment_lstm \
        --query="a gripping , funny film" --corpus=../shared/data/classes/dev.txt --k=5

The run's model embeds the query and every corpus sentence (`LABEL ||| tokens` lines):
a classifier's sentence vector, or an LM's final hidden state (`rnnlab.retrieval`).
Prints the k nearest by cosine similarity, best first, one `cosine  sentence` line each.
"""

from absl import flags

from experiments import cli
from rnnlab import retrieval, runs
from rnnlab.data import formats


def retrieve(workdir: str, query: str, corpus_path: str, k: int = 5) -> list[tuple[float, str]]:
    """(cosine, sentence) of the k corpus sentences nearest to the tokenized query."""
    run = runs.load(workdir)
    corpus = [ex["tokens"] for ex in formats.read_classes(corpus_path)]
    corpus_NxS = retrieval.embed(run.model, run.params, run.vocabs["words"], corpus)
    query_1xS = retrieval.embed(run.model, run.params, run.vocabs["words"], [query.split()])
    indices_1xK, cosine_1xK = retrieval.nearest(query_1xS, corpus_NxS, k)
    return [
        (float(cosine), " ".join(corpus[i]))
        for i, cosine in zip(indices_1xK[0], cosine_1xK[0], strict=True)
    ]


def define_flags() -> None:
    """Only when run as a script, so that several CLIs import into one process."""
    flags.DEFINE_string("workdir", None, "a trained classifier or LM run")
    flags.DEFINE_string("query", None, "a tokenized sentence")
    flags.DEFINE_string("corpus", None, "sentences to search, `LABEL ||| sentence` lines")
    flags.DEFINE_integer("k", 5, "neighbours to print")
    flags.mark_flags_as_required(["workdir", "query", "corpus"])


def main(argv):
    cli.start(argv)
    f = flags.FLAGS
    for cosine, sentence in retrieve(f.workdir, f.query, f.corpus, f.k):
        print(f"{cosine:.3f}  {sentence}")


if __name__ == "__main__":
    cli.run(define_flags, main)
