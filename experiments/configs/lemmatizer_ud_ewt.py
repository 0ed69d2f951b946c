r"""python -m experiments.train --config=experiments/configs/lemmatizer_ud_ewt.py \
    --workdir=/tmp/lemmatizer

Result (seed 0, gold UPOS as input, EWT dev tokens, 20 epochs = 6940 steps, best
teacher-forced char accuracy at step 5000; 712 s of training on the 2 shared CPU cores,
load 4-5), exact match overall / on the 2,088 tokens whose form is unseen in train:
    combined (dictionary for seen (form, UPOS), model for the rest), beam 4   98.53 / 87.98
    model alone, greedy / beam 4 / beam 8       96.01 / 87.93, 96.43 / 87.98, 96.43 / 87.98
    baselines: copy the form 77.07 / 63.98; dictionary (else the form lowercased unless
    PROPN) 96.97 / 74.09
    without attention (--config.model.attention=): combined 98.44 / 87.16 (414 s)
Target: combined >= 98.0 (met), >= 90 on unseen forms (not met).

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
