"""Tests of classify_bad_model."""

import numpy as np
import pytest

from setlearn.inspection import FAILURE_KINDS, classify_bad_model


@pytest.mark.parametrize("iauc,accuracy,kind", [
    ({1: 0.91, 2: 0.03}, 1.0, "one-population"),   # the silent failures of issue #21
    ({1: 0.70, 2: 0.50}, 0.95, "one-population"),
    ({1: 0.20, 2: 0.30}, 1.0, "inverted"),
    ({1: 0.30}, 1.0, "inverted"),
    ({1: 0.50, 2: 0.55}, 1.0, "diffuse"),
    ({1: 0.60}, 1.0, "diffuse"),
    ({1: 0.20, 2: 0.50}, 1.0, "diffuse"),
    ({1: 0.91, 2: 0.03}, 0.89, "untrained"),       # accuracy first
    ({1: 0.90, 2: 0.80}, 0.5, "good"),             # not a bad explanation at all
    ([0.70, np.nan], 1.0, "good"),                  # NaN: a population no bag held
])
def test_kinds(iauc, accuracy, kind):
    assert classify_bad_model(iauc, accuracy) == kind
    assert kind == "good" or kind in FAILURE_KINDS


def test_thresholds_can_be_changed():
    assert classify_bad_model({1: 0.6, 2: 0.3}, 1.0, high=0.55) == "one-population"
    assert classify_bad_model({1: 0.5}, 0.8, min_accuracy=0.75) == "diffuse"


@pytest.mark.parametrize("kwargs,match", [
    (dict(per_population_iauc={}), "no finite iAUC"),
    (dict(per_population_iauc=[np.nan]), "no finite iAUC"),
    (dict(valid_accuracy=1.5), r"valid_accuracy must be a number in \[0, 1\]"),
    (dict(low=0.7), r"low \(0.7\) must not exceed high"),
])
def test_bad_input(kwargs, match):
    args = dict(per_population_iauc={1: 0.5}, valid_accuracy=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        classify_bad_model(**args)
