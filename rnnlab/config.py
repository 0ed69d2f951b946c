"""The defaults of every run config (experiments/configs/base.py gives them to each
experiment, which overrides what it needs), and a saved config completed by them.

A field added to the config later takes, as its default, the behaviour runs had before
it: so a run saved before the field existed (its config.json lacks it) reads back as it
ran (`complete`), for `rnnlab.load` and for experiments that reuse finished runs.
"""

import json

import ml_collections


def defaults() -> ml_collections.ConfigDict:
    """Every field a run's config has, at the value that keeps a run as it was before the
    field existed."""
    c = ml_collections.ConfigDict()
    # Data: `dataset` is a `rnnlab.data.datasets.load_dataset` spec.
    c.dataset = "synthetic:lm"
    c.task = ""  # "" = the data set's task; "lm" on labelled sentences: class-conditioned LM
    c.source_dir = "../shared/data"  # local files (relative to the working directory)
    c.data_dir = ml_collections.FieldReference(None, field_type=str)  # TFDS cache, if any
    c.dev_dataset = ""  # another spec to evaluate on (e.g. sentences when training on phrases)
    c.dev_split = "dev"
    c.test_split = ""  # e.g. "test" where the files exist
    c.seed = 0
    # Devices (rnnlab.sharding). mesh_shape: () = every accelerator (one device on a CPU
    # host); (n,) = n-way data parallel; (d, f) = d-way data x f-way FSDP. batch_size is
    # the GLOBAL batch: a multiple of the number of devices.
    c.mesh_shape = ()
    c.fsdp_min_size = 2**14  # with FSDP: matrices with at least this many entries are split
    c.distributed = ml_collections.ConfigDict()  # multi-host: jax.distributed.initialize
    c.distributed.initialize = False  # True: auto-detect (Cloud TPU, SLURM) unless given:
    c.distributed.coordinator_address = ""  # host:port of process 0
    c.distributed.num_processes = 0
    c.distributed.process_id = -1
    c.lm_mode = "sentences"  # LMs: "sentences" (masked batches) or "stream" (TBPTT)
    c.seq_len = 35  # stream window (truncated BPTT length)
    c.batch_size = 32
    c.eval_batch_size = 64
    c.bucketing = "pool"  # sort by length within shuffled pools
    c.pad_multiple = 4
    c.vocab_min_count = 1
    c.max_tokens = 0  # > 0: a sequence autoencoder's texts are cut to this many tokens
    c.vocab_max_size = 0  # 0 = no limit
    c.lowercase = False
    # A finished run's workdir whose word vocabulary (and lowercasing) this run uses
    # instead of building one from its train split. Transfer: the LM's, so that words
    # rare or absent in the classifier's train split keep the LM's embedding row.
    c.vocab_from = ""
    c.synthetic = ml_collections.ConfigDict()  # options of rnnlab.data.synthetic.corpus
    c.synthetic.max_distance = 8
    c.synthetic.min_distance = 0
    c.synthetic.size = ml_collections.FieldReference(None, field_type=int)  # per split

    c.model = ml_collections.ConfigDict()
    c.model.cell = "lstm"  # elman|rnn|lstm|gru; "lstm,elman" trains one model per cell
    c.model.embed_dim = 64
    c.model.hidden_size = 64
    c.model.num_layers = 1
    c.model.bidirectional = True  # classifier only (the tagger is always bidirectional)
    c.model.pooling = "final"  # classifier: final | mean | max
    c.model.truncate = 0  # classifier: > 0 = the label's gradient reaches only the last K steps
    c.model.dropout = 0.0
    c.model.tie_weights = False  # LM
    c.model.char_embed_dim = 32  # tagger character encoder (used if char_hidden_size > 0)
    c.model.char_hidden_size = 0
    # Unidirectional classifier, training only: + this x the next-word cross-entropy of
    # an LM head on its states (transfer: the LM's own softmax, kept while fine-tuning).
    c.model.aux_lm_weight = 0.0
    c.model.word_dropout = 0.0  # tagger, training only: a real token -> <unk> with this rate
    # Encoder-decoder (seq2seq): attention "" (none: the decoder starts from the encoder's
    # final states), "dot", "general" or "additive"; the size of the feature embedding.
    c.model.attention = ""
    c.model.feature_dim = 16
    c.model.edits = False  # seq2seq: + an edit classifier (copy / lowercase / generate)
    # LM, seq2seq and a classifier's aux_lm_weight, training only: the softmax's loss over
    # the target and this many log-uniform samples (Jean et al. 2015; 0 = the full
    # softmax). Dev is always scored with the full softmax.
    c.model.sampled_softmax = 0
    # Speed levers of rnnlab.recurrent.run (same results up to rounding): steps per
    # lax.scan iteration (0 = by backend: 4 on GPU, 1 on CPU), jax.checkpoint over chunks
    # of this many steps (0 = off; long sequences), "bfloat16" matmuls with float32
    # parameters and carries.
    c.model.unroll = 0
    c.model.remat_chunk = 0
    c.model.compute_dtype = ""

    c.optimizer = "adam"  # adam | sgd (with Zaremba's step decay)
    c.learning_rate = 1e-3
    c.adam_b2 = 0.999  # Adam's second-moment decay (Dozat & Manning's parsers: 0.9)
    c.lr_decay = 1.0  # multiply lr by this every epoch after decay_after_epochs
    c.decay_after_epochs = 0
    c.clip_norm = 5.0
    # > 0: an exponential moving average of the weights (Polyak averaging) is kept,
    # evaluated, selected on dev and loaded for inference instead of the weights
    # themselves; its decay ramps up as min(ema_decay, (1 + t) / (10 + t)).
    c.ema_decay = 0.0
    c.loss_normalizer = "tokens"  # gradient of loss per token; "rows": summed over time
    c.num_epochs = 1
    c.num_steps = 0  # > 0 overrides num_epochs
    # Transfer (rnnlab.transfer): a classifier's embedding and recurrent layers from the
    # best checkpoint of the LM in this workdir; a resumed run keeps its own parameters.
    c.init_from = ""
    c.freeze_steps = 0  # the LM's parameters get no update for this many steps
    c.pretrained_lr_scale = 1.0  # then their updates x this (discriminative learning rate)

    c.metric = "accuracy"  # dev metric for model selection (loss/perplexity: lower wins)
    c.eval_every = 500
    c.checkpoint_every = 1000
    c.keep_checkpoints = 2
    c.log_every = 100
    c.early_stop_evals = 0  # stop after this many evals without improvement (0 = never)
    c.skip_nonfinite = False  # True: skip a batch with a NaN/inf loss instead of stopping

    c.minimal_pairs = ml_collections.ConfigDict()
    c.minimal_pairs.per_distance = 0  # > 0: minimal-pair accuracy by distance at the end
    c.minimal_pairs.distances = (0, 2, 4, 6, 8)
    c.minimal_pairs.kind = "agreement"
    c.minimal_pairs.seed = 0

    c.decode = ml_collections.ConfigDict()  # seq2seq: decoding dev at the end
    c.decode.beam_sizes = (1,)  # 1 = greedy; each size is scored and timed
    c.decode.max_len = 0  # 0 = the longest train target + 8
    c.decode.length_alpha = 0.0  # beam scores / length**alpha (0: plain log-probability)
    # The dictionary baseline's last resort is the source lowercased, except for these
    # features (lemmas: a proper noun keeps its case).
    c.decode.keep_case_features = ()
    # The combined system's "lexicon" rows (on when either is set): for a source unseen in
    # train, a generated output that is no train target gives way to the best beam
    # hypothesis that is one within this log-probability margin, and a copied lowercase
    # source of these features takes its capitalized spelling if train knows it.
    c.decode.lexicon_margin = 0.0
    c.decode.restore_case_features = ()
    # Also on the lexicon rows: a capitalized source in a name (examples' "in_name": a
    # word before a proper noun) keeps a capital where train's of its feature mostly do.
    c.decode.name_case = False

    c.sample = ml_collections.ConfigDict()
    c.sample.num = 0  # > 0: sample this many texts from the LM at the end
    c.sample.length = 200
    c.sample.temperature = 0.8
    c.sample.top_k = 0
    c.sample.prompt = ""
    c.sample.seed = 0
    return c


def complete(saved: dict) -> ml_collections.ConfigDict:
    """A saved config (a dict from config.json) with the fields it lacks, at any depth,
    at their defaults."""
    return ml_collections.ConfigDict(_with_defaults(saved, json.loads(defaults().to_json())))


def _with_defaults(saved: dict, default: dict) -> dict:
    out = dict(saved)
    for key, value in default.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = _with_defaults(out[key], value)
    return out
