"""The path a Colab or pip user takes, not the checkout's: rnnlab built as a wheel and
installed with its runtime dependencies only into a fresh virtualenv (no test tools, no
top-level `experiments`); every notebook copied to a folder outside the checkout and run
there by that environment's kernel with RNNLAB_SHARED_DATA unset (the synthetic fallback
Colab users get); the installed command line finding configs by name from any directory;
the install cell's own `%pip install` from REPO_URL where no rnnlab is installed. Also: one
repository URL (rnnlab.REPO_URL) in every badge, install cell and the README.

The environment is built once per test session (shared by the xdist workers) from the
wheels in RNNLAB_WHEELHOUSE (default ~/.cache/rnnlab/wheelhouse) at the versions of
constraints.txt, offline; missing wheels are fetched into it first (PyPI).
"""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from conftest import REPO_ROOT
from nbclient import NotebookClient

import rnnlab
from experiments import cli, configs

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "rnnlab-wheel"
TEST_TOOLS = ("pytest", "pytest-xdist", "ruff", "hypothesis", "nbclient", "nbformat")


def test_every_badge_and_install_line_uses_the_repository_url():
    repo = rnnlab.REPO_URL.removeprefix("https://github.com/")
    first = nbformat.read(NOTEBOOKS[0], as_version=4)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        badge = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{path.name}"
        assert f"]({badge})" in nb.cells[0].source, f"{path.name}: the badge must link {badge}"
        install = f'%pip install -q "rnnlab @ git+{rnnlab.REPO_URL}"'
        assert install in nb.cells[1].source, f"{path.name}: the install cell must say {install}"
        block = nb.cells[1].source.split("\n\n")[:2]  # the imports, then the install itself
        assert block == first.cells[1].source.split("\n\n")[:2], f"{path.name}: not 01's install"
    texts = [p.read_text() for p in [*NOTEBOOKS, REPO_ROOT / "README.md"]]
    assert f"git+{rnnlab.REPO_URL}" in texts[-1], "README.md: the pip install line"
    named = {m for t in texts for m in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+)", t)}
    assert named == {repo}, f"every GitHub address is rnnlab.REPO_URL's {repo}: {named}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("agreement", "{configs}/agreement.py"),
        ("agreement.py", "{configs}/agreement.py"),
        ("experiments/configs/agreement.py", "{configs}/agreement.py"),
        ("/elsewhere/experiments/configs/lm_lstm.py:arg", "{configs}/lm_lstm.py:arg"),
        ("base", "base"),  # the configs' shared defaults, not a config
        ("nope", "nope"),  # config() then lists the names
        ("mine/agreement.py", "mine/agreement.py"),  # another folder's file is the user's
        ("{cwd}/lm_lstm.py", "{cwd}/lm_lstm.py"),  # a file that exists is taken as given
        ("lm_lstm.py", "lm_lstm.py"),  # so is one in the working directory
    ],
)
def test_a_config_is_found_by_name_or_repository_path(value, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lm_lstm.py").write_text("")
    fill = {"configs": configs.DIR, "cwd": tmp_path}
    assert cli.config_file(value.format(**fill)) == expected.format(**fill)


# ---- the wheel in a fresh virtualenv ----------------------------------------------------


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, (
        f"{' '.join(map(str, args))}:\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
    )
    return out


WHEELHOUSE = pathlib.Path(
    os.environ.get("RNNLAB_WHEELHOUSE", pathlib.Path.home() / ".cache/rnnlab/wheelhouse")
)
CONSTRAINTS = REPO_ROOT / "constraints.txt"


def _venv(root: pathlib.Path, *requirements, kernel_env: dict[str, str] | None = None):
    """root/venv with the requirements installed offline from WHEELHOUSE at the versions of
    constraints.txt (what it lacks is fetched into it first, from PyPI), and root/jupyter,
    last, with the kernel spec KERNEL of that venv's python. Returns that python."""
    _run(sys.executable, "-m", "venv", root / "venv")
    python = root / "venv" / "bin" / "python"
    offline = (python, "-m", "pip", "install", "-q", "--no-compile", "--no-index",
               "--find-links", WHEELHOUSE, "-c", CONSTRAINTS, *requirements)  # fmt: skip
    if subprocess.run(offline, capture_output=True).returncode != 0:
        _run(python, "-m", "pip", "wheel", "-q", "-w", WHEELHOUSE, "-c", CONSTRAINTS, *requirements)
        _run(*offline)
    spec = root / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec_json = {"argv": argv, "language": "python", "env": kernel_env or {}}
    (spec / "kernel.json").write_text(json.dumps(spec_json))
    return python


def _build(root: pathlib.Path) -> None:
    """root/rnnlab-*.whl, and root/venv with it and ipykernel (Colab's own kernel)."""
    src = root / "src"  # a copy: a build in the checkout would leave build/ and egg-info there
    for name in ("rnnlab", "experiments"):
        shutil.copytree(REPO_ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", root, src)  # fmt: skip
    _venv(root, next(root.glob("rnnlab-*.whl")), "ipykernel")


@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory) -> pathlib.Path:
    """The folder that _build fills, once for all xdist workers."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if "PYTEST_XDIST_WORKER" in os.environ else base
    with open(root / "wheel_env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        env = root / "wheel_env"
        if not (env / "jupyter").exists():
            shutil.rmtree(env, ignore_errors=True)
            _build(env)
    return env


@pytest.fixture
def user_dir(tmp_path, monkeypatch) -> pathlib.Path:
    """A folder outside the checkout, with the environment of a user who has no shared data
    and no checkout on the path."""
    monkeypatch.delenv("RNNLAB_SHARED_DATA", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' runs go where pytest cleans up
    assert REPO_ROOT not in tmp_path.parents
    return tmp_path


def test_the_wheel_holds_every_module_and_installs_no_test_tools(wheel_env, user_dir):
    names = set(zipfile.ZipFile(next(wheel_env.glob("rnnlab-*.whl"))).namelist())
    sources = {str(p.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("rnnlab/**/*.py")}
    sources |= {f"rnnlab/{p.relative_to(REPO_ROOT)}" for p in REPO_ROOT.glob("experiments/**/*.py")}
    assert sources <= names, f"pyproject.toml's packages miss {sorted(sources - names)}"
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"rnnlab"}
    python = wheel_env / "venv" / "bin" / "python"
    installed = _run(python, "-m", "pip", "list", "--format=freeze", cwd=user_dir).stdout.lower()
    for tool in TEST_TOOLS:
        assert f"\n{tool}==" not in f"\n{installed}", f"a user's install brings {tool}"
    probe = "import importlib.util as u; print(u.find_spec('experiments'), u.find_spec('rnnlab'))"
    found = _run(python, "-c", probe, cwd=user_dir).stdout
    assert found.startswith("None ModuleSpec(name='rnnlab'"), found


def test_the_installed_cli_finds_its_configs_from_any_directory(wheel_env, user_dir):
    train = (wheel_env / "venv" / "bin" / "python", "-m", "rnnlab.experiments.train")
    workdir = f"--workdir={user_dir / 'run'}"
    errors = {  # the default config (agreement) loads too, and takes the override
        ("--config=nope",): r"error: --config=nope: no such file; .+: agreement\.py, .+",
        ("--config.model.hidden_size=-3",): r"error: bad config: model\.hidden_size must be .+",
    }
    for args, message in errors.items():
        out = subprocess.run([*train, *args, workdir], cwd=user_dir, capture_output=True, text=True)
        assert out.returncode == 1 and re.fullmatch(message + "\n", out.stderr), out.stderr[-2000:]
    assert not (user_dir / "run").exists()
    tiny = ("--config.model.cell=lstm", "--config.model.hidden_size=8",
            "--config.model.embed_dim=8", "--config.synthetic.size=64", "--config.num_steps=2",
            "--config.eval_every=2", "--config.batch_size=8", "--config.pad_multiple=32",
            "--config.minimal_pairs.per_distance=2")  # fmt: skip
    _run(*train, "--config=agreement", *tiny, workdir, cwd=user_dir, timeout=300)
    results = json.loads((user_dir / "run" / "results.json").read_text())
    assert results["step"] == 2 and "minimal_pairs" in results


def _execute(nb, env: pathlib.Path, user_dir: pathlib.Path, monkeypatch) -> str:
    """Runs nb in env's kernel (see _venv) from user_dir; what its cells printed."""
    monkeypatch.setenv("JUPYTER_PATH", str(env / "jupyter"))
    client = NotebookClient(
        nb, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": str(user_dir)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell (and its assert)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_from_the_wheel_on_the_synthetic_fallback(
    path, wheel_env, user_dir, monkeypatch
):
    shutil.copy(path, user_dir / path.name)
    nb = nbformat.read(user_dir / path.name, as_version=4)
    assert "REAL_DATA = True" not in _execute(nb, wheel_env, user_dir, monkeypatch)


def test_the_install_cell_installs_rnnlab_from_the_repository_url(wheel_env, user_dir, monkeypatch):
    """Colab's case: no rnnlab where the kernel runs, so the install cell pip-installs it
    from REPO_URL; git reads that address as this checkout (its last commit), pip reads the
    wheelhouse (filled by wheel_env) at the versions of constraints.txt: offline."""
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("the install cell's address is read as this checkout, which is no git clone")
    colab = user_dir / "colab"
    redirect = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{REPO_ROOT}.insteadOf",
                "GIT_CONFIG_VALUE_0": rnnlab.REPO_URL, "PIP_NO_INDEX": "1",
                "PIP_FIND_LINKS": str(WHEELHOUSE), "PIP_CONSTRAINT": str(CONSTRAINTS)}  # fmt: skip
    python = _venv(colab, "ipykernel", "setuptools", kernel_env=redirect)  # setuptools: to build
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    check = "import experiments.configs\nprint(rnnlab.__file__, experiments.configs.names())"
    nb.cells = [*nb.cells[:2], nbformat.v4.new_code_cell(check)]  # the badge, the install cell
    shown = _execute(nb, colab, user_dir, monkeypatch)
    assert f"{colab / 'venv'}/" in shown and "'agreement'" in shown, shown[-2000:]
    where = "from importlib import metadata as m; print(m.distribution('rnnlab').read_text("
    url = json.loads(_run(python, "-c", where + "'direct_url.json'))", cwd=user_dir).stdout)["url"]
    assert url == rnnlab.REPO_URL  # what pip installed came from that address
