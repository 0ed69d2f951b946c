"""Analyses of trained or fresh recurrent networks: gradients through time, cell activations."""
