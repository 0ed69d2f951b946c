r"""python -m experiments.transfer --config=experiments/configs/transfer_sst.py \
    --workdir=/tmp/transfer_sst

LM pre-training -> SST-5 classifier (Dai & Le 2015): an LSTM LM (emb 128, LSTM 128, untied
softmax) on PTB train + SST train sentences (lowercased, a truncated-BPTT stream, 500
steps = half an epoch), then a unidirectional LSTM classifier (max pooling) whose
embedding and LSTM come from the LM (rnnlab.transfer; head first for 50 steps), against
the same classifier from random init: same steps, data order, dropout and head init per
seed, each run's best dev checkpoint (evaluated every 100 steps).

Result in short: +0.50 ± 0.72 points over 15 fresh seeds (5-19; 8 J below), short of the
+1.5 target. The first measurement, SST-5 dev accuracy, seeds 0/1/2 (std ddof=1), LM dev
perplexity 313.7:
  pretrained 41.93 ± 0.52 (41.78, 42.51, 41.51)   random 40.45 ± 1.00 (39.96, 39.78, 41.60)
  difference +1.48 ± 1.44 points (+1.82, +2.72, -0.09): short of the +1.5 target, and
  within seed noise (paired t = 1.8, 2 df).
Time on 2 CPU cores shared with other jobs (load 7-11): LM 785 s, 52-85 s per classifier.
What was tried, in order (all on dev; a run's first k steps are those of a k-step run):
1. tied LM (dev perplexity 491.6), 400 classifier steps: pretrained 32.76 ± 2.04 vs random
   39.54 ± 0.84 (-6.78). 2. untied LM (313.7; the same cost at emb = hidden), the
   pretrained arm at 400 steps: 35.15 ± 1.42; at 800: 40.84 ± 1.06 vs 40.45 ± 1.00
   (+0.39), the pretrained arm still rising at its last eval in every seed. 3. 1600
   steps (above); the random arm peaks at 400-600 steps and then overfits (36-38% at 1600).
Follow-ups (same machine, load 2-4): 4. mean instead of max pooling, same LM: pretrained
40.42 vs random 40.57 (-0.15). 5. a better LM, --config.pretrain.num_steps=3000 (dev
perplexity 155.6, 1315 s): pretrained 40.72 ± 1.18 (41.87, 39.51, 40.78) vs random
40.45 ± 1.00, +0.27 ± 1.44; 3200 fine-tuning steps change nothing (best steps 1400-1600).
6. the shipped config with 5 seeds ('--config.seeds=(0,1,2,3,4)'): pretrained 41.34 ± 1.01
vs random 40.45 ± 0.73, +0.89 ± 1.45 (seeds 3, 4: -0.91, +0.91).
7. Issue #5 protocol (same machine, load 2-8; a few variants on seeds 0-2, the best on
fresh seeds 5-9; pretrained - random, dev %, each command + --workdir=/tmp/tx_X, the LM
above copied in; arms unchanged by a variant reuse run 6's random runs):
   A --config.finetune.dataset=sst_trees:phrases --config.finetune.dev_dataset=sst
     --config.finetune.eval_every=200: seed 0 35.51 vs 37.42 (-1.91), seed 1 pretrained
     32.06; both arms undertrained at 1600 steps of phrases (66-142 s a run); stopped.
   B --config.pretrained.freeze_steps=200 --config.pretrained.pretrained_lr_scale=0.3:
     39.12 ± 0.28 (39.42, 39.06, 38.87) vs 40.45, -1.33 ± 1.21 (still rising at 1600); 283 s.
   C --config.pretrained.pretrained_lr_scale=3.0: 41.08 ± 0.55 (41.60, 41.14, 40.51) vs
     40.45, +0.64 ± 1.50 (best steps 600-800); 173 s.
   D --config.finetune.model.dropout=0.5 (both arms): 41.11 ± 0.73 (40.33, 41.24, 41.78)
     vs 40.51 ± 0.60 (39.87, 40.60, 41.05), +0.61 ± 0.14; 221 s.
   Confirmation of C ('--config.seeds=(5,6,7,8,9)'): 41.67 ± 0.59 (41.24, 42.14, 42.23,
   41.87, 40.87) vs 40.33 ± 0.50 (40.78, 39.69, 40.24, 40.87, 40.05), +1.34 ± 0.84
   (+0.45, +2.45, +2.00, +1.00, +0.82); 478 s for the 10 runs. The shipped config on the
   same seeds (run alongside): 41.04 ± 0.30 (40.60, 41.33, 40.96, 40.96, 41.33), +0.71 ±
   0.77; 477 s. Target not met, so the defaults stay.
8. Fourth session (idle machine; seeds 0-2, pretrained arm vs the random arm above,
   40.45 ± 1.00, unless it says "both arms"):
   E a bigger LM corpus, '--config.pretrain.dataset=ptb+wikiner+ewt+sst'
     --config.pretrain.num_steps=1500 (1.7M tokens, about one epoch; dev perplexity 234.2,
     790 s): 40.93 ± 0.58 (40.51, 41.60, 40.69), +0.48 ± 1.36; with lr scale 3: 40.99 ±
     1.01 (40.60, 42.14, 40.24), +0.54 ± 1.86.
   F the LM's vocabulary, --config.pretrained.lm_vocabulary=True (14,332 words instead of
     8,219; SST dev tokens that are <unk> 8.2% -> 6.5%): 40.48 ± 0.67 (40.24, 41.24,
     39.96), +0.03 ± 1.56.
   G lr scale 6: 40.63 ± 1.00, +0.18; lr scale 10: 40.69 ± 0.33, +0.24 (scale 3: +0.64).
   H both arms E = H = 256 (LM 500 steps): seed 0 39.51 vs 40.51 (-1.00); stopped.
   I both arms with the auxiliary LM loss, --config.finetune.model.aux_lm_weight=0.5
     (the LM's softmax kept and trained on the SST sentences, Chronopoulou et al. 2019):
     seed 0 40.33 vs 40.51 (-0.18), 250-420 s a run; stopped.
   J the final measurement, ten more fresh seeds ('--config.seeds=(10,...,19)'): the
     shipped config 41.10 ± 0.63 vs 40.70 ± 0.63, +0.40 ± 0.71 (paired t = 1.78, 9 df;
     570 s for the 20 runs); lr scale 3 (the best of section 7) 40.77 ± 0.53, +0.07 ±
     0.93 (t = 0.25; 311 s for its 10). Over all 15 fresh seeds (5-19): shipped +0.50 ±
     0.72 (t = 2.71, 14 df), lr scale 3 +0.50 ± 1.07 (t = 1.79): its +1.34 on 5-9 was luck.
So LM pre-training on PTB + SST gives about +0.5 points on SST-5 dev (real: t = 2.7 over
15 seeds), not the +1.5 of the target. Nothing tried moves it: more LM steps or text
(news, Wikipedia, web text), sizes, schedules, the LM's vocabulary, an auxiliary LM loss.
The one text from the target domain is SST train itself, which the classifier already
reads; Dai & Le's large gains came with large in-domain unlabelled sets (IMDB, Amazon).
(On the synthetic corpus, where the label is the subject's number that the LM must track,
the same code gains +9.3 points: notebooks/07.)
"""

