"""Shared test fixtures."""

import pytest

from setlearn.utils._testing import presence_bags


@pytest.fixture
def bags():
    return presence_bags()


@pytest.fixture
def ragged_bags():
    return presence_bags(n_bags=60, sizes=(3, 7, 12, 20))
