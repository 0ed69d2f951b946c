r"""python -m experiments.train --config=experiments/configs/parser_ud_ewt.py --workdir=/tmp/parser

A graph-based dependency parser on UD English-EWT (issue 15), no pretrained embeddings,
no UPOS input: embeddings (100) of lowercased words + a character BiLSTM (char emb 50,
64+64) -> 2 BiLSTM layers 200+200, dropout 0.33, word dropout 0.25 -> Dozat & Manning's
biaffine scorer (arc MLPs 400, relation MLPs 100) over full relations (subtypes kept, as
the CoNLL 2018 LAS). Model selection on greedy dev LAS twice an epoch; at the end dev is
parsed by MST (Chu-Liu/Edmonds, one root child), greedy and Eisner (projective), UAS/LAS
over all words, punctuation included. `--config.parser.scorer=mlp` is Kiperwasser &
Goldberg's MLP scorer on the same budget.

Result: not yet measured (target: UAS >= 89.0, LAS >= 86.0 with MST, <= 75 min on the 2
CPU cores). Only the start was run (--config.num_steps=400 --config.eval_every=200; 2 CPU
cores shared with another training run, load average 4-5; 2026-12-02): dev greedy
UAS/LAS 52.8/30.3 at step 200, 69.2/56.0 at step 400 (MST 69.2/56.0, Eisner 70.0/56.7;
greedy: 368 of 2001 sentences not trees); about 1,500 training words/s once compiled
(an epoch is 392 steps, 204,577 words), about 4,000 words/s parsed (MST, forward
included); 263 s for the 400 steps including about 10 compilations.
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
    c.parser.word_dropout = 0.25  # training: a real word -> <unk>, so chars carry unseen words
    c.parser.decoders = ("mst", "greedy", "eisner")
    c.pad_multiple = 16  # few batch shapes (compilations): T in steps of 16
    c.learning_rate = 2e-3
    c.num_epochs = 12
    c.eval_every = 196  # twice an epoch of 12544 sentences (392 steps)
    c.early_stop_evals = 6
    c.metric = "las"
    c.vocab_min_count = 1  # <unk> is trained by word dropout
    c.lowercase = True  # word embeddings of lowercased words; the characters keep case
    return c
