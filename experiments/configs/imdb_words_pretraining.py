r"""python -m experiments.transfer --config=experiments/configs/imdb_words_pretraining.py \
    --workdir=/tmp/imdb_words_pretraining

IMDB's LM-LSTM arm over words, as Dai & Le (2015) built it: the IMDB word LM of
transfer_sst_imdb (Treebank-style words of the 22.5k train + 50k unlabelled reviews,
lowercased, 40k vocabulary, emb 128, LSTM 128, sampled softmax; its run is reused when
<workdir>/lm holds it with this very config) initialises a classifier that reads the
reviews as the same words ("imdb:words", its own vocabulary: train words seen >= 5 times)
with imdb_lstm's unidirectional LSTM 128 and classifies its **final state**, for 3
epochs with dropout 0.3, against the same classifier from random init; seeds 0-4,
paired as transfer_sst.

Result (2026-12-02, eleventh session, 2 CPU cores; IMDB dev accuracy %, 2,500 reviews,
each run's best of its evaluations every 350 steps). The LM: 6000 steps of 64 x 35 =
13.4M words (0.69 epoch), dev perplexity 150.1, 1670 s (beside a niced parser training).
    final state, 3 epochs, dropout 0.3 (this config; 614-781 s a classifier, two at a time)
    seed            0      1      2      3      4     mean +- std
    pretrained  90.84  90.08  90.48  90.48  90.76   90.53 +- 0.30  (dev error 9.47%)
    random      88.80  88.56  88.04  87.84  88.00   88.25 +- 0.41
    difference  +2.04  +1.52  +2.44  +2.64  +2.76   +2.28 +- 0.51 (t 10.09)
    final state, 1 epoch, no dropout (--config.finetune.num_epochs=1
    --config.finetune.model.dropout=0.0; 193-269 s a classifier)
    seed            0      1      2      3      4     mean +- std
    pretrained  89.44  88.40  89.12  88.44  89.52   88.98 +- 0.54
    random      86.76  83.52  86.88  86.48  86.88   86.10 +- 1.45
    difference  +2.68  +4.88  +2.24  +1.96  +2.64   +2.88 +- 1.16 (t 5.57; seeds 0-2 +3.27)
LM + classifier: 1670 s + 781 s = 41 min, inside the issue's 75. The error target
(<= 10%) is met at 3 epochs by every seed, where the gain is +2.3; the gain target (>= 3 points) is
reached at the 1-epoch budget on seeds 0-2 (+3.27) but not over five seeds (+2.88).
Pre-training pays for the classifier that must carry the review to its last state (Dai &
Le's), not for mean pooling, which gives every step the label's gradient: there random
init is as good (below). Against the best random-init classifier measured
(mean pooling, 3-5 epochs with dropout: 89.24-89.68) the pre-trained final state gains
about a point.

A better LM does not move it (twelfth session): the same LM trained on to 12000 steps
(26.9M words, 1.38 epochs; resumed from step 6000, +1416 s; dev perplexity 125.6 instead
of 150.1) under this config's classifier (--config.pretrain.num_steps=12000; 430-653 s a
classifier, two at a time beside a niced parser training):
    seed            0      1      2      3      4     mean +- std
    pretrained  90.20  90.64  90.36  90.36  90.56   90.42 +- 0.18
    difference  +1.40  +2.08  +2.32  +2.52  +2.56   +2.18 +- 0.47 (t 10.27)
(random init as above). A fifth less LM perplexity gives the classifier nothing (-0.11):
what the final state gains from the LM is had after 0.7 of an epoch at this size; Dai &
Le's gain came with LSTMs of 1024 units (imdb_pretraining_gpu, not run: no GPU lent).

Fine-tuning variants, seed 0 (sixteenth session; the same LM; against this config's
90.84 vs 88.80, +2.04 on that seed):
    --config.pretrained.pretrained_lr_scale=0.3 (the LM's parameters learn at 0.3 x the
        rate; 768 s): pretrained 87.84 vs 88.80, -0.96: slower updates keep the LM's
        states but the final state learns the label worse.
    --config.finetune.model.aux_lm_weight=0.1 --config.finetune.model.sampled_softmax=1024
        (both arms keep a next-word loss on the reviews, Chronopoulou et al. 2019, over
        1024 sampled words: the full 40k softmax on reviews was killed for memory at
        21.7 GB; 4.9 GB with the sampled one; 1594-1602 s a classifier, two at a time):
        pretrained 90.80 vs random 89.88, +0.92: the auxiliary loss lifts random init
        by +1.08 (it teaches the final state to carry the review, as the LM did) and the
        pretrained arm by nothing, so the gain shrinks.

Mean pooling (tenth session; this config's classifier before), 1 epoch, no dropout
(--config.finetune.model.pooling=mean --config.finetune.num_epochs=1
--config.finetune.model.dropout=0.0 '--config.seeds=(0,1,2)'; 166-312 s a classifier at
load 4-9):
    seed            0      1      2     mean +- std
    pretrained  88.48  88.48  88.12   88.36 +- 0.21
    random      88.24  89.56  88.36   88.72 +- 0.73   difference -0.36 +- 0.67 (t -0.93)
The word LM (13.4M words, dev perplexity 149.9) gives IMDB nothing, as the piece LM of
imdb_pretraining did (-0.79 there); reading words instead of pieces moves random init
from 88.37 to 88.72. 885 of the classifier's 28,947 words are not in the LM's 40k
vocabulary. Yet the same LM gains +1.85 points on SST-5 (transfer_sst_imdb): on IMDB
the classifier's own 22.5k training reviews (5M words) already teach what 0.7 of an
epoch of LM training does, on SST (8.5k sentences) they do not.

Mean pooling, longer fine-tuning with dropout (tenth session, the same LM, dev perplexity
149.85 again; classifiers 345-820 s, two at a time; --config.finetune.model.pooling=mean and)
    --config.finetune.num_epochs=3 --config.finetune.model.dropout=0.3, seed 0:
        pretrained 89.52, random 89.32 (+0.20)
    --config.finetune.num_epochs=5 --config.finetune.model.dropout=0.5, seeds 0 / 1:
        pretrained 89.60 / 88.96, random 89.24 / 89.68 (+0.36 / -0.72)
Both arms gain about a point from the longer training; the pretrained arm stays within
seed noise of random init and under 90.0. Dev accuracy
moves up to 1.9 points between evaluations 350 steps apart late in training.
"""

from experiments.configs import imdb_pretraining, transfer_sst_imdb


def get_config():
    c = imdb_pretraining.get_config()
    c.pretrain = transfer_sst_imdb.get_config().pretrain
    cls = c.finetune
    cls.dataset = "imdb:words"
    cls.lowercase = True  # as the LM read them
    cls.vocab_min_count = 5
    cls.model.pooling = "final"  # Dai & Le's classifier: pre-training pays here (docstring)
    cls.num_epochs = 3
    cls.model.dropout = 0.3
    c.seeds = (0, 1, 2, 3, 4)
    return c
