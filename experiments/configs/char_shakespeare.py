r"""python -m experiments.train --config=experiments/configs/char_shakespeare.py \
    --workdir=/tmp/char_shakespeare

Character LM on tiny shakespeare (first 90% train, last 10% valid): 2x256 LSTM,
BPTT 100 stream, batch 64, Adam 2e-3; prints samples at the end.
Valid loss: 1.5456 nats/char at step 2200 (about 14 epochs; 1.603 at 1500, 1.700 at 1000),
about 31 min on 2 shared CPU cores (run in four resumed parts).
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "shakespeare"
    c.lm_mode = "stream"
    c.seq_len = 100
    c.batch_size = 64
    c.eval_batch_size = 64
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 256
    c.model.num_layers = 2
    c.model.dropout = 0.1
    c.learning_rate = 2e-3
    c.num_steps = 2200
    c.eval_every = 500
    c.metric = "loss"
    c.sample.num = 3
    c.sample.length = 300
    c.sample.temperature = 0.8
    return c
