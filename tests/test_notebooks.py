"""Every notebook that reads the shared data runs top to bottom in a fresh kernel from the
checkout, on that data; a failing cell (or one of its asserts) fails the test. Every
notebook also runs as Colab users get it, from an installed wheel on the synthetic
fallback (tests/test_colab.py): those that read no shared data run only there.

Notebooks are stored without outputs (checked here too, so diffs stay reviewable).
"""

import nbformat
import pytest
from conftest import REPO_ROOT
from nbclient import NotebookClient

ALL = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
ON_SHARED_DATA = [p for p in ALL if "RNNLAB_SHARED_DATA" in p.read_text()]


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_notebook_is_stored_without_outputs(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", ON_SHARED_DATA, ids=[p.stem for p in ON_SHARED_DATA])
def test_notebook_runs_on_the_shared_data(path, shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLAB_SHARED_DATA", str(shared_data))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's runs go where pytest cleans up
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    shown = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "REAL_DATA = False" not in shown
