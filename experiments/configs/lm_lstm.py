r"""python -m experiments.train --config=experiments/configs/lm_lstm.py --workdir=/tmp/lm_lstm

The course's lm-lstm on PTB: emb 64, LSTM 128, whole sentences with <s> and </s>,
Adam 1e-3 (batch 16 here; the course used batch 1). Measured on 2 shared CPU cores, one
epoch (2630 steps, 770 s while another job ran): valid perplexity 247.9.
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ptb"
    c.lm_mode = "sentences"
    c.bucketing = "none"  # sentences in random order, as one-at-a-time training sees them
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 128
    c.batch_size = 16
    c.num_epochs = 1
    c.eval_every = 1000
    c.metric = "perplexity"
    return c
