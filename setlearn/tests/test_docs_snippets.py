"""Every Python snippet of the guides in docs/ runs.

The ```python blocks of one page run in order, in one namespace (later blocks
use the names of earlier ones), in a temporary folder. A block right after the
comment ``<!-- snippet: needs NAME -->`` runs only where the requirement NAME of
``REQUIREMENTS`` is met; otherwise the page's other blocks still run and the
test is then reported as skipped, naming the block and why. Blocks fenced as
``text`` or ``console`` are not Python and are not run.
"""

import re
from pathlib import Path

import pytest
import sklearn

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"(?:<!-- snippet: needs (?P<needs>[\w-]+) -->\n)?```python\n(?P<code>.*?)^```", re.S | re.M)


def _pbmc_file_available():
    from setlearn.datasets import load_pbmc_cells

    try:
        load_pbmc_cells()
    except (ImportError, FileNotFoundError) as error:
        return str(error)
    return None


def _full_mnist_available():
    # The guide's example folder; nothing in setlearn downloads it.
    folder = Path("~/data/mnist").expanduser()
    return None if folder.exists() else f"no MNIST files in {folder}"


#: Requirement name -> function returning None when met, else why not.
REQUIREMENTS = {"pbmc": _pbmc_file_available, "full-mnist": _full_mnist_available}


def snippets(page):
    """(line number, requirement or None, code) of every Python block of a page."""
    text = page.read_text()
    return [(text.count("\n", 0, m.start("code")) + 1, m["needs"], m["code"]) for m in BLOCK.finditer(text)]


PAGES = [page for page in sorted(DOCS.glob("*.md")) if snippets(page)] if DOCS.is_dir() else []
#: Pages whose snippets take over ~5 s (they train or make image bags): marked slow.
SLOW_PAGES = {"datasets.md"}


def test_pages_are_found():
    if not DOCS.is_dir():
        pytest.skip("docs/ is not next to this copy of setlearn (an installed wheel)")
    assert {"datasets.md", "metrics.md", "your-data.md"} | SLOW_PAGES <= {p.name for p in PAGES}
    assert snippets(DOCS / "metrics.md"), "the snippet pattern no longer matches the pages"


@pytest.mark.parametrize("page", [
    pytest.param(page, id=page.name, marks=[pytest.mark.slow] if page.name in SLOW_PAGES else []) for page in PAGES
])
def test_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets may write result folders
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    namespace = {"__name__": f"docs_{page.stem}"}
    ran, not_run = 0, []
    with sklearn.config_context():  # a snippet may switch on metadata routing globally
        for line, needs, code in snippets(page):
            if needs is not None:
                why_not = REQUIREMENTS[needs]()
                if why_not is not None:
                    not_run.append(f"{page.name}:{line} needs {needs}: {why_not}")
                    continue
            try:
                exec(compile(code, f"{page}:{line}", "exec"), namespace)
            except Exception as error:
                pytest.fail(f"The snippet at docs/{page.name}:{line} fails: {type(error).__name__}: {error}")
            ran += 1
    if not_run:
        pytest.skip(f"ran {ran} snippet(s); not run: " + "; ".join(not_run))
