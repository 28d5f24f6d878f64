"""setlearn assess on a real Dask deployment: scheduler and workers as separate processes (#16).

Everything runs on the loopback interface (127.0.0.1, free ports). The run is the
``setlearn`` command in a process of its own, as a user would start it.
"""

import json
import os
import subprocess
import sys
import threading

import pandas as pd
import pytest

import setlearn
from setlearn.assessment import ClusterError, ConfigError, _store
from setlearn.assessment.tests._cluster import LOOPBACK, ProcessCluster, wait_for
from setlearn.assessment.tests.test_assessment import _without_timing
from setlearn.utils._testing import N_TINY_MODELS
from setlearn.utils._testing import TINY_ASSESS_CONFIG as TINY

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")


def _start_run(tmp_path, out, address):
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    return subprocess.Popen(
        [sys.executable, "-m", "setlearn", "assess", "--preset", "smoke", "--config", str(tmp_path / "tiny.json"),
         "--out", str(out), "--scheduler", address, "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OMP_NUM_THREADS": "1"})


def _finish(run, timeout=120):
    try:
        out, err = run.communicate(timeout=timeout)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    return run.returncode, err


def _n_rows(path):
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


def _assert_same_as_local(out, local):
    models = pd.read_csv(out / "models.csv", dtype={"config_id": str})
    assert not models.duplicated(_store.MODEL_KEY).any()
    pd.testing.assert_frame_equal(_without_timing(models), _without_timing(local.models))
    ensembles = pd.read_csv(out / "ensembles.csv", dtype={"config_id": str, "members": str})
    pd.testing.assert_frame_equal(ensembles.sort_values(_store.ENSEMBLE_KEY, ignore_index=True), local.ensembles)
    for table in sorted((local.out / "tables").glob("*.csv")):
        assert (out / "tables" / table.name).read_bytes() == table.read_bytes(), table.name


def _listening_addresses(processes):
    found = set()
    for process in processes:
        if process.poll() is None:
            for conn in psutil.Process(process.pid).net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    found.add(conn.laddr.ip)
    return found


def _fake_distribution(folder, name, version):
    """A folder whose dist-info makes importlib.metadata report another ``version`` of ``name``."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return folder


@pytest.mark.slow
def test_a_process_cluster_gives_the_local_rows_and_survives_losing_a_worker_or_the_scheduler(
        tmp_path, uninterrupted):
    with ProcessCluster(2, tmp_path) as cluster:
        assert _listening_addresses([cluster.scheduler, *cluster.workers]) == {LOOPBACK}

        # Workers with other versions than this machine are refused up front, by name.
        other = cluster.add_worker(path_first=_fake_distribution(tmp_path / "other", "setlearn", "9.9"))
        cluster.wait_for_workers(3)
        with pytest.raises(ConfigError, match=r"tcp://127.0.0.1:\d+ has setlearn 9.9, this machine"):
            setlearn.assess("smoke", config=TINY, out=tmp_path / "refused", scheduler=cluster.address,
                            verbose=False)
        assert not (tmp_path / "refused").exists()
        cluster.kill(other)

        # The command, with a worker killed (SIGKILL) while models train: it finishes on the other.
        out = tmp_path / "cluster"
        run = _start_run(tmp_path, out, cluster.address)
        with distributed.Client(cluster.address, timeout=30) as observer:
            # Killed while it trains: the scheduler lists a task in progress on it.
            wait_for(lambda: any(tasks for worker, tasks in observer.processing().items()
                                 if observer.scheduler_info()["workers"].get(worker, {}).get("name") == "worker-0"),
                     120, "worker-0 to train a model")
        assert _n_rows(out / "models.csv") < N_TINY_MODELS
        cluster.kill(cluster.workers[0])
        code, err = _finish(run)
        assert code == 0, err
        _assert_same_as_local(out, uninterrupted)

        # The scheduler killed during a run: a one-line error, and the finished rows stay.
        lost = tmp_path / "lost"
        failure = {}

        def run_until_lost():
            try:
                setlearn.assess("smoke", config=TINY, out=lost, scheduler=cluster.address, verbose=False)
            except Exception as exc:
                failure["exc"] = exc

        thread = threading.Thread(target=run_until_lost)
        thread.start()
        wait_for(lambda: _n_rows(lost / "models.csv") >= 1, 120, "a first finished model")
        cluster.kill(cluster.scheduler)
        thread.join(60)
        assert not thread.is_alive()
        assert isinstance(failure.get("exc"), ClusterError), failure
        assert str(failure["exc"]).startswith("Lost the Dask scheduler") and "\n" not in str(failure["exc"])
    # joblib hands the Dask workers models in batches, so on a quiet machine every tiny model
    # may be stored before the scheduler dies; the loss then hits the ensembles or the audit.
    n_stored = _n_rows(lost / "models.csv")
    assert 1 <= n_stored <= N_TINY_MODELS

    # A fresh cluster resumes the interrupted run to the local result.
    with ProcessCluster(1, tmp_path) as fresh:
        result = setlearn.assess("smoke", config=TINY, out=lost, scheduler=fresh.address, verbose=False)
    assert result.complete and result.n_new_models == N_TINY_MODELS - n_stored
    _assert_same_as_local(lost, uninterrupted)


def test_cluster_processes_are_killed_when_the_body_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with ProcessCluster(1, tmp_path) as cluster:
            processes = [cluster.scheduler, *cluster.workers]
            raise RuntimeError("boom")
    assert all(p.poll() is not None for p in processes)
    with pytest.raises(ProcessLookupError):
        os.kill(processes[0].pid, 0)
