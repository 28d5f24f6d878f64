"""Tests for the ground-truth audit."""

import subprocess
import sys

import numpy as np
import pytest

from setlearn.datasets import make_bags
from setlearn.inspection import AUDIT_COLUMNS, audit_ground_truth, auroc_interval, population_shares


def _bags(problem, composition, n_bags=300, seed=0):
    return make_bags(problem, n_bags=n_bags, bag_size=60, composition=composition, random_state=seed,
                     return_populations=True)


def _share_auroc(problem, composition):
    X, y, importance, populations = _bags(problem, composition)
    return audit_ground_truth(X, y, importance, populations, random_state=0).iloc[0]


@pytest.mark.parametrize("problem", ["and", "xor"])
def test_audit_tells_the_population_zero_shortcut_from_a_constant_share(problem):
    # Before compositions, AND/XOR gave left-out rates to population 0, so its
    # share predicts the label (for XOR non-monotonically: 'neither' negatives
    # above the positives, 'both' below). With a constant share it cannot.
    shortcut = _share_auroc(problem, "population0")
    constant = _share_auroc(problem, "balanced")
    assert shortcut.auroc > 0.95 and shortcut.auroc_low > 0.9
    assert constant.auroc_low < 0.5 < constant.auroc_high or abs(constant.auroc - 0.5) < 0.1
    assert constant.auroc_high < shortcut.auroc_low


def test_audit_flags_the_inherent_mil_signal():
    row = _share_auroc("mil", "balanced")
    assert row.auroc == 1.0 and row.features == "share of population 0"


def test_a_few_dozen_bags_are_enough_to_see_a_strong_signal():
    X, y, importance, populations = make_bags("mil", n_bags=30, bag_size=10, random_state=0,
                                              return_populations=True)
    assert audit_ground_truth(X, y, importance, populations, random_state=0).loc[0, "auroc"] > 0.9


def test_without_populations_the_share_of_unimportant_instances_is_used():
    X, y, importance, _ = _bags("and", "population0")
    audit = audit_ground_truth(X, y, importance, random_state=0)
    assert list(audit.columns) == AUDIT_COLUMNS
    assert audit.loc[0, "features"] == "share of unimportant instances"
    assert audit.loc[0, "auroc"] > 0.95


def test_same_random_state_same_audit():
    X, y, importance, populations = _bags("xor", "population0", n_bags=100)
    a = audit_ground_truth(X, y, importance, populations, random_state=3)
    b = audit_ground_truth(X, y, importance, populations, random_state=3)
    assert a.equals(b)


def test_population_shares_skip_populations_with_important_instances():
    shares, names = population_shares([[0, 1, 0, 0], [1, 0]], [[0, 1, 0, 3], [1, 3]])
    assert names == ["share of population 0", "share of population 3"]
    np.testing.assert_allclose(shares, [[0.5, 0.25], [0.0, 0.5]])


def test_auroc_interval_matches_sklearn_and_covers_it():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    scores = np.round(y + rng.normal(size=300), 1)  # ties, too
    auroc, low, high = auroc_interval(y, scores, random_state=0)
    assert auroc == pytest.approx(roc_auc_score(y, scores))
    assert low < auroc < high and high - low < 0.2


@pytest.fixture(scope="module")
def tiny_estimator():
    from setlearn import AttentionMILClassifier

    return AttentionMILClassifier(hidden_size=4, attention_size=2, max_epochs=30, random_state=0)


def test_uniform_attention_check_on_test_bags_and_by_cross_validation(tiny_estimator):
    X, y, importance, populations = _bags("mil", "balanced", n_bags=80)
    Xt, yt, _, _ = _bags("mil", "balanced", n_bags=40, seed=1)
    audit = audit_ground_truth(X, y, importance, populations, estimator=tiny_estimator, test=(Xt, yt),
                               random_state=0)
    assert list(audit.check) == ["population shares", "uniform attention"]
    row = audit.iloc[1]
    assert row.n_bags == 40 and "test bags" in row.features
    # MIL on well-separated Gaussians: the mean of a bag already gives the label away.
    assert row.auroc > 0.9
    audit = audit_ground_truth(X, y, importance, populations, estimator=tiny_estimator, cv=2, random_state=0)
    assert audit.iloc[1].n_bags == 80 and "2-fold" in audit.iloc[1].features
    assert tiny_estimator.attention == "tanh"  # cloned, never changed


@pytest.mark.parametrize("kwargs,match", [
    (dict(y=np.zeros(80)), "exactly two classes"),
    (dict(cv=1), "cv must be an integer >= 2"),
    (dict(cv=50), "at least cv=50 bags"),
    (dict(importance=[[0, 1]] * 80), "importance"),
    (dict(estimator=object()), "must have an 'attention' parameter"),
    (dict(test=([np.zeros((3, 4))],)), "test must be a pair"),
])
def test_bad_input_says_what_to_fix(kwargs, match, tiny_estimator):
    X, y, importance, populations = _bags("mil", "balanced", n_bags=80)
    args = dict(X=X, y=y, importance=importance, populations=populations)
    if "test" in kwargs:
        kwargs = dict(kwargs, estimator=tiny_estimator)
    for name in ("y", "importance"):
        if name in kwargs:
            args[name] = kwargs.pop(name)
    with pytest.raises(ValueError, match=match):
        audit_ground_truth(**args, **kwargs)


def test_importing_inspection_does_not_import_torch():
    code = "import sys, setlearn.inspection; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
