"""Defaults shared by every config; each experiment overrides what it needs.

Not an experiment itself: run one of the other files in this directory. The defaults
live in the library (`rnnlab.config.defaults`), which completes the saved configs of
runs from before a field existed with them.
"""

from rnnlab.config import defaults as base_config

__all__ = ["base_config"]
