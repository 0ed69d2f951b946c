r"""python -m experiments.train --config=experiments/configs/sentiment_lstm.py \
    --workdir=/tmp/sentiment_lstm

The course's sentiment-lstm: SST 5-class, emb 64, BiLSTM 64+64, final states
concatenated, Adam 1e-3, clip 5 (batch 32 instead of 1).
Dev accuracy: 40.3% (best at epoch 2 of 5, 1335 steps, 2.6 min on 2 shared CPU cores).
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "sst"
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 64
    c.model.bidirectional = True
    c.model.pooling = "final"
    c.num_epochs = 5
    c.eval_every = 267  # one epoch of 8544 sentences
    c.metric = "accuracy"
    c.vocab_min_count = 2  # singletons become <unk>, so <unk> is trained
    return c
