"""What every experiments/ command line does first."""

from absl import app, logging


def start(argv: list[str]) -> None:
    """Refuse stray arguments (a mistyped flag must not be ignored); quiet orbax, which
    logs every checkpoint save and restore at INFO."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if logging.get_verbosity() == logging.INFO:
        logging.set_verbosity(logging.WARNING)
