"""The architecture holds: torch stays behind its boundary, and no module imports in a cycle."""

import ast
import subprocess
import sys
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[1]


_LIGHT_STATEMENTS = [
    "import setlearn",
    "import setlearn.datasets",
    "import setlearn.metrics",
    "import setlearn.bags",
    "import setlearn.base",
    "from setlearn.assessment import table_top_configurations, table_accuracy_vs_iauc, table_ensembles, "
    "table_silent_failures, table_search_by_grid_value, bad_fraction_by_ensemble_size, top_configurations, "
    "PAPER_TABLE1",
    # load_config does load torch: it validates every grid point by building its network (its Notes).
    "import setlearn.datasets as d; d.make_bags('mil', n_bags=4, bag_size=5, random_state=0)",
    "from setlearn.utils._versions import package_versions; package_versions()",
]


def test_light_modules_do_not_import_torch():
    # One fresh interpreter (in this one, other tests imported torch long ago); the
    # statements run in order, and the first that loads torch is named.
    code = "import sys\n" + "".join(
        f"{statement}\nassert 'torch' not in sys.modules, {statement!r}\n" for statement in _LIGHT_STATEMENTS
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]


def _module_name(path, package=PACKAGE):
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path, package_dir=PACKAGE):
    """setlearn modules that ``path`` imports, at module level or inside its functions.

    An import inside a function runs later and cannot fail as a cycle does, but it is
    a dependency all the same: two modules that need each other, one of them through a
    function-level import, are one module cut in two (and the architecture hides it).
    """
    name = _module_name(path, package_dir)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("setlearn")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("setlearn"):
                found.add(target)
                # "from . import x" may import the submodule x
                found |= {f"{target}.{a.name}" for a in node.names}
    return found


def _import_graph(package=PACKAGE):
    """``{module: setlearn modules it imports}`` over the package (tests left out)."""
    modules = {
        _module_name(p, package): p for p in package.rglob("*.py")
        if "tests" not in p.parts and p.name != "conftest.py"
    }
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target in _imports(path, package):
            # Importing a.b.c imports a.b first; only edges between distinct modules count.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)
        graph[name] = edges
    return graph


def _a_cycle(graph):
    """One import cycle of ``graph`` as a list of modules (first == last), or []."""
    state, cycle = {}, []

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycle.extend(stack[stack.index(nxt):] + [nxt])
                return True
            if nxt not in state and visit(nxt, stack + [nxt]):
                return True
        state[node] = "done"
        return False

    for start in sorted(graph):
        if start not in state and visit(start, [start]):
            break
    return cycle


def test_the_import_graph_has_no_cycle():
    cycle = _a_cycle(_import_graph())
    assert not cycle, " -> ".join(cycle)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    # The shape of the former setlearn.assessment._config <-> _explainers cycle: one side
    # imports at module level, the other inside a function.
    package = tmp_path / "setlearn"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("thing = 1\n\n\ndef check():\n    from .a import other\n")
    assert _a_cycle(_import_graph(package)) == ["setlearn.a", "setlearn.b", "setlearn.a"]
    (package / "b.py").write_text("thing = 1\n")
    assert _a_cycle(_import_graph(package)) == []
