r"""python -m experiments.train --config=experiments/configs/lm_minibatch.py \
    --workdir=/tmp/lm_minibatch

The course's lm-minibatch on PTB: as lm_lstm, batch 16 of sentences sorted by length
(padding + 0/1 masks on the per-step losses). Valid perplexity: TBD.
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ptb"
    c.lm_mode = "sentences"
    c.bucketing = "pool"  # sort by length within shuffled pools
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 128
    c.batch_size = 16
    c.num_epochs = 1
    c.eval_every = 1000
    c.metric = "perplexity"
    return c
