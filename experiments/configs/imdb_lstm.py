r"""python -m experiments.train --config=experiments/configs/imdb_lstm.py --workdir=/tmp/imdb_lstm

Document classification of whole IMDB reviews (issue 17): SentencePiece pieces (16k,
`rnnlab.data.subwords`; median review ~230 pieces, the longest ~3,000), batches sorted by
length within shuffled pools (explicit masks), embeddings 128 -> a unidirectional LSTM
128 -> final state -> 2 classes. Adam 1e-3, clip 5. The lecture's answers to long
sequences as options: `--config.model.truncate=K` (truncated BPTT inside the document:
the label's gradient reaches only the last K steps), `--config.model.pooling=mean|max`
(every step gets a gradient), `--config.model.remat_chunk=C` (full BPTT in less memory).

Result (seed 0, 1 epoch = 704 steps, 2 shared CPU cores), dev accuracy (2,500 reviews):
    full BPTT, final state     85.40%   1263 s (load 4-5, alongside another training run)
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "imdb"
    c.batch_size = 32
    c.model.cell = "lstm"
    c.model.embed_dim = 128
    c.model.hidden_size = 128
    c.model.bidirectional = False
    c.model.pooling = "final"
    c.learning_rate = 1e-3
    c.num_epochs = 1
    c.eval_every = 350
    c.checkpoint_every = 350
    return c
