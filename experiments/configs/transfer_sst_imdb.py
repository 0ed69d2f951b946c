r"""python -m experiments.transfer --config=experiments/configs/transfer_sst_imdb.py \
    --workdir=/tmp/transfer_sst_imdb

SST-5 from in-domain text (issue 17): transfer_sst's classifier and protocol, but the LM
reads movie reviews instead of PTB + SST: the 22.5k training + 50k unlabelled IMDB
reviews as Treebank-style words ("imdb:unsup,words", SST's tokenization, lowercased),
a truncated-BPTT stream, emb 128, LSTM 128, untied, a sampled softmax over the 40k most
frequent words. The classifier's vocabulary is SST train's, mapped to the LM's by word.

Result (2026-12-02, 2 CPU cores, load 2-9 with other jobs): the LM read 13.4M words
(6000 steps of 64 x 35, 0.69 of an epoch) in 1994 s, dev perplexity 149.9 (PTB + SST's
LM in transfer_sst: 313.7). SST-5 dev accuracy %, each run's best dev checkpoint,
pretrained - random per seed (30-230 s a classifier, most 40-80 s):
    fine-tuning steps, seeds        pretrained      random          difference (paired t)
    3200 (shipped), 20-39           42.34 +- 0.72   40.75 +- 0.68   +1.58 +- 0.96 (7.36, 19 df)
      of which 20-29                42.10 +- 0.81   40.78 +- 0.60   +1.32 +- 0.86 (4.83)
      and 30-39                     42.58 +- 0.57   40.73 +- 0.79   +1.85 +- 1.03 (5.72)
    1600 (transfer_sst's), 20-39                                    +1.47 +- 1.05 (6.26)
      of which 20-29 (the first measurement)                        +1.19 +- 1.03 (3.65)
Target (>= +1.5 over >= 10 fresh seeds) met by the shipped config over all 20. In order:
transfer_sst's 1600 steps on seeds 20-29 gave +1.19, with the pretrained arm's best
checkpoints at steps 1200-1600 (still rising; the random arm peaks at 400-800), so 3200
steps were screened on seeds 0-2 (+1.73 +- 0.40; the same runs' first 1600 steps +1.27),
then confirmed on fresh seeds 30-39 and rerun on 20-29 (numbers at 1600 above: those
runs' first 1600 steps, which are the 1600-step runs). In-domain text roughly triples
the PTB LM's gain (+0.50 +- 0.72 over 15 seeds); a longer fine-tuning adds about 0.1.
391 of the classifier's 8,219 words are not in the LM's vocabulary (rare words, and SST's
conventions the Treebank tokenizer does not write: -lrb-, -rrb-, `, mr.,
writer\/director); they keep random embeddings.
"""

from experiments.configs import transfer_sst


def get_config():
    c = transfer_sst.get_config()
    c.seeds = tuple(range(20, 40))  # fresh: seeds 0-19 chose transfer_sst's settings
    lm = c.pretrain
    lm.dataset = "imdb:unsup,words"
    lm.vocab_min_count = 5
    lm.vocab_max_size = 40_000
    lm.model.sampled_softmax = 1024
    lm.batch_size = 64
    lm.num_steps = 6000
    lm.eval_every = 3000
    lm.checkpoint_every = 500
    c.finetune.num_steps = 3200  # 12 epochs: the pretrained arm still rose at 1600
    return c
