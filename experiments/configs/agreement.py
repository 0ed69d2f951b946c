r"""python -m experiments.train --config=experiments/configs/agreement.py --workdir=/tmp/agreement

Result: TBD
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "synthetic:lm"
    c.lm_mode = "sentences"
    c.model.cell = "lstm,elman"
    c.model.embed_dim = 32
    c.model.hidden_size = 64
    c.batch_size = 32
    c.learning_rate = 3e-3
    c.num_steps = 600
    c.eval_every = 200
    c.checkpoint_every = 200
    c.log_every = 100
    c.metric = "perplexity"
    c.minimal_pairs.per_distance = 200
    c.minimal_pairs.distances = (0, 2, 4, 6, 8)
    return c
