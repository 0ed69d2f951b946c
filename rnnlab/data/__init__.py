"""Data: readers for real NLP formats, vocabularies, datasets and batching."""
