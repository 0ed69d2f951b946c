"""The import graph of `rnnlab`, read from the source with `ast` (nothing is imported).

Every import counts wherever it is written -- at module level, inside a function, under
`if` -- and so do `importlib.import_module("literal")` and `__import__("literal")`. A
package's `__init__.py` is a module of its own (`rnnlab.data`). Edges:

    import rnnlab.a.b               -> rnnlab.a.b
    from rnnlab.a import b          -> rnnlab.a.b if that is a module, else rnnlab.a
    from rnnlab import a            -> rnnlab.a
    from . import b / from ..a import c   resolved against the importing module
    a name below any module (import rnnlab.a.not_a_module) -> the longest module prefix

Importing `rnnlab.a.b` also runs `rnnlab/__init__.py` and `rnnlab/a/__init__.py`; those
implicit edges to parent packages are left out (every module would otherwise sit on a
cycle through `rnnlab/__init__.py`), and so is a module importing itself.

Asserted: no cycles; `rnnlab.train` imports no task module (`rnnlab.tasks.*`, only the
package `rnnlab.tasks` with its registry) and holds no task dispatch; the evaluation
modules reload runs without `rnnlab.tasks`.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rnnlab"


# ---- the graph builder -----------------------------------------------------------------


def module_files(package_dir: pathlib.Path) -> dict[str, tuple[pathlib.Path, bool]]:
    """Dotted module name -> (source file, is a package) for every module of the package."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir.parent).with_suffix("")
        parts = rel.parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        parents = [pathlib.Path(*parts[:i]) / "__init__.py" for i in range(1, len(parts))]
        if not all((package_dir.parent / p).is_file() for p in parents):
            continue  # not importable as part of the package (a folder without __init__.py)
        out[".".join(parts)] = (path, is_package)
    return out


def _resolve(name: str, modules) -> str | None:
    """The longest prefix of dotted `name` that is one of `modules` (None: not ours)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in modules:
            return prefix
    return None


def _literal_import_call(node: ast.Call) -> str | None:
    """`importlib.import_module("x")`, `import_module("x")`, `__import__("x")` -> "x"."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def imports_of(module: str, path: pathlib.Path, is_package: bool, modules) -> set[str]:
    """The modules of the package that `module` imports anywhere in its source."""
    targets = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, up level - 1 more
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append(submodule if submodule in modules else base)
        elif isinstance(node, ast.Call):
            name = _literal_import_call(node)
            if name is not None:
                targets.append(name)
    resolved = {_resolve(t, modules) for t in targets}
    return {t for t in resolved if t is not None and t != module}


