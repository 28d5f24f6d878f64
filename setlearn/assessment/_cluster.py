"""Training on a Dask cluster: connecting, checking the workers' versions, telling a lost scheduler."""

from __future__ import annotations

from contextlib import contextmanager

from setlearn.utils._versions import RESULT_PACKAGES

from ._config import ClusterError, ConfigError


# Long enough for a scheduler across a network, short enough that a typo fails fast.
_CONNECT_TIMEOUT_S = 5
# What decides a model's numbers: a worker with other versions would mix them into the rows.
# Distribution names: distributed reads them with importlib.metadata.version.
_CHECKED_PACKAGES = RESULT_PACKAGES


def _version_mismatches(versions):
    """Lines naming every worker package whose version differs from the client's.

    ``versions`` is what ``distributed.Client.get_versions(packages=...)`` returns.
    """
    mine = versions["client"]["packages"]
    problems = []
    for worker, info in sorted(versions.get("workers", {}).items()):
        for name in _CHECKED_PACKAGES:
            theirs = info["packages"].get(name)
            if theirs != mine.get(name):
                problems.append(f"{worker} has {name} {theirs or '(not installed)'}, this machine {mine.get(name)}")
    return problems


@contextmanager
def _connect(scheduler):
    """A Dask client on ``scheduler`` whose workers train the models through joblib."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs Dask's distributed package: pip install -c constraints.txt "
                          "'.[dask]' (from a setlearn checkout).") from None
    from joblib import parallel_config

    try:
        client = Client(scheduler, timeout=_CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"Cannot reach the Dask scheduler at {scheduler!r} within {_CONNECT_TIMEOUT_S} s "
                          f"({type(exc).__name__}: {exc}). Check the address and that the scheduler "
                          f"runs.") from None
    except MemoryError:
        # Another kind of server (a web server, say) answers with bytes that distributed reads
        # as the length of a frame of exabytes.
        raise ConfigError(f"{scheduler!r} answers, but not as a Dask scheduler (its first reply is no Dask "
                          f"message). Check the address and port of the scheduler.") from None
    with client:
        mismatches = _version_mismatches(client.get_versions(packages=list(_CHECKED_PACKAGES)))
        if mismatches:
            raise ConfigError(f"The Dask workers at {scheduler} run other versions than this machine: "
                              f"{'; '.join(mismatches)}. Install the same versions everywhere.")
        with parallel_config(backend="dask"):
            yield client


def _is_closed_comm(exc):
    """A closed connection to the cluster: the scheduler is gone, even if the client has not
    noticed yet (a kill between two stages fails the next stage's first request at once)."""
    from distributed.comm.core import CommClosedError

    return isinstance(exc, CommClosedError)


def _lost_scheduler(client, scheduler, exc, out):
    """The :class:`ClusterError` to raise for ``exc`` when it means the scheduler is gone, else None."""
    if client.status == "running" and not _is_closed_comm(exc):
        return None
    # One line: distributed's messages run over several.
    reason = " ".join(str(exc).split())
    reason = reason if len(reason) <= 160 else reason[:157] + "..."
    return ClusterError(
        f"Lost the Dask scheduler at {scheduler} ({type(exc).__name__}: {reason}). Every finished "
        f"model is saved in {out}; run the same command against a running scheduler to continue."
    )
