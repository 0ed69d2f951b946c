r"""python -m experiments.train --config=experiments/configs/tagger_wikiner.py \
    --workdir=/tmp/tagger_wikiner

The course's BiLSTM tagger on the WikiNER subset: emb 64, BiLSTM 64+64 (128 total),
per-token softmax. Measured on 2 shared CPU cores (4 epochs, 1252 steps, about 3.4 min):
dev token accuracy 89.1% (84.5% after 1 epoch; "O" alone is about 80%), but entity F1
only 38.9 (CoNLL exact spans, in results.json: the course-sized tagger finds tokens of
names, rarely whole names; rnnlab.tagging).
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "wikiner"
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 64
    c.num_epochs = 4
    c.eval_every = 313  # one epoch of 10000 sentences
    c.metric = "accuracy"
    c.vocab_min_count = 2  # singletons become <unk>, so <unk> is trained
    return c
