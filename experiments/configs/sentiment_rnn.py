r"""python -m experiments.train --config=experiments/configs/sentiment_rnn.py \
    --workdir=/tmp/sentiment_rnn

The course's sentiment-rnn: as sentiment_lstm with Elman RNNs. Dev accuracy: TBD.
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "sst"
    c.model.cell = "elman"
    c.model.embed_dim = 64
    c.model.hidden_size = 64
    c.model.bidirectional = True
    c.model.pooling = "final"
    c.num_epochs = 5
    c.eval_every = 267
    c.metric = "accuracy"
    c.vocab_min_count = 2  # singletons become <unk>, so <unk> is trained
    return c
