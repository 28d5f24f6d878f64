"""The README's printed quick run is the committed one (docs/results/quick/), word for word."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "docs" / "results" / "quick"

pytestmark = pytest.mark.skipif(not QUICK.exists(), reason="needs a source checkout (docs/results/quick/)")


def _after(marker, text):
    return text[text.index(marker) + len(marker):].lstrip("\n")


def test_the_printed_output_is_the_committed_runs():
    readme = (ROOT / "README.md").read_text()
    block = re.match(r"```\n(.*?)\n```", _after("<!-- quick-output -->", readme), re.S).group(1)
    assert block == (QUICK / "assess-output.txt").read_text().rstrip("\n")


def test_the_report_excerpt_is_the_committed_reports():
    readme = (ROOT / "README.md").read_text()
    excerpt = _after("<!-- quick-table -->", readme).split("\n\n")[0]
    assert excerpt in (QUICK / "report.md").read_text()


def test_the_committed_run_is_of_the_quick_preset():
    import json

    from setlearn.assessment import load_config

    stored = json.loads((QUICK / "config.json").read_text())
    assert {k: v for k, v in stored.items() if k != "description"} == \
        {k: v for k, v in load_config("quick").items() if k != "description"}
