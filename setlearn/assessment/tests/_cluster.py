"""A real Dask deployment for tests and benchmarks: scheduler and workers as separate processes.

Everything listens on, and connects to, the loopback interface only. Ports are picked
free by binding to 127.0.0.1:0 first (a scheduler told ``--port 0`` would choose, and
a worker told nothing would listen, on every interface).
"""

import os
import signal
import socket
import subprocess
import sys
import time

LOOPBACK = "127.0.0.1"


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


class ProcessCluster:
    """``dask scheduler`` and ``n_workers`` single-threaded ``dask worker`` processes on 127.0.0.1.

    Use as a context manager: every process it started is killed on exit, also
    when the body fails. Workers run without a nanny, so a killed worker stays dead.

    Parameters
    ----------
    n_workers : int
    log_dir : path-like
        Where each process's output goes (``scheduler.log``, ``worker-<i>.log``).

    Examples
    --------
    >>> with ProcessCluster(2, tmp_path) as cluster:  # doctest: +SKIP
    ...     setlearn.assess("smoke", scheduler=cluster.address)
    """

    def __init__(self, n_workers, log_dir):
        self.n_workers = n_workers
        self.log_dir = log_dir
        self.address = f"tcp://{LOOPBACK}:{free_port()}"
        self.scheduler = None
        self.workers = []
        # The workers import the setlearn this process imports, with one torch thread.
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
                    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def _spawn(self, name, args, env=None):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "wb")
        # A session of its own, so that killing it reaches no process of the caller. Started in
        # the log folder: with "-m" the working directory comes first on sys.path, and a
        # checkout's setlearn.egg-info there would hide a test's stand-in distribution.
        process = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                                   env=env or self.env, start_new_session=True, cwd=self.log_dir)
        log.close()
        return process

    @staticmethod
    def _http_server_args():
        # Without a dashboard, scheduler and workers still serve HTTP (health, metrics), by
        # default on every interface (measured: 0.0.0.0:8787): bind it to the loopback too.
        return ["--no-dashboard", "--dashboard-address", f"{LOOPBACK}:{free_port()}"]

    def start_scheduler(self):
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn("scheduler", ["distributed.cli.dask_scheduler", "--host", LOOPBACK,
                                                   "--port", port, *self._http_server_args()])

    def add_worker(self, path_first=None):
        """Start one more worker; ``path_first``: a folder put first on its ``sys.path``."""
        i = len(self.workers)
        args = ["distributed.cli.dask_worker", self.address, "--name", f"worker-{i}", "--nthreads", "1",
                "--no-nanny", "--host", LOOPBACK, "--worker-port", str(free_port()), *self._http_server_args(),
                "--death-timeout", "60"]
        env = self.env if path_first is None else {
            **self.env, "PYTHONPATH": os.pathsep.join([str(path_first), self.env["PYTHONPATH"]])}
        self.workers.append(self._spawn(f"worker-{i}", args, env))
        return self.workers[-1]

    def wait_for_workers(self, n, timeout=120):
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def __enter__(self):
        try:
            self.start_scheduler()
            for _ in range(self.n_workers):
                self.add_worker()
            self.wait_for_workers(self.n_workers)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    @staticmethod
    def kill(process):
        """SIGKILL one process started here (and its session), and reap it."""
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if process is not None:
            process.wait()

    def stop(self):
        for process in [*self.workers, self.scheduler]:
            self.kill(process)


def wait_for(condition, timeout, what):
    """Poll ``condition()`` until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
