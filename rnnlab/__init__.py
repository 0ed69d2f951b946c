"""rnnlab: recurrent neural networks for NLP in JAX.

predictor = rnnlab.load(workdir)   # a trained run as calls (rnnlab.predict)
rnnlab.export(workdir, "model.rnnlab")   # ... as one file that rnnlab.load reads
"""

from rnnlab import builder, cells, recurrent

__all__ = ["Predictor", "builder", "cells", "export", "load", "recurrent"]


def __getattr__(name: str):
    if name in ("load", "export", "Predictor"):  # on first use: rnnlab.predict imports every task
        from rnnlab import predict

        return getattr(predict, name)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
