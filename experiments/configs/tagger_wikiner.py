r"""python -m experiments.train --config=experiments/configs/tagger_wikiner.py \
    --workdir=/tmp/tagger_wikiner

The course's BiLSTM tagger on the WikiNER subset: emb 64, BiLSTM 64+64 (128 total),
per-token softmax. Dev token accuracy: TBD.
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "wikiner"
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 64
    c.num_epochs = 3
    c.eval_every = 313  # one epoch of 10000 sentences
    c.metric = "accuracy"
    c.vocab_min_count = 2  # singletons become <unk>, so <unk> is trained
    return c
