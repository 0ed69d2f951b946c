"""Shared test set-up and fixtures.

`shared_data` is the real data next to the checkout (`../shared/data`); tests that need
it skip cleanly when it is absent (the repository never ships copies of it).
"""

import os
import pathlib

import jax
import pytest

# Eight simulated CPU devices for the sharding tests; must precede the first JAX operation.
# Single-device code is unaffected (it runs on device 0).
jax.config.update("jax_num_cpu_devices", 8)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(
    os.environ.get("RNNLAB_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> pathlib.Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA
