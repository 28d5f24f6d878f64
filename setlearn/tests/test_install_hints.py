"""Install hints point at the checkout (setlearn is not on PyPI), and docs/install.md lists every extra."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "setlearn"
# "pip install setlearn", "pip install 'setlearn[explain]'", "pip install -U "setlearn[mnist]"": all look on PyPI.
_FROM_PYPI = re.compile(r"""pip install\s+(?:-\S+\s+)*["']?setlearn\b|#\s*from PyPI""", re.I)


def _texts():
    files = [p for p in PACKAGE.rglob("*.py") if "tests" not in p.parts]
    for folder, pattern in [(ROOT / "docs", "*.md"), (ROOT / "examples", "*.py"), (ROOT, "*.md")]:
        if folder.is_dir():
            files += [p for p in folder.glob(pattern) if p.name != "CHANGELOG.md"]
    return files


def test_no_install_hint_names_a_package_that_is_not_on_pypi():
    wrong = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _texts() for number, line in enumerate(path.read_text().splitlines(), start=1)
             if _FROM_PYPI.search(line)]
    assert not wrong, "install from the checkout instead (pip install -c constraints.txt \".[extra]\"):\n" + \
        "\n".join(wrong)


def test_the_install_page_lists_every_extra_of_pyproject():
    if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "docs" / "install.md").is_file():
        pytest.skip("pyproject.toml and docs/ are not next to this copy of setlearn (an installed wheel)")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    page = (ROOT / "docs" / "install.md").read_text()
    missing = [name for name in extras
               if f"| `{name}` |" not in page or f'pip install -c constraints.txt ".[{name}]"' not in page]
    assert not missing, f"docs/install.md has no row with the install line of the extras {missing}"


def test_the_missing_captum_hint_is_the_checkout_form(monkeypatch):
    import builtins

    import numpy as np

    from setlearn import AttentionMILClassifier
    from setlearn.utils._testing import presence_bags

    X, y, _ = presence_bags(n_bags=10, sizes=(3, 4))
    clf = AttentionMILClassifier(hidden_size=2, attention_size=2, max_epochs=1, random_state=0).fit(X, y)
    real_import = builtins.__import__

    def no_captum(name, *args, **kwargs):
        if name.startswith("captum"):
            raise ImportError("No module named 'captum'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_captum)
    with pytest.raises(ImportError, match=re.escape('pip install -c constraints.txt ".[explain]"')):
        clf.explain(np.asarray(X[:2]), method="integrated_gradients")
