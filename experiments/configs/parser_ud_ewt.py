r"""python -m experiments.train --config=experiments/configs/parser_ud_ewt.py --workdir=/tmp/parser

A graph-based dependency parser on UD English-EWT (issue 15), no pretrained embeddings,
no UPOS input: embeddings (100) of lowercased words + a character BiLSTM (char emb 50,
64+64) -> 2 BiLSTM layers 200+200, dropout 0.33, word dropout 0.25 -> Dozat & Manning's
biaffine scorer (arc MLPs 400, relation MLPs 100) over full relations (subtypes kept, as
the CoNLL 2018 LAS), and a UPOS classifier over the top BiLSTM states whose loss (x 0.5)
is added (multi-task: the tags are learned, never read). Model selection on greedy dev
LAS twice an epoch; at the end dev is parsed by MST (Chu-Liu/Edmonds, one root child),
greedy and Eisner (projective), UAS/LAS over all words, punctuation included.
`--config.parser.scorer=mlp` is Kiperwasser & Goldberg's MLP scorer on the same budget.

Result (seed 0, 24 epochs = 9408 steps, lr 2e-3 for 10 epochs then x 0.9 every epoch;
2026-12-02, eleventh and twelfth sessions, 2 CPU cores, started niced beside other
trainings, preempted at step 1939 and resumed, 5419 s in the second part alone, so no
clean wall time: at the 1,700-2,000 tokens/s the last idle epochs ran, 24 epochs of 204k
words take about 45 minutes): best dev greedy LAS at step 9212 (epoch 23.5); dev UAS / LAS
with MST 88.10 / 84.73 (0 non-trees), greedy 88.07 / 84.72 (89 of 2001 sentences not
trees, 48 not one root), Eisner 88.26 / 84.86; the UPOS classifier 95.2% on dev; parsing
4.0k (MST) / 5.0k (greedy) / 2.7k (Eisner) words/s. Dev greedy UAS / LAS at epoch
4 / 8 / 10 / 12 / 16 / 20 / 24: 82.3 / 85.2 / 85.9 / 86.1 / 87.5 / 87.9 / 87.9 (LAS 77.2 /
80.9 / 81.7 / 82.1 / 83.8 / 84.5 / 84.6): the decay buys +1.8 UAS / +2.4 LAS over the
12-epoch constant-rate run below. Seed 1 (`--config.seed=1`, 3009 s on the 2 CPU cores,
mostly idle, 1.5-2.0k tokens/s; twelfth session): best greedy dev LAS at step 9212; MST
87.68 / 84.41, greedy 87.70 / 84.42 (89 not trees, 49 not one root), Eisner 87.91 / 84.60;
UPOS 95.2%; 3.9k / 5.1k / 2.7k words/s; greedy UAS at epoch 4 / 8 / 10 / 12 / 16 / 20 / 24:
82.1 / 85.1 / 85.7 / 86.0 / 87.1 / 87.6 / 87.7. Two-seed mean with MST 87.89 / 84.57.
Target UAS >= 89.0 and LAS >= 86.0 with MST: NOT met (-1.1 / -1.4 on the mean).
Gold UPOS as input (`--config.parser.upos_dim=50 --config.parser.upos_loss=0`; seed 0, 24
epochs, 6143 s on the 2 CPU cores shared with a 52-min probe extraction, load ~4;
fourteenth session): best greedy dev LAS at step 9016; MST 90.52 / 88.79, greedy 90.47 /
88.75 (73 not trees), Eisner 90.53 / 88.81 -- over the target, but with gold tags, which
no parser of raw text has. Fed instead the UPOS that the stand-alone parsers' classifiers
predict (95.2% on dev; trained on gold, tested on predicted; seed 0 / 1 tags): MST
87.98 / 84.81 and 88.07 / 84.85, what the stand-alone parser reaches by itself: a tagger
in front buys nothing over the multi-task UPOS loss.

12 epochs at a constant rate (`--config.num_epochs=12 --config.lr_decay=1.0`, the
config's default until the twelfth session; seed 0, 4704 steps, 3806 s on the 2 CPU cores
shared all along with another training and a CI run, load 4-6; tenth session): best dev
greedy LAS at step 4116 (epoch 10.5); dev UAS / LAS with MST 86.32 / 82.36 (0 non-trees),
greedy 86.30 / 82.36 (116 of 2001 sentences not trees, 77 not one root), Eisner 86.64 / 82.66;
the UPOS classifier 94.7% on dev; +0.33 / +0.23 over the same seed without the UPOS loss
(below); parsing 1.9k (MST) / 2.6k (greedy) words/s, loaded. Seed 1 (1877 s, half of it
beside another training): MST 85.98 / 82.06, greedy 85.98 / 82.05 (128 not trees),
Eisner 86.15 / 82.22; 3.9k (MST) / 4.7k (greedy) words/s. Mean of the two seeds 86.15 /
82.21: the UPOS loss's gain is within what a seed moves. Dev greedy UAS at epoch
2.5 / 4 / 6 / 8 / 10.5: 79.8 / 82.3 / 84.3 / 85.3 / 86.3. Target UAS >= 89.0 and LAS >=
86.0 with MST: NOT met (-2.7 / -3.6).

A moving average of the weights (`--config.ema_decay=0.999`, seed 0, fifteenth session,
4834 s shared with the test suite): ahead by 0.3-0.9 UAS while the rate is high (greedy
UAS at step 4704: 87.04 against 86.11), nothing at the end: MST 88.01 / 84.68, greedy
87.99 / 84.67 (82 not trees), Eisner 88.13 / 84.77 -- the lr decay already averages.

What did not help (seed 0, tenth session): 3 BiLSTM layers + Adam b2 0.9 (Dozat &
Manning's) + lr x 0.9 every epoch after the 5th + the UPOS loss: behind at every epoch
(UAS 75.4 at epoch 2.5, 81.0 at 5), best greedy dev 85.64 / 81.27 at epoch 10 (stopped at
epoch 11 of 14, 0.6-1.8 s a step shared); without the UPOS loss: 74.7 at epoch 2.5
(stopped there). Dozat & Manning trained 3 x 400 for 50k steps of 5000 tokens, about
100x the 2.4M tokens that 12 epochs here read; the 2 cores read about 600-1,100 tokens/s.

Larger batches (seventeenth session, another machine of the same kind, idle; two epochs
each, `--config.num_epochs=0 --config.num_steps=784 --config.batch_size=32` against
`--config.num_steps=196 --config.batch_size=128`): batch 128 reads 1.9-2.1k tokens/s,
batch 32 1.5-1.7k (x 1.3), and after the two epochs is at greedy dev LAS 44.6 against
70.1: the 2 cores gain little from wider matrices and the 4 x fewer updates cost far more.
That machine is slower than the one above: 398 s for the two epochs at batch 32, so this
config's 24 epochs would take about 80 minutes there, over the issue's 75.

Adam b2 0.9, Dozat & Manning's, on this config (`--config.adam_b2=0.9`, seed 0,
seventeenth session, the slower machine, stopped at epoch 10.5 after 32 min): greedy dev
UAS / LAS at epoch 2 / 4 / 8 / 10: 76.14 / 68.62, 81.47 / 76.01, 84.37 / 80.06, 85.25 /
80.96, against 77.14 / 70.09 with b2 0.999 on the same machine (the batch-32 run above)
and 82.3 / 77.2, 85.2 / 80.9, 85.9 / 81.7 in this config's seed 0 run: behind by 0.6-1.5
at every epoch.

A score per head distance (`--config.parser.distance_bins=20`: for each signed distance
h - d clipped to 20, and for the root, a score linear in the dependent's state, added to
the arc scores; Qi et al. 2018's distance and direction terms as categories; seed 0,
eighteenth session, the slower machine, idle, 3687 s = 61 min, 1.1-1.9k tokens/s): ahead
while the rate is high -- greedy dev UAS / LAS at epoch 2 / 4 / 10 78.37 / 71.08, 83.50 /
78.51, 86.59 / 82.46 against 77.14 / 70.09 (same machine) and this config's 82.3 / 77.2,
85.9 / 81.7 -- and at its plateau by epoch 14.5 (87.93 / 84.18), where this config got at
epoch 20; nothing at the end: best greedy dev LAS at step 8624, MST 88.25 / 84.83 (+0.15 /
+0.10 over this config's seed 0), greedy 88.21 / 84.85 (118 not trees), Eisner 88.36 /
84.95; 2.7k (MST) / 3.9k (greedy) / 1.6k (Eisner) words/s. Its dev loss bottoms at 0.67
at epoch 14 and climbs to 0.72 while the training loss falls from 0.35 to 0.22-0.27: the
plateau is overfitting, not too few updates.

Without the UPOS loss (`--config.parser.upos_loss=0`; seed 0, 12 epochs, 1653 s, about
12 min of it shared with a CI run; ninth session): best dev greedy LAS at step 4116; dev
UAS / LAS with MST 85.99 / 82.13 (0 non-trees), greedy 85.99 / 82.14 (112 of 2001
sentences not trees, 72 not one root), Eisner 86.27 / 82.38; parsing 5.6k (MST) / 6.3k
(greedy) / 3.1k (Eisner) words/s. Dev greedy UAS at epoch 0.5 / 2.5 / 6 / 8 / 10.5 / 12:
51.2 / 78.9 / 84.2 / 85.0 / 86.0 / 85.8 (about +1 point after epoch 8).
Kiperwasser & Goldberg's MLP scorer, same budget and seed (`--config.parser.scorer=mlp`,
3137 s shared with 2-3 other jobs, load 4-9): best greedy dev LAS at step 4312; MST
86.01 / 81.92, greedy 85.99 / 81.87 (160 of 2001 not trees, 54 not one root), Eisner
86.12 / 82.03; parsing 2.8k words/s (MST, loaded machine). The two scorers tie on UAS
(+0.02) and biaffine leads LAS by 0.2; MST repairs every non-tree for +0.02-0.05 points.
"""