import ml_collections

from experiments.configs.base import base_config


def get_config():
    c = ml_collections.ConfigDict()
    c.source_dir = ml_collections.FieldReference("../shared/data")
    c.seeds = (0, 1, 2)  # fine-tuning seeds (init of the head, dropout, batch order)

    lm = c.pretrain = base_config()  # one LM, in <workdir>/lm
    lm.source_dir = c.get_ref("source_dir")
    lm.dataset = "ptb+sst"  # PTB then SST sentences, labels dropped: task "lm"
    lm.lowercase = True  # PTB is lowercased
    lm.vocab_min_count = 2
    lm.lm_mode = "stream"
    lm.seq_len = 35
    lm.batch_size = 32
    lm.eval_batch_size = 32
    lm.model.cell = "lstm"
    lm.model.embed_dim = 128
    lm.model.hidden_size = 128
    lm.model.tie_weights = False  # tied: dev perplexity 491.6 (not 313.7), transfer -6.78
    lm.learning_rate = 2e-3
    lm.num_steps = 500  # 560k tokens, about half an epoch (2 shared CPU cores)
    lm.eval_every = 500
    lm.checkpoint_every = 250
    lm.metric = "perplexity"

    cls = c.finetune = base_config()  # one classifier per seed and arm
    cls.source_dir = c.get_ref("source_dir")
    cls.dataset = "sst"
    cls.lowercase = True
    cls.vocab_min_count = 2  # singletons become <unk>, so <unk> is trained
    cls.pad_multiple = 16  # few batch shapes: few compilations
    cls.model.cell = lm.model.get_ref("cell")
    cls.model.embed_dim = lm.model.get_ref("embed_dim")
    cls.model.hidden_size = lm.model.get_ref("hidden_size")
    cls.model.bidirectional = False  # the LM reads left to right (see rnnlab.transfer)
    cls.model.pooling = "max"
    cls.model.dropout = 0.3
    cls.learning_rate = 1e-3
    cls.num_steps = 1600  # 6 epochs of 8544 sentences
    cls.eval_every = 100
    cls.metric = "accuracy"

    c.pretrained = ml_collections.ConfigDict()  # only for the arm initialised from the LM
    c.pretrained.freeze_steps = 50  # the new head first, then everything
    c.pretrained.pretrained_lr_scale = 1.0
    # The LM's vocabulary instead of the classifier's own (SST train, min count 2): dev
    # words that SST train lacks or has once keep the LM's embedding instead of <unk>.
    c.pretrained.lm_vocabulary = False
    return c
