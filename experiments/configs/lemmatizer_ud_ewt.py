r"""python -m experiments.train --config=experiments/configs/lemmatizer_ud_ewt.py \
    --workdir=/tmp/lemmatizer

Result: not yet measured (see WORKSPACE.md, issue 16).

A character-level lemmatizer of UD English-EWT as an encoder-decoder (the approach of
Stanza's lemmatizer): the word's characters and its gold UPOS -> the lemma's characters.
Trained on the distinct (form, UPOS, lemma) triples of train; scored on every dev token,
greedy and beam 4 / 8, overall and on forms unseen in train, next to the copy and
dictionary baselines and the combined lemmatizer (dictionary for seen (form, UPOS)).
"""

from experiments.configs.base import base_config


def get_config():
    c = base_config()
    c.dataset = "ewt_lemmas"
    c.model.cell = "lstm"
    c.model.embed_dim = 64
    c.model.hidden_size = 128  # per direction: the decoder has 256
    c.model.num_layers = 1
    c.model.bidirectional = True
    c.model.attention = "general"
    c.model.feature_dim = 16
    c.model.edits = True  # copy / lowercase / capitalize / generate (Stanza's edit classifier)
    c.model.dropout = 0.2
    c.batch_size = 64
    c.eval_batch_size = 256
    c.pad_multiple = 8
    c.learning_rate = 2e-3
    c.num_epochs = 20
    c.eval_every = 1000
    c.checkpoint_every = 1000
    c.log_every = 200
    c.metric = "accuracy"  # teacher-forced character accuracy on dev (selection)
    c.decode.beam_sizes = (1, 4, 8)
    c.decode.keep_case_features = ("PROPN",)
    return c
