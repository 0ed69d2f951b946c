"""rnnlab: recurrent neural networks for NLP in JAX.

predictor = rnnlab.load(workdir)   # a trained run as calls (rnnlab.predict)
rnnlab.load_ensemble([run_a, run_b])  # seeds of one seq2seq config, decoded together
rnnlab.export(workdir, "model.rnnlab")   # ... as one file that rnnlab.load reads
"""

from rnnlab import builder, cells, recurrent

# Where the repository lives (a placeholder until it is published): the Colab badge and the
# install cell of every notebook, and the README's install line, use exactly this address
# (tests/test_colab.py).
REPO_URL = "https://github.com/rnnlab/rnnlab"

__all__ = ["Predictor", "builder", "cells", "export", "load", "load_ensemble", "recurrent"]


def __getattr__(name: str):
    # On first use: rnnlab.predict imports every task.
    if name in ("load", "load_ensemble", "export", "Predictor"):
        from rnnlab import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
