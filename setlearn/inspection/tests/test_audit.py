"""Tests for the ground-truth audit."""

import subprocess
import sys

import numpy as np
import pytest

from setlearn.datasets import make_bags, make_bags_from
from setlearn.inspection import AUDIT_COLUMNS, audit_ground_truth, auroc_interval, population_shares


def _bags(problem, composition, n_bags=300, seed=0, bag_size=60):
    return make_bags(problem, n_bags=n_bags, bag_size=bag_size, composition=composition, random_state=seed,
                     return_populations=True)


def _audit(problem, composition, n_bags=300, **kwargs):
    X, y, importance, populations = _bags(problem, composition, n_bags=n_bags)
    return audit_ground_truth(X, y, importance, populations, n_bootstraps=300, random_state=0, **kwargs)


def test_subsets_are_every_strict_subset_without_all_deciding_populations():
    assert [c.populations for c in _audit("and", "independent").subsets] == [(0,), (1,), (2,), (0, 1), (0, 2)]
    assert [c.populations for c in _audit("mil", "independent").subsets] == [(0,)]
    audit = _audit("xor", "independent")
    assert audit.deciding == (1, 2)
    assert audit.check("populations 0+1").features == (
        "count of 0, count of 1, share of 0 within S, share of 1 within S")


@pytest.mark.parametrize("problem", ["mil", "and", "xor"])
def test_independent_composition_has_no_leak(problem):
    audit = _audit(problem, "independent", n_bags=600)
    assert not audit.has_leak, audit.summary()
    assert audit.summary().startswith("No leak")
    for check in audit.subsets:
        assert abs(check.auroc - check.bound) < 0.08


def test_bounds_are_those_of_the_rule():
    # AND with independent presence p = sqrt(1/2): population 1 is present in every
    # positive bag and in p(1-p) / (1/2) of the negatives, so its presence indicator
    # has AUROC 1 - q/2 with q that share. XOR: presence of one population says nothing.
    p = np.sqrt(0.5)
    q = p * (1 - p) / 0.5
    audit = _audit("and", "independent", n_bags=2000)
    assert audit.check("population 0").bound == 0.5
    assert audit.check("population 1").bound == pytest.approx(1 - q / 2, abs=0.02)
    assert audit.check("populations 0+2").bound == pytest.approx(1 - q / 2, abs=0.02)
    audit = _audit("xor", "independent", n_bags=2000)
    assert all(abs(c.bound - 0.5) < 0.02 for c in audit.subsets)


@pytest.mark.parametrize("problem,composition,leaking", [
    # The study's design: population 0's amount gives the label away.
    ("and", "study", {"population 0", "populations 0+1", "populations 0+2"}),
    ("xor", "study", {"population 0", "populations 0+1", "populations 0+2"}),
    # Balanced: one deciding population's amount does (n1 + n2 is fixed).
    ("and", "balanced", {"population 1", "population 2", "populations 0+1", "populations 0+2"}),
    ("mil", "balanced", {"population 0"}),
])
def test_fixed_size_compositions_leak_and_the_audit_names_the_subsets(problem, composition, leaking):
    audit = _audit(problem, composition)
    assert leaking <= {c.name for c in audit.leaks}
    assert audit.summary().startswith("LEAK: ")
    for name in leaking:
        assert name in audit.summary().splitlines()[0]


def test_a_leak_through_the_mix_of_two_populations_is_found():
    # Population 1 is in every bag; its share within populations 0+1 is 0.1 in
    # negatives and 0.2 in positives, while the counts spread widely: neither count
    # alone tells the classes apart as well as their mix.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 150)
    n0 = rng.integers(20, 200, 300)
    n1 = np.maximum(1, np.round(np.where(y == 1, 0.2, 0.1) * n0)).astype(int)
    populations = [np.r_[np.zeros(a, int), np.ones(b, int), np.full(3, 2)] for a, b in zip(n0, n1)]
    importance = [(p > 0).astype(np.int8) for p in populations]
    X = [np.zeros((len(p), 1)) for p in populations]
    audit = audit_ground_truth(X, y, importance, populations, n_bootstraps=300, random_state=0)
    mix = audit.check("populations 0+1")
    assert mix.leak and mix.bound == 0.5 and mix.auroc > 0.95
    assert mix.auroc > audit.check("population 1").auroc + 0.1
    assert not audit.check("population 0").leak


def test_whole_bag_shares_and_bag_size_are_reported_apart():
    audit = _audit("mil", "independent", n_bags=300)
    # Population 0's count says nothing, but a positive bag holds more instances and
    # less population 0: what uniform attention (or a sum) can read.
    assert audit.bag_size.auroc > 0.9 and audit.whole_bag_shares.auroc > 0.9
    assert audit.whole_bag_shares.features == "share of population 0"
    assert audit.check("population shares") is audit.whole_bag_shares  # the old name
    frame = audit.to_frame()
    assert list(frame.columns) == AUDIT_COLUMNS
    assert list(frame.check) == ["population 0", "whole-bag shares", "bag size"]
    assert frame.leak.dtype == bool and not frame.leak.any()


