"""rnnlab: recurrent neural networks for NLP in JAX."""

from rnnlab import builder, cells, recurrent

__all__ = ["builder", "cells", "recurrent"]
