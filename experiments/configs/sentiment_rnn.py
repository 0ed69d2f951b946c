r"""python -m experiments.train --config=experiments/configs/sentiment_rnn.py \
    --workdir=/tmp/sentiment_rnn

The course's sentiment-rnn: as sentiment_lstm with Elman RNNs. Dev accuracy:
35.7% (best at epoch 2 of 5, 1335 steps, 53 s on 2 shared CPU cores).
"""

from experiments.configs import sentiment_lstm


def get_config():
    c = sentiment_lstm.get_config()
    c.model.cell = "elman"
    return c
