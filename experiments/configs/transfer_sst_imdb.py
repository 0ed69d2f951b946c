r"""python -m experiments.transfer --config=experiments/configs/transfer_sst_imdb.py \
    --workdir=/tmp/transfer_sst_imdb

SST-5 from in-domain text (issue 17): transfer_sst's classifier and protocol, but the LM
reads movie reviews instead of PTB + SST: the 22.5k training + 50k unlabelled IMDB
reviews as Treebank-style words ("imdb:unsup,words", SST's tokenization, lowercased),
a truncated-BPTT stream, emb 128, LSTM 128, untied, a sampled softmax over the 40k most
frequent words. The classifier's vocabulary is SST train's, mapped to the LM's by word.

Result (2026-12-02, 2 CPU cores, load 2-9 with other jobs): the LM read 13.4M words
(6000 steps of 64 x 35, 0.69 of an epoch) in 1994 s, dev perplexity 149.9 (PTB + SST's
LM in transfer_sst: 313.7). SST-5 dev accuracy over the 10 fresh seeds 20-29, each
run's best dev checkpoint (29-63 s a classifier):
    pretrained 41.97 +- 0.92   random 40.78 +- 0.60   difference +1.19 +- 1.03 (paired t
    3.65, 9 df; per seed -0.18 +0.73 +2.36 +0.91 -0.73 +2.45 +1.45 +1.82 +1.63 +1.45)
In-domain text more than doubles the PTB LM's gain (+0.50 +- 0.72 over 15 seeds), short
of the +1.5 target. 391 of the classifier's 8,219 words are not in the LM's vocabulary
(rare words, and SST's own conventions the Treebank tokenizer does not write: -lrb-,
-rrb-, `, mr., writer\/director); they keep random embeddings. The pretrained arm's best
checkpoints come late (steps 1200-1600 of 1600), the random arm's early (400-800).
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
