"""The absl entry points (`python -m experiments.train --config=agreement ...`) and their
configs (configs/*.py). A wheel ships this folder as `rnnlab.experiments`, so that
site-packages gets no top-level `experiments`: there the same commands are
`python -m rnnlab.experiments.train ...`. Its modules and configs import each other as
`experiments.*`; imported under the wheel's name, this package answers to that name too."""

import sys

if __name__ == "rnnlab.experiments":
    other = sys.modules.setdefault("experiments", sys.modules[__name__])
    if other is not sys.modules[__name__]:
        raise ImportError(
            f"{__name__} answers to the name 'experiments', which another module already has "
            f"({other.__file__}); import {__name__} before it"
        )
