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
    "table_silent_failures, bad_fraction_by_ensemble_size, top_configurations, PAPER_TABLE1",
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


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path):
    """setlearn modules that ``path`` imports when it is imported (module level only;
    imports inside functions run later and cannot form an import cycle)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
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


def test_the_import_graph_has_no_cycle():
    modules = {
        _module_name(p): p for p in PACKAGE.rglob("*.py") if "tests" not in p.parts and p.name != "conftest.py"
    }
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target in _top_level_imports(path):
            # Importing a.b.c imports a.b first; only edges between distinct modules count.
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                edges.add(target)
        graph[name] = edges

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
    assert not cycle, " -> ".join(cycle)