def test_a_few_dozen_bags_are_enough_to_see_a_strong_signal():
    X, y, importance, populations = make_bags("mil", n_bags=30, bag_size=10, random_state=0, composition="study",
                                              return_populations=True)
    audit = audit_ground_truth(X, y, importance, populations, random_state=0)
    assert audit.check("population 0").auroc > 0.9 and audit.has_leak


def test_without_populations_the_importance_labels_are_the_populations():
    X, y, importance, _ = _bags("and", "study")
    audit = audit_ground_truth(X, y, importance, n_bootstraps=300, random_state=0)
    assert [c.name for c in audit.subsets] == ["population 0"]
    assert audit.check("population 0").features == "count of 0"
    assert audit.whole_bag_shares.features == "share of unimportant instances"
    assert audit.check("population 0").leak


def test_works_on_make_bags_from_bags():
    rng = np.random.default_rng(0)
    instances = rng.normal(size=(600, 3))
    labels = np.repeat([0, 1, 2], 200)
    X, y, importance, populations = make_bags_from(instances, labels, "xor", n_bags=300, bag_size=40,
                                                   random_state=0, return_populations=True)
    audit = audit_ground_truth(X, y, importance, populations, n_bootstraps=300, random_state=0)
    assert len(audit.subsets) == 5 and not audit.has_leak


def test_same_random_state_same_audit():
    a = _audit("xor", "study", n_bags=100)
    b = _audit("xor", "study", n_bags=100)
    assert a.to_frame().equals(b.to_frame())


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


@pytest.mark.parametrize("chunk", [1 << 20, 7 * 300])  # one chunk; 7 resamples a chunk, the last one short
def test_the_bootstrap_is_the_per_resample_loop(monkeypatch, chunk):
    # The resamples are drawn and scored in chunks; the interval must be the one a plain loop
    # of sklearn scores over one draw per resample gives, skipped one-class resamples included.
    from sklearn.metrics import roc_auc_score

    from setlearn.inspection import _audit

    monkeypatch.setattr(_audit, "_BOOTSTRAP_CHUNK", chunk)
    rng = np.random.default_rng(1)
    y = (np.arange(300) < 4).astype(int)  # 4 positives: some resamples hold none
    scores = np.round(y + rng.normal(size=300), 1)
    draws = np.random.default_rng(5)
    expected = []
    for _ in range(200):
        idx = draws.integers(300, size=300)
        if 0 < y[idx].sum() < 300:
            expected.append(roc_auc_score(y[idx], scores[idx]))
    assert len(expected) < 200
    _, low, high = auroc_interval(y, scores, n_bootstraps=200, random_state=5)
    np.testing.assert_allclose([low, high], np.percentile(expected, [2.5, 97.5]), rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def tiny_estimator():
    from setlearn import AttentionMILClassifier

    return AttentionMILClassifier(hidden_size=4, attention_size=2, max_epochs=30, random_state=0)


def test_attention_needed_check_on_test_bags_and_by_cross_validation(tiny_estimator):
    X, y, importance, populations = _bags("mil", "balanced", n_bags=80)
    Xt, yt, _, _ = _bags("mil", "balanced", n_bags=40, seed=1)
    audit = audit_ground_truth(X, y, importance, populations, estimator=tiny_estimator, test=(Xt, yt),
                               random_state=0)
    assert audit.to_frame().check.tolist()[-1] == "attention needed"
    check = audit.attention_needed
    assert audit.uniform_attention is check and audit.check("uniform attention") is check  # the old names
    assert check.n_bags == 40 and "test bags" in check.features
    # MIL on well-separated Gaussians: the mean of a bag already gives the label away.
    assert check.auroc > 0.9
    audit = audit_ground_truth(X, y, importance, populations, estimator=tiny_estimator, cv=2, random_state=0)
    assert audit.attention_needed.n_bags == 80 and "2-fold" in audit.attention_needed.features
    assert tiny_estimator.attention == "tanh"  # cloned, never changed


@pytest.mark.parametrize("kwargs,match", [
    (dict(y=np.zeros(80)), "exactly two classes"),
    (dict(cv=1), "cv must be an integer >= 2"),
    (dict(cv=50), "at least cv=50 bags"),
    (dict(importance=[[0, 1]] * 80), "importance"),
    (dict(estimator=object()), "must have an 'attention' parameter"),
    (dict(test=([np.zeros((3, 4))],)), "test must be a pair"),
    (dict(confidence=1.0), r"confidence must be in \(0, 1\)"),
    (dict(n_bootstraps=0), "n_bootstraps must be an integer >= 1"),
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


def test_to_dict_keeps_the_old_rows_for_old_callers():
    audit = _audit("xor", "study", n_bags=100)
    with pytest.warns(FutureWarning, match="to_frame"):
        rows = audit.to_dict("records")
    assert [r["check"] for r in rows] == ["population shares"]
    assert list(rows[0]) == AUDIT_COLUMNS[:6] and rows[0]["auroc"] == audit.whole_bag_shares.auroc
