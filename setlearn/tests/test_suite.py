"""The test suite's own setup: a plain ``pytest`` is quick, and CI runs every test.

CI (``.ci/run``) runs the README's test command; ``pyproject.toml`` makes a plain
``pytest`` leave out the tests marked ``slow``. Both are marker expressions, checked here
with pytest's own parser, so that neither can drift into CI skipping tests.
"""

import shlex
import tomllib
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

ROOT = Path(__file__).resolve().parents[2]


def _marker_expression(args):
    """The argument of the last ``-m`` in ``args`` (the one pytest obeys), or None."""
    found = None
    for flag, value in zip(args, args[1:]):
        if flag == "-m":
            found = value
    return found


def _selects(expression, marks):
    return expression is None or Expression.compile(expression).evaluate(lambda name, **kwargs: name in marks)


def _readme_block(marker):
    """The first fenced block after ``<!-- ci:MARKER -->`` in the README, as .ci/run reads it."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(f"<!-- ci:{marker} -->")
    fences = [i for i in range(start, len(lines)) if lines[i].startswith("```")]
    return "\n".join(lines[fences[0] + 1 : fences[1]])


@pytest.fixture
def checkout():
    if not (ROOT / "README.md").is_file() or not (ROOT / "pyproject.toml").is_file():
        pytest.skip("README.md and pyproject.toml are not next to this copy of setlearn (an installed wheel)")


def test_a_plain_pytest_leaves_out_the_slow_tests(checkout):
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    default = _marker_expression(shlex.split(options["addopts"]))
    assert _selects(default, set()) and not _selects(default, {"slow"})


def test_ci_runs_every_test(checkout):
    commands = [shlex.split(part) for part in _readme_block("test").split("&&")]
    pytest_args = [words[words.index("pytest") + 1 :] for words in commands if "pytest" in words]
    assert len(pytest_args) == 1, "the README's test block must run pytest once"
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    # addopts come first, so the command's own -m (if any) wins.
    expression = _marker_expression([*shlex.split(options["addopts"]), *pytest_args[0]])
    assert _selects(expression, {"slow"}) and _selects(expression, set()), (
        f"the README's test command selects tests by -m {expression!r}: CI would skip some"
    )
