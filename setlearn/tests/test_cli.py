"""The setlearn command: parsing, exit codes, and the smoke preset through it."""

import contextlib
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from setlearn import assessment
from setlearn.assessment.tests._cluster import wait_for
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


def _tiny_config(tmp_path, **changes):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({**TINY, **changes}))
    return str(path)


def test_a_concurrent_run_on_the_same_folder_exits_2_naming_the_holder(tmp_path, capsys):
    import os
    import signal

    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from setlearn.assessment._store import _folder_lock\n"
         "with _folder_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(120)", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline() == "held\n"
        args = ["assess", "--preset", "smoke", "--config", _tiny_config(tmp_path), "--out", str(out), "--quiet"]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert f"in use by another setlearn assess (process {holder.pid} on " in err and err.count("\n") == 1
        assert not (out / "models.csv").exists()
    finally:
        # kill -9: the kernel releases the lock of a dead holder, so the folder is usable at once.
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert main([*args, "--max-models", "0"]) == 0


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: ["--config", str(tmp / "list.json")], "must hold a JSON object / TOML table"),
    (lambda tmp: ["--out", ""], "out is empty"),
])
def test_one_line_errors(tmp_path, monkeypatch, capsys, make_args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main(["assess", "--preset", "smoke", *make_args(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("setlearn assess: error:") and message in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["list.json"]


def test_damaged_rows_exit_2_and_drop_bad_rows_recovers(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["assess", "--preset", "smoke", "--config", _tiny_config(tmp_path), "--out", str(out), "--quiet"]
    assert main([*args, "--max-models", "2"]) == 0
    n_columns = len((out / "models.csv").read_text().splitlines()[0].split(","))
    with (out / "models.csv").open("a") as fh:
        fh.write(",".join(["mil", "gaussian", "search", "h4-a2"] + ["1"] * (n_columns - 4) + ["surplus"]) + "\n")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{out / 'models.csv'} has 1 damaged row(s): line 4: has {n_columns + 1} fields, expected {n_columns}" in err
    assert err.count("\n") == 1
    assert main([*args, "--drop-bad-rows"]) == 0
    assert "setlearn assess: warning: Dropped 1 damaged row" in capsys.readouterr().err
    assert len(pd.read_csv(out / "models.csv")) == N_TINY_MODELS


@contextlib.contextmanager
def _parallel_run(tmp_path, **popen_args):
    """A `setlearn assess --n-jobs 2` process, its output folder and its worker processes,
    handed over once a first model is in while both workers train; killed afterwards if left."""
    import os

    psutil = pytest.importorskip("psutil")
    out = tmp_path / "run"
    config = _tiny_config(tmp_path, estimator_params={"max_epochs": 60}, search_seeds=4)
    run = subprocess.Popen([sys.executable, "-m", "setlearn", "assess", "--preset", "smoke", "--config", config,
                            "--out", str(out), "--n-jobs", "2", "--quiet"],
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"},
                           **popen_args)
    children = []
    try:
        wait_for(lambda: (out / "models.csv").exists() and len((out / "models.csv").read_text().splitlines()) >= 2,
                 120, "a first finished model")
        children = psutil.Process(run.pid).children(recursive=True)
        assert len(children) >= 2
        yield run, out, children
    finally:
        for child in children:
            if child.is_running():
                child.kill()
        if run.poll() is None:
            run.kill()


def _wait_until_gone(processes, seconds, what):
    import psutil

    wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes),
             seconds, what)


@pytest.mark.slow
def test_kill_9_leaves_no_worker_behind(tmp_path):
    import signal

    with _parallel_run(tmp_path) as (run, _, children):
        # Killed while both workers train: the first rows are in, others are still running.
        run.send_signal(signal.SIGKILL)
        run.wait()
        # loky's workers used to train on for minutes; they now exit within a second or two.
        _wait_until_gone(children, 20, "the workers of the killed run to exit")


@pytest.mark.slow
def test_ctrl_c_of_a_parallel_run_stops_it_and_its_workers(tmp_path):
    # A terminal's Ctrl-C: SIGINT to the whole process group, workers included. A run started
    # in the background of a non-interactive shell (`cmd &`, so also a test suite started that
    # way) ignores SIGINT by POSIX rule and carries on, as the shell intends: stop such a run
    # with SIGTERM. The run here gets SIGINT's default back, as in a terminal.
    import os
    import signal

    def as_in_a_terminal():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    with _parallel_run(tmp_path, start_new_session=True, preexec_fn=as_in_a_terminal, stderr=subprocess.PIPE,
                       text=True) as (run, out, children):
        os.killpg(run.pid, signal.SIGINT)
        _, stderr = run.communicate(timeout=30)
        assert run.returncode == 130
        assert "interrupted. Every finished model is saved" in stderr and "Traceback" not in stderr
        _wait_until_gone(children, 20, "the workers of the interrupted run to exit")
        rows = pd.read_csv(out / "models.csv")
        assert len(rows) >= 1 and not rows.duplicated(["stage", "config_id", "repeat"]).any()
        assert (out / "report.md").read_text().startswith("# setlearn assess report (run in progress)")


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_leaves_no_folder(tmp_path, capsys):
    pytest.importorskip("distributed")
    from setlearn.assessment.tests._cluster import free_port

    out = tmp_path / "run"
    address = f"tcp://127.0.0.1:{free_port()}"
    args = ["assess", "--preset", "smoke", "--config", _tiny_config(tmp_path), "--out", str(out),
            "--scheduler", address, "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"setlearn assess: error: Cannot reach the Dask scheduler at '{address}'")
    assert err.count("\n") == 1 and not out.exists()


def test_a_lost_cluster_exits_1_with_one_line(monkeypatch, capsys, tmp_path):
    def lost(*args, **kwargs):
        raise assessment.ClusterError("Lost the Dask scheduler at tcp://127.0.0.1:1 (CommClosedError).")

    monkeypatch.setattr(assessment, "assess", lost)
    assert main(["assess", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == ("setlearn assess: error: Lost the Dask scheduler at tcp://127.0.0.1:1 "
                                       "(CommClosedError).\n")


def test_an_interrupt_while_importing_is_one_line(monkeypatch, capsys, tmp_path):
    # A Ctrl-C in the first second lands in the imports of the command itself.
    class Importing(type(sys)):
        def __getattr__(self, name):
            if name.startswith("__"):  # what pytest and inspect ask of any module
                raise AttributeError(name)
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "setlearn.assessment", Importing("setlearn.assessment"))
    try:
        status = main(["assess", "--out", str(tmp_path)])
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped the command as a traceback")
    assert status == 130
    assert "run the same command again" in capsys.readouterr().err


def test_a_closed_pipe_ends_print_config_quietly():
    # ``--print-config | head``: here the reader (``true``) is gone before the output is written.
    done = subprocess.run(
        f"{sys.executable} -m setlearn assess --print-config | true",
        shell=True, executable="/bin/bash", capture_output=True, text=True,
    )
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr


def test_an_operating_system_error_is_one_line(capsys, tmp_path):
    too_long = tmp_path / ("x" * 300)
    assert main(["assess", "--preset", "smoke", "--quiet", "--out", str(too_long)]) == 1
    err = capsys.readouterr().err
    assert err == f"setlearn assess: error: File name too long: {too_long}\n"


def test_the_help_names_every_bundled_preset():
    done = subprocess.run([sys.executable, "-m", "setlearn", "assess", "--help"], capture_output=True, text=True)
    # Joined without spaces: argparse wraps the epilog at hyphens too ("side-" / "s7").
    assert all(name in "".join(done.stdout.split()) for name in assessment.preset_names())
