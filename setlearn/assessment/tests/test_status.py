"""``setlearn status``: how far a run folder has got, read while a run may be writing it."""

import json
import os
import shutil
import socket
import subprocess
import sys

import pandas as pd
import pytest

import setlearn
from setlearn.assessment import ConfigError, run_status
from setlearn.assessment._store import _HOLDER_NAME
from setlearn.cli import main
from setlearn.utils._testing import N_TINY_ENSEMBLES, N_TINY_MODELS
from setlearn.utils._testing import TINY_ASSESS_CONFIG as TINY


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """A tiny run stopped after one of its two search models."""
    out = tmp_path_factory.mktemp("status") / "run"
    setlearn.assess("smoke", config=TINY, out=out, max_models=1, verbose=False)
    return out


def test_a_stopped_run_counts_what_is_stored_of_every_stage(partial):
    status = run_status(partial)
    (task,) = status.tasks
    assert (task.modality, task.problem) == ("gaussian", "mil")
    assert (task.search_done, task.search_total) == (1, 2)
    assert (task.configurations_complete, task.configurations) == (1, 2)
    assert (task.retrain_done, task.retrain_total) == (0, N_TINY_MODELS - 2)
    assert (task.ensembles_done, task.ensembles_total) == (0, N_TINY_ENSEMBLES)
    assert not status.complete and status.writer is None
    text = status.summary()
    assert "not complete" in text and "No run is writing it now; run the same setlearn assess command" in text
    assert "search      1 of 2 models (50 %), 1 of 2 configurations complete" in text
    assert "retraining  not started" in text


def test_a_finished_run_is_complete(tiny_assess_run):
    status = run_status(tiny_assess_run.out)
    (task,) = status.tasks
    assert task.retrain_done == task.retrain_total and task.ensembles_done == task.ensembles_total == N_TINY_ENSEMBLES
    models = tiny_assess_run.models
    accurate = models["valid_accuracy"] >= 0.9
    assert task.accurate == int(accurate.sum())
    assert task.silent == int((accurate & (models["iauc_roc"] <= 0.65)).sum())
    assert status.complete and status.summary().splitlines()[:2] == [f"{tiny_assess_run.out}: complete.",
                                                                      "No run is writing it now."]


def test_a_row_being_written_is_not_read(partial, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(partial, out)
    whole = len(pd.read_csv(out / "models.csv"))
    with open(out / "models.csv", "ab") as fh:
        fh.write(b"mil,gaussian,search,h4-a4")  # a run in the middle of appending a row
    assert run_status(out).tasks[0].search_done == whole


def test_the_writer_is_named_and_a_dead_one_is_told(partial, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(partial, out)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "2026-12-03T10:00:00+00:00"}
    (out / _HOLDER_NAME).write_text(json.dumps(holder))
    status = run_status(out)
    assert status.writer_alive and f"Being written by process {os.getpid()}" in status.summary()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / _HOLDER_NAME).write_text(json.dumps({**holder, "pid": int(gone.stdout)}))
    assert "is gone without releasing it (killed or crashed)" in run_status(out).summary()


def test_status_never_writes_to_the_folder(partial):
    before = {p: p.stat().st_mtime_ns for p in partial.rglob("*")}
    run_status(partial)
    assert {p: p.stat().st_mtime_ns for p in partial.rglob("*")} == before


def test_the_cli_prints_the_status_or_one_line_of_error(partial, tmp_path, capsys):
    assert main(["status", str(partial)]) == 0
    assert "search      1 of 2 models" in capsys.readouterr().out
    assert main(["status", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("setlearn status: error: ") and "a folder of setlearn assess?" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="a folder of setlearn assess"):
        run_status(tmp_path / "missing")


def test_a_sweep_folder_points_to_its_runs():
    from pathlib import Path

    side = Path(__file__).resolve().parents[3] / "docs" / "results" / "side-s7"
    if not side.exists():
        pytest.skip("the committed side-s7 run is not in this tree")
    with pytest.raises(ConfigError, match=r"is a sweep over witness_rate: each value is a run of its own, in .*"
                                          r"witness_rate=0.01.*run setlearn status on one of them"):
        run_status(side)
    (task,) = run_status(side / "sweep" / "witness_rate=0.01").tasks
    assert task.retrain_done == task.retrain_total
