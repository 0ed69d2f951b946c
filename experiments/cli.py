"""What every experiments/ command line shares: `run(define_flags, main)` as its
`__main__`. It finds a config by its name (`--config=agreement`) from any directory,
refuses stray arguments, quiets orbax, and prints an error a user can fix (bad data,
config, a missing file, an unusable checkpoint) as one line and exits 1, without the
traceback (`--verbose` shows it); any other exception is a bug and keeps it."""

from __future__ import annotations

import functools
import logging as std_logging
import os
import pathlib
import re
import sys
from collections.abc import Callable

from absl import app, flags, logging
from ml_collections import config_flags
from ml_collections.config_flags.config_flags import ConfigFileFlagParser

from experiments import configs
from rnnlab import checkpoint, tasks, train
from rnnlab.data.formats import DataFormatError

# Each says what is wrong and where; nothing in a traceback would help the user more.
USER_ERRORS = (
    DataFormatError,  # file:line: expected ...
    tasks.ConfigError,  # every bad config value at once
    checkpoint.CheckpointError,  # no checkpoint restores, or they are another run's
    train.NonFiniteLossError,  # the step, and the option that skips such batches
    OSError,  # a missing or unreadable file or folder (FileNotFoundError, ...)
)


def run(
    define_flags: Callable[[], None],
    main: Callable[[list[str]], object],
    also: tuple[type[Exception], ...] = (),
) -> None:
    """Defines the flags, then `app.run(main)`; a user's error ends in one line. `also`:
    the types by which the library this CLI calls reports bad input, e.g. ValueError."""
    flags.DEFINE_bool("verbose", False, "show the traceback of errors, and orbax's logs")
    try:
        argv, sys.argv = sys.argv, sys.argv[:1]
        try:  # a config flag's default loads now, without argv's --config.<field> overrides:
            define_flags()  # those apply to the config file that app.run reads from argv
        finally:
            sys.argv = argv
        sys.argv = _config_files_resolved(argv)
        app.run(main)
    except USER_ERRORS + also as e:
        if _verbose():
            raise
        sys.exit(f"error: {_one_line(str(e))}")
    except (AttributeError, KeyError) as e:
        if (message := _unknown_config_field(e)) is None or _verbose():
            raise
        sys.exit(f"error: {message}")


def config(name: str = "config"):
    """The ConfigDict of --<name>; a missing file is an error naming the shipped configs."""
    path = config_flags.get_config_filename(flags.FLAGS[name])
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"--{name}={path}: no such file; the configs in {configs.DIR}: "
            + ", ".join(f"{n}.py" for n in configs.names())
        )
    return flags.FLAGS[name].value


def config_file(value: str) -> str:
    """A config flag's value as ml_collections loads it: a file that exists as given, else
    the shipped config it names, by name (`agreement`) or by its path in the repository
    (`experiments/configs/agreement.py`, as the docstrings write it), from any directory
    and after a wheel install; anything else unchanged. `path:args` keeps its args."""
    path, colon, args = value.partition(":")
    name = pathlib.PurePath(path).stem
    named = path in (name, f"{name}.py") or path.endswith(f"experiments/configs/{name}.py")
    if os.path.isfile(path) or not named or name not in configs.names():
        return value
    return f"{configs.DIR / name}.py{colon}{args}"


def _config_files_resolved(argv: list[str]) -> list[str]:
    """argv with the value of each config flag through config_file; a config flag that
    argv does not set gets its default so, before any --<name>.<field> override."""
    argv = list(argv)
    for name in flags.FLAGS:
        if isinstance(flags.FLAGS[name].parser, ConfigFileFlagParser):
            i = next((i for i, a in enumerate(argv) if re.match(f"--?{name}(=|$)", a)), None)
            if i is None:
                default = flags.FLAGS[name].default_unparsed
                argv[1:1] = [f"--{name}={config_file(default)}"] if default else []
            elif "=" in argv[i]:
                flag, value = argv[i].split("=", 1)
                argv[i] = f"{flag}={config_file(value)}"
            elif i + 1 < len(argv):
                argv[i + 1] = config_file(argv[i + 1])
    return argv


def start(argv: list[str]) -> None:
    """What main(argv) does first: refuse stray arguments (a mistyped flag must not be
    ignored); quiet orbax, which logs every checkpoint save and restore at INFO and warns
    about the unusable checkpoints rnnlab.checkpoint reports itself."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.get_flag_value("verbose", False):
        if logging.get_verbosity() == logging.INFO:
            logging.set_verbosity(logging.WARNING)
        std_logging.getLogger("absl").addFilter(_below_error_from_orbax)
        sys.unraisablehook = functools.partial(_unless_abandoned_read, sys.unraisablehook)


def _below_error_from_orbax(record: std_logging.LogRecord) -> bool:
    return record.levelno >= std_logging.ERROR or "orbax" not in record.pathname


def _unless_abandoned_read(hook, unraisable) -> None:
    """Drops what the reads of a checkpoint that failed to restore report when they end
    after it (their coroutine, or tensorstore's callback into orbax's closed event loop):
    up to 200 lines of traceback after the one-line warning or error."""
    code = getattr(unraisable.object, "cr_code", None)
    error = unraisable.exc_value
    if (code is not None and "orbax" in code.co_filename) or (
        isinstance(error, RuntimeError) and str(error) == "Event loop is closed"
    ):
        return
    hook(unraisable)


def _verbose() -> bool:
    if flags.FLAGS.is_parsed():
        return flags.FLAGS.get_flag_value("verbose", False)
    return "--verbose" in sys.argv  # an error while the flags were being defined


def _one_line(message: str) -> str:
    """'head:\\n  a\\n  b' (ConfigError's list) -> 'head: a; b'."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return " ".join(lines[:1] + ["; ".join(lines[1:])]).strip()


def _unknown_config_field(error: Exception) -> str | None:
    """ml_collections' KeyError/AttributeError for a --config.<field> override that
    names no field, as one line with its suggestion; None for any other error."""
    text = str(error)
    name = re.match(r"[\\'\"]*(\w+)", text)
    overrides = [a.split("=")[0] for a in sys.argv[1:] if re.match(r"--?\w+\.\w", a)]
    for flag in overrides:
        if name and name.group(1) in flag.lstrip("-").split(".")[1:]:
            hint = re.search(r'Did you mean "(\w+)"', text)
            suggestion = f"; did you mean {hint.group(1)!r}?" if hint else ""
            return f"{flag}: the config has no field {name.group(1)!r}{suggestion}"
    return None