import ml_collections

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ewt_deps"
    c.task = "parsing"
    c.model.cell = "lstm"
    c.model.embed_dim = 100
    c.model.hidden_size = 200
    c.model.num_layers = 2
    c.model.dropout = 0.33
    c.model.char_embed_dim = 50
    c.model.char_hidden_size = 64
    c.parser = ml_collections.ConfigDict()
    c.parser.scorer = "biaffine"  # or "mlp" (Kiperwasser & Goldberg 2016)
    c.parser.arc_dim = 400
    c.parser.rel_dim = 100
    c.parser.upos_dim = 0  # > 0: gold UPOS embeddings as input (off: the parser stands alone)
    c.parser.upos_loss = 0.5  # multi-task UPOS classifier (tags are no input)
    c.parser.word_dropout = 0.25  # training: a real word -> <unk>, so chars carry unseen words
    c.parser.distance_bins = 0  # K > 0: + a learned score per signed head distance up to K
    c.parser.decoders = ("mst", "greedy", "eisner")
    c.pad_multiple = 16  # few batch shapes (compilations): T in steps of 16
    c.learning_rate = 2e-3
    c.num_epochs = 24
    c.lr_decay = 0.9  # x 0.9 every epoch after the 10th: +1.8 UAS over 12 constant epochs
    c.decay_after_epochs = 10
    c.eval_every = 196  # twice an epoch of 12544 sentences (392 steps)
    c.early_stop_evals = 6
    c.metric = "las"
    c.vocab_min_count = 1  # <unk> is trained by word dropout
    c.lowercase = True  # word embeddings of lowercased words; the characters keep case
    return c
