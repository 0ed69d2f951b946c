r"""python -m experiments.transfer --config=experiments/configs/imdb_words_sa.py \
    --workdir=/tmp/imdb_words_sa

IMDB's SA-LSTM arm over words (Dai & Le 2015's sequence autoencoder), beside the LM-LSTM
arm of imdb_words_pretraining: the encoder-decoder reads the first 400 words of a review
(the same lowercased Treebank words of the 22.5k train + 50k unlabelled reviews and the
same 40k vocabulary as that LM, emb 128, LSTM 128, no attention: the decoder starts from
the encoder's final state) and regenerates them; its encoder then initialises the very
classifier of imdb_words_pretraining (final state, 3 epochs, dropout 0.3), against the
same random-init classifiers (seeds 0-4; their runs are reused from an
imdb_words_pretraining workdir linked in as <workdir>/random).

Result: see below (issue 17).
"""

from experiments.configs import imdb_pretraining, imdb_words_pretraining


def get_config():
    c = imdb_words_pretraining.get_config()
    lm = c.pretrain
    sa = c.pretrain = imdb_pretraining.get_config().pretrain.sa
    for field in ("dataset", "lowercase", "vocab_min_count", "vocab_max_size"):
        sa[field] = lm[field]
    sa.num_steps = 600
    sa.eval_every = 300
    return c
