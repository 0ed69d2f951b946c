r"""python -m experiments.train --config=experiments/configs/char_imdb.py --workdir=/tmp/char_imdb

A character LM on IMDB review text for the sentiment unit (Radford et al. 2017, issue 18):
the 50k unlabelled reviews + the 22.5k labelled training reviews as one character
stream (raw text, one review per line; "imdb:chars,unsup"), dev = the 2.5k dev reviews.
1x512 LSTM, BPTT 100 stream, batch 64, Adam 2e-3. Then:

    python -m experiments.cell_activations --workdir=/tmp/char_imdb --labelled=imdb:chars ...

Result: (filled in after the run)
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "imdb:chars,unsup"
    c.lm_mode = "stream"
    c.seq_len = 100
    c.batch_size = 64
    c.eval_batch_size = 64
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 512
    c.model.num_layers = 1
    c.learning_rate = 2e-3
    c.num_steps = 4500
    c.eval_every = 2250
    c.checkpoint_every = 500
    c.metric = "loss"
    c.sample.num = 3
    c.sample.length = 300
    c.sample.temperature = 0.8
    return c
