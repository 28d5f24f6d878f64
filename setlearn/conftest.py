"""Shared test fixtures."""

import pytest

from setlearn.utils._testing import TINY_ASSESS_CONFIG, presence_bags


@pytest.fixture
def bags():
    return presence_bags()


@pytest.fixture
def ragged_bags():
    return presence_bags(n_bags=60, sizes=(3, 7, 12, 20))


@pytest.fixture
def interrupt_training_at(monkeypatch):
    """Simulate Ctrl-C inside skorch's training loop: ``interrupt_training_at(n)`` makes the
    n-th optimisation step from now on raise KeyboardInterrupt (``monkeypatch.undo()`` ends it)."""
    from setlearn.nn import BagNet
    from setlearn.utils.estimator_checks import _get_loss_interrupted_at

    def interrupt(n):
        monkeypatch.setattr(BagNet, "get_loss", _get_loss_interrupted_at(n))

    return interrupt


@pytest.fixture(scope="session")
def tiny_assess_run(tmp_path_factory):
    """One uninterrupted assessment of TINY_ASSESS_CONFIG, the reference resumed runs must match."""
    import setlearn

    return setlearn.assess("smoke", config=TINY_ASSESS_CONFIG, out=tmp_path_factory.mktemp("tiny"), verbose=False)


@pytest.fixture
def uninterrupted(tiny_assess_run):
    """The uninterrupted tiny run (``tiny_assess_run``), named for the tests that compare a
    resumed, repaired or distributed run with it."""
    return tiny_assess_run


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The smoke preset run once per session: ``(result, out)``; tests that need a finished
    smoke folder (the Python API, the console script) share it instead of training it twice."""
    import setlearn

    out = tmp_path_factory.mktemp("smoke") / "smoke"
    return setlearn.assess("smoke", out=out, verbose=False), out
