"""The ``setlearn`` package at an earlier git revision, for benchmarks that time it beside this tree."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def export_package(rev, into):
    """Write ``setlearn/`` as it was at ``rev`` under the existing folder ``into`` and return ``into``.

    Uses ``git archive``, so the work tree (and its uncommitted changes) is left alone; put
    ``into`` on ``PYTHONPATH`` to import the old package in a fresh process.
    """
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "setlearn"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
