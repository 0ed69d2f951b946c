r"""python -m experiments.train --config=experiments/configs/ptb_small.py --workdir=/tmp/ptb_small

Zaremba et al. (2014) small: 2x200 LSTM, BPTT 35 stream with carried state, batch 20,
SGD lr 1 (x0.5 per epoch after 4), clip 5, 13 epochs, no dropout (Zaremba: 120.7).
Measured on 2 shared CPU cores, valid perplexity after epochs 1-8: 203.9, 156.2, 133.5,
125.2, 123.7, 117.1, 116.7 (best), 117.7; stopped by SIGTERM at step 11584 (8.7 epochs,
about 2 h niced behind other jobs; about 6 min per epoch on an idle machine).
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
    c.model.embed_dim = 200
    c.model.hidden_size = 200
    c.model.num_layers = 2
    c.model.dropout = 0.0
    c.optimizer = "sgd"
    c.learning_rate = 1.0
    c.lr_decay = 0.5
    c.decay_after_epochs = 5  # Zaremba: 4; the measured runs here had 5 full-lr epochs
    c.clip_norm = 5.0
    c.loss_normalizer = "rows"  # sum over the 35 steps, mean over rows (as Zaremba)
    c.num_epochs = 13
    c.eval_every = 1327  # one epoch
    c.checkpoint_every = 500
    c.metric = "perplexity"
    return c
