r"""python -m experiments.train --config=experiments/configs/ptb_medium.py --workdir=/tmp/ptb_medium

Zaremba et al. (2014) medium: 2x650 LSTM, dropout 0.5, BPTT 35, batch 20, SGD lr 1
(/1.2 per epoch after 6), clip 5, 39 epochs. Needs a GPU (hours on 2 CPU cores).
Valid perplexity: not measured (no GPU in this task; Zaremba: 86.2). CPU sanity run
(--config.num_steps=200, 2 idle cores, 123 s): train loss 7.75 -> 6.79 over steps
100 -> 200, valid perplexity 783.8 at step 200; about 0.5 s per step, so the 51,753
steps of 39 epochs would take about 7 h here. On a GPU:
    python -m experiments.train --config=experiments/configs/ptb_medium.py --workdir=/tmp/ptbm
"""

from experiments.configs import ptb_small


def get_config():
    c = ptb_small.get_config()
    c.model.embed_dim = 650
    c.model.hidden_size = 650
    c.model.dropout = 0.5
    c.lr_decay = 1 / 1.2
    c.decay_after_epochs = 6
    c.num_epochs = 39
    c.checkpoint_every = 1000
    return c
