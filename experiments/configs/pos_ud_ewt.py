r"""python -m experiments.train --config=experiments/configs/pos_ud_ewt.py --workdir=/tmp/pos_ud_ewt

UPOS tagging on UD English-EWT: embeddings (100) of lowercased words + a character BiLSTM
(char emb 50, 64+64; it sees the case) -> 2 BiLSTM layers 200+200, dropout 0.33, word
dropout 0.25 (a training word -> <unk>: <unk> is trained and the characters learn to carry
the 7% of dev words unseen in training), Adam 2e-3, dev every half epoch (best kept).
Measured on 2 CPU cores shared with other jobs: dev UPOS accuracy 95.12% at step 3528 of
3920 (epoch 9 of 10; 95.12% again at step 3920), 1761 s. Dev by epoch: 89.8, 93.5, 93.9,
94.5, 94.4, 94.6, 94.9, 94.9, 95.1, 95.1 (unseen words 81.2%, seen 96.1%).
Before (word emb of min count 2, char BiLSTM 32+32, one BiLSTM 128+128, no word
dropout): 93.72% after 6 epochs, overfitting after epoch 4. The steps there: word dropout
0.25 with all training words, 6 epochs: 94.18%; + char emb 50, char BiLSTM 64+64, two
BiLSTM 128+128 layers, 10 epochs: 94.45% (epoch 9); + lowercased words, 200+200: this.
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ewt"
    c.model.cell = "lstm"
    c.model.embed_dim = 100
    c.model.hidden_size = 200
    c.model.num_layers = 2
    c.model.dropout = 0.33
    c.model.char_embed_dim = 50
    c.model.char_hidden_size = 64
    c.model.word_dropout = 0.25  # training: a real word -> <unk>, so chars carry unseen words
    c.pad_multiple = 16  # few batch shapes (compilations): T in steps of 16
    c.learning_rate = 2e-3
    c.num_epochs = 10
    c.eval_every = 196  # twice an epoch of 12544 sentences (392 steps)
    c.early_stop_evals = 6
    c.metric = "accuracy"
    c.vocab_min_count = 1  # <unk> is trained by word dropout
    c.lowercase = True  # word embeddings of lowercased words; the characters keep case
    return c
