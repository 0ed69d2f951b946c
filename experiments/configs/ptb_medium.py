r"""python -m experiments.train --config=experiments/configs/ptb_medium.py --workdir=/tmp/ptb_medium

Zaremba et al. (2014) medium: 2x650 LSTM, dropout 0.5, BPTT 35, batch 20, SGD lr 1
(/1.2 per epoch after 6), clip 5, 39 epochs. Needs a GPU (hours on 2 CPU cores).
Valid perplexity: not measured here (Zaremba: 86.2).
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ptb"
    c.lm_mode = "stream"
    c.seq_len = 35
    c.batch_size = 20
    c.eval_batch_size = 20
    c.model.cell = "lstm"
    c.model.embed_dim = 650
    c.model.hidden_size = 650
    c.model.num_layers = 2
    c.model.dropout = 0.5
    c.optimizer = "sgd"
    c.learning_rate = 1.0
    c.lr_decay = 1 / 1.2
    c.decay_after_epochs = 6
    c.clip_norm = 5.0
    c.loss_normalizer = "rows"
    c.num_epochs = 39
    c.eval_every = 1327
    c.checkpoint_every = 1000
    c.metric = "perplexity"
    return c
