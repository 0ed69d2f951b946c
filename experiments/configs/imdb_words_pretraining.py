r"""python -m experiments.transfer --config=experiments/configs/imdb_words_pretraining.py \
    --workdir=/tmp/imdb_words_pretraining

IMDB's LM-LSTM arm over words: the IMDB word LM of transfer_sst_imdb (Treebank-style
words of the 22.5k train + 50k unlabelled reviews, lowercased, 40k vocabulary, emb 128,
LSTM 128, sampled softmax; its run is reused when <workdir>/lm holds it with this very
config) initialises imdb_pretraining's classifier (unidirectional LSTM 128, mean pooling,
1 epoch) reading the reviews as the same words ("imdb:words", its own vocabulary: train
words seen >= 5 times), against random init; seeds 0-2, paired as transfer_sst.

Result: see the end of this docstring once measured.
"""

from experiments.configs import imdb_pretraining, transfer_sst_imdb


def get_config():
    c = imdb_pretraining.get_config()
    c.pretrain = transfer_sst_imdb.get_config().pretrain
    cls = c.finetune
    cls.dataset = "imdb:words"
    cls.lowercase = True  # as the LM read them
    cls.vocab_min_count = 5
    return c
