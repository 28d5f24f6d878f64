"""Tests of the iAUC per deciding population and its scorer."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_score

from setlearn.metrics import importance_auroc_per_population, importance_auroc_score, make_importance_scorer


def _one_population_attention(populations):
    # Ranks population 1 first, population 0 next, population 2 last: the
    # "silent failure" of issue #21, whose pooled iAUC is about 0.5.
    order = {0: 0.5, 1: 1.0, 2: 0.0}
    return [np.array([order[p] for p in pop]) + 0.01 * np.arange(len(pop)) / len(pop) for pop in populations]


def _bags(n_bags=40, seed=0):
    rng = np.random.default_rng(seed)
    populations, y = [], []
    for i in range(n_bags):
        kind = i % 4  # AND: both (positive), only 1, only 2, neither
        pop = [0] * int(rng.integers(3, 8))
        pop += [1] * int(rng.integers(1, 4)) * (kind in (0, 1)) + [2] * int(rng.integers(1, 4)) * (kind in (0, 2))
        populations.append(np.array(rng.permutation(pop)))
        y.append(int(kind == 0))
    importance = [(p > 0).astype(int) for p in populations]
    return populations, importance, np.array(y)


def test_one_population_model_is_told_apart_from_a_diffuse_one():
    populations, importance, y = _bags()
    attention = _one_population_attention(populations)
    scores = importance_auroc_per_population(importance, attention, populations, y=y)
    assert scores == {1: 1.0, 2: 0.0}
    pooled = importance_auroc_score(importance, attention, y=y)
    assert 0.3 < pooled < 0.7  # the pooled score cannot tell this model from a uniform one


def test_matches_brute_force_per_bag():
    populations, importance, y = _bags(seed=1)
    rng = np.random.default_rng(0)
    attention = [rng.random(len(p)) for p in populations]
    scores = importance_auroc_per_population(importance, attention, populations, y=y)
    for k in (1, 2):
        expected = np.mean([roc_auc_score(p[p != 3 - k] == k, a[p != 3 - k])
                            for p, a, label in zip(populations, attention, y) if label])
        assert scores[k] == pytest.approx(expected)
    pooled = importance_auroc_per_population(importance, attention, populations, y=y, average="pooled", population=1)
    keep = [(p != 2) for p in populations]
    truth = np.concatenate([p[m] == 1 for p, m, label in zip(populations, keep, y) if label])
    score = np.concatenate([a[m] * len(a) for a, m, label in zip(attention, keep, y) if label])
    assert pooled[1] == pytest.approx(roc_auc_score(truth, score))


def test_bags_without_the_population_are_not_scored_and_absent_populations_are_nan():
    # XOR positives: "only 1" and "only 2". Population 1's score uses only the first kind.
    populations = [np.array([0, 0, 1]), np.array([0, 2, 0])]
    importance = [(p > 0).astype(int) for p in populations]
    attention = [np.array([0.1, 0.2, 0.7]), np.array([0.5, 0.1, 0.4])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert importance_auroc_per_population(importance, attention, populations, y=[1, 1]) == {1: 1.0, 2: 0.0}
    with pytest.warns(UndefinedMetricWarning, match="No positive bag holds population 2"):
        scores = importance_auroc_per_population(importance, attention, populations, y=[1, 0], population=[1, 2])
    assert scores[1] == 1.0 and np.isnan(scores[2])


def test_a_population_with_unimportant_instances_is_refused():
    with pytest.raises(ValueError, match="Population 0 holds unimportant instances"):
        importance_auroc_per_population([[0, 1]], [[0.5, 0.5]], [[0, 1]], y=[1], population=0)


def test_scorer_of_one_population_routes_populations():
    from setlearn.datasets import make_bags

    from .test_metrics import FakeAttentionClassifier

    X, y, importance, populations = make_bags("mil", n_bags=30, bag_size=12, random_state=0,
                                              return_populations=True)
    est = FakeAttentionClassifier(quality=0.5)
    scorer = make_importance_scorer(population=1)
    assert repr(scorer) == "make_importance_scorer('auroc', population=1)"
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        scores = cross_val_score(est, X, y, cv=cv, scoring=scorer, error_score="raise",
                                 params={"importance": importance, "populations": populations})
        # In MIL population 1 is every important instance: the same as the iAUC.
        pooled = cross_val_score(est, X, y, cv=cv, scoring=make_importance_scorer(), error_score="raise",
                                 params={"importance": importance})
    np.testing.assert_allclose(scores, pooled)
    fitted = est.fit(X, y)
    with pytest.raises(ValueError, match="needs the population of every instance"):
        scorer(fitted, X, y, importance=importance)
