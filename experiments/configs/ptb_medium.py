r"""python -m experiments.train --config=experiments/configs/ptb_medium.py --workdir=/tmp/ptb_medium

Zaremba et al. (2014) medium: 2x650 LSTM, dropout 0.5, BPTT 35, batch 20, SGD lr 1
(/1.2 per epoch after 6), clip 5, 39 epochs (51,792 steps).
Measured on one NVIDIA H100 (jax 0.11.2, 2026-11-26; scan unroll 4, the GPU default, and
--config.checkpoint_every=10000): valid perplexity **85.63** (Zaremba: 86.2) at epoch 38,
85.66 after 39, in 221 s of training. By epoch: 252.8, 172.7, 139.5, 122.9, 113.0, 106.7,
102.4, 96.8, 93.4, 91.6, 90.0, 88.6, ... 86.4 (20), ... 85.8 (30), ... 85.63 (38).
On 2 CPU cores it would take about 7 h (a 200-step sanity run: 123 s, valid perplexity
783.8 at step 200, about 0.5 s per step).
"""

from experiments.configs import ptb_small


def get_config():
    c = ptb_small.get_config()
    c.model.embed_dim = 650
    c.model.hidden_size = 650
    c.model.dropout = 0.5
    c.lr_decay = 1 / 1.2
    c.decay_after_epochs = 7  # Zaremba: 6; the measured run here had 7 full-lr epochs
    c.num_epochs = 39
    c.checkpoint_every = 1000
    return c
