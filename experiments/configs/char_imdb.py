r"""python -m experiments.train --config=experiments/configs/char_imdb.py --workdir=/tmp/char_imdb

A character LM on IMDB review text for the sentiment unit (Radford et al. 2017, issue 18):
the 22.5k labelled training reviews + the 50k unlabelled ones as one character stream
(raw text, one review per line; "imdb:chars,unsup", 95M characters, 223 distinct),
dev = the 2.5k dev reviews. 1x512 LSTM, BPTT 100 stream, batch 64, Adam 2e-3. Then:

    python -m experiments.cell_activations --workdir=/tmp/char_imdb --labelled=imdb:chars \
        --pooling=mean --max_examples=3000 --text_file=review.txt --out=/tmp/char_imdb/mean

Result (seed 0; 4500 steps = 28.8M characters seen, 0.30 of an epoch; 3569 s on the 2
shared CPU cores, load 4-10, 6-14k chars/s): dev 1.528 nats/char (train stream 1.32; dev
1.597 at step 2250). The sentiment probes, dev accuracy of the best single unit (chosen
on train) / of all 1024 units (h and c):
    IMDB dev (3000 train reviews -> 2500 dev)   final state 0.507 / 0.566   mean 0.550 / 0.705
    SST-2 dev (sst:binary, all 6920 -> 872)     mean 0.550 / 0.658
Targets (single >= 0.75, all >= 0.85) NOT reached: at 29M characters and 512 units no
sentiment unit has formed (Radford et al.: 4096 mLSTM units, 82M reviews, a month on 4
GPUs). The probe extraction takes 4-6 min for 5.5k reviews. What to try next: more
characters (the 75 min budget buys ~30M here), a wider layer, mLSTM.
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
    c.num_steps = 4500
    c.eval_every = 2250
    c.checkpoint_every = 500
    return c
