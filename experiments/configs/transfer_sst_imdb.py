r"""python -m experiments.transfer --config=experiments/configs/transfer_sst_imdb.py \
    --workdir=/tmp/transfer_sst_imdb

SST-5 from in-domain text (issue 17): transfer_sst's classifier and protocol, but the LM
reads movie reviews instead of PTB + SST: the 22.5k training + 50k unlabelled IMDB
reviews as Treebank-style words ("imdb:unsup,words", SST's tokenization, lowercased),
a truncated-BPTT stream, emb 128, LSTM 128, untied, a sampled softmax over the 40k most
frequent words. The classifier's vocabulary is SST train's, mapped to the LM's by word.

Result: see the end of this docstring once measured.
"""

from experiments.configs import transfer_sst


def get_config():
    c = transfer_sst.get_config()
    c.seeds = tuple(range(20, 30))  # fresh: seeds 0-19 chose transfer_sst's settings
    lm = c.pretrain
    lm.dataset = "imdb:unsup,words"
    lm.vocab_min_count = 5
    lm.vocab_max_size = 40_000
    lm.model.sampled_softmax = 1024
    lm.batch_size = 64
    lm.num_steps = 6000
    lm.eval_every = 3000
    lm.checkpoint_every = 500
    return c
