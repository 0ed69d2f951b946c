r"""python -m experiments.train --config=experiments/configs/sentiment_rnn.py \
    --workdir=/tmp/sentiment_rnn

The course's sentiment-rnn: as sentiment_lstm with Elman RNNs. Dev accuracy: TBD.
"""

from experiments.configs import sentiment_lstm


def get_config():
    c = sentiment_lstm.get_config()
    c.model.cell = "elman"
    return c
