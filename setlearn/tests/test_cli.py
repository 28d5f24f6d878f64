"""The setlearn command: parsing, exit codes, and the smoke preset through it."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from setlearn import assessment
from setlearn.cli import main
from setlearn.utils._testing import N_TINY_MODELS
from setlearn.utils._testing import TINY_ASSESS_CONFIG as TINY


def test_module_help_runs():
    done = subprocess.run([sys.executable, "-m", "setlearn", "assess", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ["--preset", "--config", "--out", "--n-jobs", "--scheduler", "--max-models", "--quiet"]:
        assert option in done.stdout


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def test_print_config_is_a_valid_override_file(tmp_path, capsys):
    assert main(["assess", "--preset", "smoke", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == assessment.load_config("smoke")
    (tmp_path / "mine.json").write_text(json.dumps(printed))
    assert assessment.load_config("quick", tmp_path / "mine.json") == printed


@pytest.mark.parametrize("args, message", [
    (["--preset", "quik"], "Did you mean 'quick'?"),
    (["--config", "missing.toml"], "does not exist"),
    (["--max-models", "-1"], "max_models must be an int in the range [0, inf), got -1"),
    (["--n-jobs", "0"], "n_jobs must not be 0"),
])
def test_config_errors_exit_2_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["assess", *args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("setlearn assess: error:") and message in err
    assert not (tmp_path / "setlearn-results").exists()


def test_interrupt_exits_130_with_a_resume_hint(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(assessment, "assess", interrupted)
    assert main(["assess", "--out", str(tmp_path)]) == 130
    assert "run the same command again" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_runs_the_smoke_preset(smoke_run, tmp_path):
    # The smoke study is trained once per session (conftest.smoke_run); the console script
    # resumes a copy of it, which exercises its whole path (config, store, report, summary).
    out = tmp_path / "tmp"
    shutil.copytree(smoke_run[1], out)
    done = subprocess.run(["setlearn", "assess", "--preset", "smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"Report: {out / 'report.md'}" in done.stdout
    assert "gaussian MIL: iAUC-ROC" in done.stdout
    assert len(pd.read_csv(out / "models.csv")) == 10
    # Same command again: resumes (nothing to do) and succeeds.
    again = subprocess.run([sys.executable, "-m", "setlearn", "assess", "--preset", "smoke", "--out", str(out),
                            "--quiet"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout == ""


def test_ctrl_c_during_training_exits_130_and_keeps_only_finished_models(monkeypatch, capsys, tmp_path,
                                                                         interrupt_training_at):
    interrupt_training_at(8)  # the 2nd epoch of the 3rd model
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    args = ["assess", "--preset", "smoke", "--config", str(tmp_path / "tiny.json"), "--out", str(tmp_path / "run"),
            "--n-jobs", "1", "--quiet"]
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "run the same command again to continue" in err
    assert len(pd.read_csv(tmp_path / "run" / "models.csv")) == 2
    monkeypatch.undo()
    assert main(args) == 0
    assert len(pd.read_csv(tmp_path / "run" / "models.csv")) == N_TINY_MODELS
