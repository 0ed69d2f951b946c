r"""python -m experiments.train --config=experiments/configs/char_imdb.py --workdir=/tmp/char_imdb

A character LM on IMDB review text for the sentiment unit (Radford et al. 2017, issue 18):
the 22.5k labelled training reviews + the 50k unlabelled ones as one character stream
(raw text, one review per line; "imdb:chars,unsup", 95M characters, 223 distinct),
dev = the 2.5k dev reviews. 1x512 LSTM, BPTT 100 stream, batch 64, Adam 2e-3. Then:

    python -m experiments.cell_activations --workdir=/tmp/char_imdb --labelled=imdb:chars \
        --pooling=mean --max_examples=3000 --text_file=review.txt --out=/tmp/char_imdb/mean

Result (seed 0, the defaults: 9000 steps = 57.6M characters seen, 0.61 of an epoch; 4927 s
of training = 82 min, run in three resumed stages of 3000 on the 2 idle CPU cores, 12-13k
chars/s, 5.4 GB peak; reading the corpus takes ~3 min per start). Dev nats/char and the
sentiment probes on mean states, IMDB dev accuracy of the best single unit (chosen on the
3000 train reviews) / of all 1024 units (h and c), 4-6 min per probe (15.8 GB peak):
    step 1500 (9.6M chars)    dev 1.661
    step 3000 (19.2M chars)   dev 1.396   probes 0.557 / 0.727
    step 4500 (28.8M chars)   dev 1.350
    step 6000 (38.4M chars)   dev 1.336   probes 0.579 / 0.752   (55 min of training)
    step 7500 (48.0M chars)   dev 1.305
    step 9000 (57.6M chars)   dev 1.304   probes 0.588 / 0.760   (train stream 1.286)
    step 9000, the probes trained on all 22,500 train reviews (--max_examples=0; 41 min
    beside a parser training, 5.9 GB peak):              probes 0.597 / 0.800
Targets (single >= 0.75, all >= 0.85) NOT reached: the all-unit probe climbs ~3 points
per doubling of the characters seen and the best unit ~2; no single sentiment unit forms
at 512 units and 58M characters (Radford et al.: 4096 mLSTM units, 82M reviews, a month
on 4 GPUs). An earlier run of this config (4500 steps under load 4-10, the eighth session)
logged dev 1.528 at the same train loss (1.32) and probes 0.550 / 0.705 (final state:
0.507 / 0.566; SST-2 dev, mean: 0.550 / 0.658). What to try next: a wider layer or an
mLSTM on a GPU, many more characters.
"""

from experiments.configs import char_shakespeare


def get_config():
    """char_shakespeare's stream set-up (BPTT 100, batch 64, Adam 2e-3, samples) on IMDB
    with one wider layer, no dropout, and more steps."""
    c = char_shakespeare.get_config()
    c.dataset = "imdb:chars,unsup"
    c.model.hidden_size = 512
    c.model.num_layers = 1
    c.model.dropout = 0.0
    c.num_steps = 9000
    c.eval_every = 1500
    c.checkpoint_every = 500
    return c
