"""One ml_collections file per experiment, named on the command line by its name:
`--config=agreement` is this folder's agreement.py, from any directory (experiments.cli)."""

import pathlib

DIR = pathlib.Path(__file__).parent


def names() -> list[str]:
    """What --config=<name> accepts: every config but base.py, their shared defaults."""
    return sorted(p.stem for p in DIR.glob("*.py") if p.stem not in ("__init__", "base"))
