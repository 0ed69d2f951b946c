"""Data: readers for real NLP formats, vocabularies, datasets and batching.

formats    one streaming reader per file format, errors that name file and line
vocab      Vocab (ids by count, saved as JSON), character vocabularies
synthetic  the embedded agreement corpus (default data; minimal pairs by distance)
minimal_pairs  the Pair type; hand-written English minimal pairs; the synthetic ones as Pairs
local_formats  the local file formats: files, task, reader and views of each data set
datasets   load_dataset(spec, split, source_dir=, data_dir=): local / TFDS / synthetic
tfds_local the local formats as a TFDS builder (array_record, no TensorFlow)
batching   padding + masks, length bucketing, LM streams for truncated BPTT
pipeline   grain pipelines: seeded shuffling, process shards, resumable iterators
"""