def import_graph(package_dir: pathlib.Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see the module docstring)."""
    modules = module_files(package_dir)
    return {m: imports_of(m, path, is_pkg, modules) for m, (path, is_pkg) in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a chain a -> ... -> a) per strongly connected component that has one."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []

    def connect(v):  # Tarjan; the graph is a few dozen modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    out = []
    for component in components:
        if len(component) > 1:
            out.append(_shortest_cycle(graph, component))
    return sorted(out)


def _shortest_cycle(graph, component: set[str]) -> list[str]:
    """The shortest cycle through the component's first module (breadth first)."""
    start = min(component)
    parent = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    chain = [v]
                    while parent[chain[-1]] is not None:
                        chain.append(parent[chain[-1]])
                    return [start, *reversed(chain[:-1]), start] if v != start else [start, start]
                if w not in parent:
                    parent[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle in strongly connected component {sorted(component)}")


def _chain(cycle: list[str]) -> str:
    return " -> ".join(cycle)


# ---- the graph builder, on packages written here -----------------------------------------


def write_package(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


DAG = {
    "pkg/__init__.py": "from pkg import a\n",
    "pkg/a.py": "import os\nfrom pkg import b\nfrom pkg.sub import c, helper\n",
    "pkg/b.py": "def f():\n    from . import sub\n    from .sub.c import thing\n",
    "pkg/sub/__init__.py": "def helper():\n    pass\n",
    "pkg/sub/c.py": "import pkg.sub.d.name\nimport importlib\nimportlib.import_module('pkg.d')\n",
    "pkg/sub/d.py": "from ..d import x\n",
    "pkg/d.py": "x = 1\n",
    "pkg/notes/e.py": "import pkg.a\n",  # no __init__.py: not part of the package
}


def test_graph_builder_edges(tmp_path):
    graph = import_graph(write_package(tmp_path, DAG))
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b", "pkg.sub.c", "pkg.sub"},  # helper is a name: the package
        "pkg.b": {"pkg.sub", "pkg.sub.c"},  # imports inside a function, relative
        "pkg.sub": set(),
        "pkg.sub.c": {"pkg.sub.d", "pkg.d"},  # a dotted name below a module; import_module
        "pkg.sub.d": {"pkg.d"},  # two levels up
        "pkg.d": set(),
    }
    assert cycles(graph) == []


def test_graph_builder_finds_a_cycle_through_a_function_level_import(tmp_path):
    files = {**DAG, "pkg/d.py": "def late():\n    from pkg.sub import c\n"}
    graph = import_graph(write_package(tmp_path, files))
    assert cycles(graph) == [["pkg.d", "pkg.sub.c", "pkg.d"]]

    files["pkg/d.py"] = "def late():\n    import pkg.a\n"  # longer: also a -> b -> sub.c
    graph = import_graph(write_package(tmp_path, files))
    assert cycles(graph) == [["pkg.a", "pkg.sub.c", "pkg.d", "pkg.a"]]

    files["pkg/e.py"] = "import pkg.e\nfrom pkg import f\n"  # a second one (itself: no edge)
    files["pkg/f.py"] = "def g():\n    from . import e\n"
    graph = import_graph(write_package(tmp_path, files))
    assert graph["pkg.e"] == {"pkg.f"}
    two = [["pkg.a", "pkg.sub.c", "pkg.d", "pkg.a"], ["pkg.e", "pkg.f", "pkg.e"]]
    assert cycles(graph) == two


# ---- rnnlab ----------------------------------------------------------------------------

GRAPH = import_graph(PACKAGE)
TASK_MODULES = sorted(m for m in GRAPH if m.startswith("rnnlab.tasks."))
EVALUATION_MODULES = ["rnnlab.agreement", "rnnlab.transfer", "rnnlab.retrieval"] + sorted(
    m for m in GRAPH if m == "rnnlab.analysis" or m.startswith("rnnlab.analysis.")
)


def test_the_graph_is_rnnlabs():
    assert {"rnnlab", "rnnlab.train", "rnnlab.data", "rnnlab.data.datasets"} <= set(GRAPH)
    assert "rnnlab.data.formats" in GRAPH["rnnlab.data.datasets"]


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, f"{len(found)} import cycle(s) in rnnlab:\n" + "\n".join(
        _chain(c) for c in found
    )


def test_train_imports_no_task_module():
    """Only the package `rnnlab.tasks` (the registry); none of `rnnlab.tasks.*` (as many as
    exist: none while rnnlab/tasks.py is one module)."""
    imported = sorted(GRAPH["rnnlab.train"] & set(TASK_MODULES))
    assert not imported, f"rnnlab.train imports task modules {imported}"


def test_train_holds_no_task_dispatch():
    source = (PACKAGE / "train.py").read_text(encoding="utf-8")
    lines = [
        f"rnnlab/train.py:{i}: {line.strip()}"
        for i, line in enumerate(source.splitlines(), start=1)
        if "kind ==" in line or "task_of" in line
    ]
    assert not lines, "\n".join(lines)


@pytest.mark.parametrize("module", EVALUATION_MODULES)
def test_evaluation_modules_do_not_import_tasks(module):
    assert module in GRAPH, f"{module} is gone: update EVALUATION_MODULES"
    imported = sorted(m for m in GRAPH[module] if m == "rnnlab.tasks" or m in TASK_MODULES)
    assert not imported, f"{module} imports {imported} (reload runs with rnnlab.runs)"
