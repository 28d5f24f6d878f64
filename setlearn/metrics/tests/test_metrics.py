"""Tests of setlearn.metrics: importance scores and their scikit-learn scorers."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)

from setlearn.metrics import (
    ImportanceScoreDetails,
    ImportanceScorer,
    importance_auroc,
    importance_auroc_score,
    importance_average_precision,
    importance_average_precision_score,
    make_importance_scorer,
)

FUNCS = {"auroc": importance_auroc_score, "average_precision": importance_average_precision_score}
SKLEARN = {"auroc": roc_auc_score, "average_precision": average_precision_score}


# --------------------------------------------------------------------------- helpers


def make_data(n_bags=40, seed=0, min_size=4, max_size=12):
    """Ragged Gaussian MIL bags: positive bags hold shifted (important) instances."""
    rng = np.random.default_rng(seed)
    X, y, importance = [], [], []
    for i in range(n_bags):
        n = int(rng.integers(min_size, max_size + 1))
        label = i % 2
        imp = np.zeros(n, dtype=int)
        if label:
            imp[rng.choice(n, int(rng.integers(1, n)), replace=False)] = 1
        X.append((rng.normal(0, 0.5, (n, 4)) + imp[:, None]).astype(np.float32))
        y.append(label)
        importance.append(imp)
    return X, np.array(y), importance


def softmax(s):
    w = np.exp(s - s.max())
    return w / w.sum()


class FakeAttentionClassifier(ClassifierMixin, BaseEstimator):
    """Duck-typed stand-in for AttentionMILClassifier.

    Bag label: logistic regression on bag means. Attention: softmax of a fixed
    projection of every instance: quality 1 points at the important (shifted)
    instances, 0 is noise, -1 is inverted. Accuracy does not depend on quality.
    """

    def __init__(self, quality=1.0, C=1.0, swallow_fit_params=False):
        self.quality = quality
        self.C = C
        self.swallow_fit_params = swallow_fit_params

    def fit(self, X, y, **fit_params):
        if fit_params and not self.swallow_fit_params:
            raise ValueError(
                f"fit got unexpected parameters {sorted(fit_params)}; metadata routing is off. "
                "Call sklearn.set_config(enable_metadata_routing=True)."
            )
        self.model_ = LogisticRegression(C=self.C).fit(self._means(X), y)
        self.classes_ = self.model_.classes_
        return self

    @staticmethod
    def _means(X):
        return np.stack([np.asarray(b).mean(axis=0) for b in X])

    def predict_proba(self, X):
        return self.model_.predict_proba(self._means(X))

    def predict(self, X):
        return self.model_.predict(self._means(X))

    def explain(self, X):
        # the important instances are shifted along (1, 1, 1, 1); (1, -1, 0, 0) carries no signal
        q = self.quality
        direction = q * np.ones(4) + 3 * (1 - abs(q)) * np.array([1.0, -1.0, 0.0, 0.0])
        return [softmax(np.asarray(b, dtype=np.float64) @ direction) for b in X]


class ExplainOnly:
    """Not an estimator at all: just explain and classes_ (e.g. an ensemble)."""

    def __init__(self, attention, classes=(0, 1)):
        self.attention = attention
        self.classes_ = np.asarray(classes)

    def explain(self, X):
        assert len(X) == len(self.attention)
        return self.attention


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(autouse=True)
def _config_is_restored():
    before = sklearn.get_config()["enable_metadata_routing"]
    yield
    assert sklearn.get_config()["enable_metadata_routing"] == before


def random_case(seed, n_bags=15):
    """Random importance/attention/labels, including some undefined bags."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=n_bags)
    importance = [(rng.random(n) < 0.4).astype(int) for n in sizes]
    attention = [rng.random(n) for n in sizes]
    y = rng.integers(0, 2, size=n_bags)
    y[:2] = 1
    importance[0][:] = 0
    importance[0][0] = 1
    if sizes[0] > 1:
        importance[0][-1] = 0
    importance[1][:] = 1  # always undefined
    return importance, attention, y


def reference_bag(metric, importance, attention, keep):
    scores = [
        SKLEARN[metric](imp, att)
        for imp, att, k in zip(importance, attention, keep)
        if k and 0 < imp.sum() < len(imp)
    ]
    return np.mean(scores)


def reference_pooled(metric, importance, attention, keep):
    truth = np.concatenate([imp for imp, k in zip(importance, keep) if k])
    score = np.concatenate([att * len(att) for att, k in zip(attention, keep) if k])
    return SKLEARN[metric](truth, score)


# --------------------------------------------------------------------------- the metric


@pytest.mark.parametrize("metric", ["auroc", "average_precision"])
@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force(metric, seed):
    importance, attention, y = random_case(seed)
    func = FUNCS[metric]
    with pytest.warns(UndefinedMetricWarning, match="skipped"):
        got = func(importance, attention, y=y)
    assert got == pytest.approx(reference_bag(metric, importance, attention, y == 1))
    got = func(importance, attention, y=y, average="pooled")
    assert got == pytest.approx(reference_pooled(metric, importance, attention, y == 1))
    with pytest.warns(UndefinedMetricWarning):
        got = func(importance, attention, bags="all")
    assert got == pytest.approx(reference_bag(metric, importance, attention, np.ones(len(y), bool)))


def test_details_report_selected_and_skipped_bags():
    importance, attention, y = random_case(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when details are returned
        d = importance_auroc_score(importance, attention, y=y, return_details=True)
    assert isinstance(d, ImportanceScoreDetails)
    positive = np.flatnonzero(y == 1)
    defined = [i for i in positive if 0 < importance[i].sum() < len(importance[i])]
    assert d.n_bags == len(y)
    assert d.n_selected == len(positive)
    assert d.undefined.tolist() == sorted(set(positive) - set(defined))
    assert d.n_skipped == len(d.undefined) >= 1
    assert d.n_scored == len(defined)
    assert np.isnan(d.per_bag[y == 0]).all()
    for i in defined:
        assert d.per_bag[i] == pytest.approx(roc_auc_score(importance[i], attention[i]))
    assert float(d) == d.score == pytest.approx(np.mean(d.per_bag[defined]))
    pooled = importance_auroc_score(importance, attention, y=y, average="pooled", return_details=True)
    assert pooled.n_skipped == 0 and pooled.n_scored == len(positive)


@pytest.mark.parametrize("average", ["bag", "pooled"])
def test_perfect_and_inverted_attention(average):
    _, y, importance = make_data(seed=1)
    perfect = [imp + 0.1 for imp in importance]
    inverted = [1.1 - imp for imp in importance]
    assert importance_auroc_score(importance, perfect, y=y, average=average) == 1.0
    assert importance_auroc_score(importance, inverted, y=y, average=average) == 0.0
    assert importance_average_precision_score(importance, perfect, y=y, average=average) == 1.0


def test_bag_average_ignores_per_bag_scale():
    importance, attention, y = random_case(5)
    rng = np.random.default_rng(0)
    rescaled = [a * rng.uniform(1e-3, 1e3) for a in attention]
    with pytest.warns(UndefinedMetricWarning):
        a = importance_auroc_score(importance, attention, y=y)
    with pytest.warns(UndefinedMetricWarning):
        b = importance_auroc_score(importance, rescaled, y=y)
    assert a == pytest.approx(b)


@pytest.mark.parametrize("metric", ["auroc", "average_precision"])
def test_pooled_undoes_softmax_scale_across_bag_sizes(metric):
    """softmax weights ~ exp(s) / n: pooled must equal the AUROC of the raw instance scores."""
    rng = np.random.default_rng(0)
    sizes = [3, 10, 40, 7, 100]
    importance = [(rng.random(n) < 0.3).astype(int) for n in sizes]
    raw = [rng.normal(size=n) + imp for n, imp in zip(sizes, importance)]
    attention = [np.exp(r) / n for r, n in zip(raw, sizes)]  # sums ~1 per bag, like softmax
    y = np.ones(len(sizes), int)
    expected = SKLEARN[metric](np.concatenate(importance), np.concatenate([np.exp(r) for r in raw]))
    got = FUNCS[metric](importance, attention, y=y, average="pooled")
    assert got == pytest.approx(expected)
    naive = SKLEARN[metric](np.concatenate(importance), np.concatenate(attention))
    assert naive != pytest.approx(expected)  # the bag-size scale would have mattered
    # A global rescaling changes nothing either.
    assert FUNCS[metric](importance, [a * 7 for a in attention], y=y, average="pooled") == pytest.approx(got)


def test_only_positive_bags_count_and_pos_label():
    importance = [np.array([0, 1]), np.array([1, 0]), np.array([0, 1, 1])]
    attention = [np.array([0.1, 0.9]), np.array([0.1, 0.9]), np.array([0.5, 0.2, 0.3])]
    # bag 1 (negative) is inverted; with the default it does not count
    assert importance_auroc_score(importance, attention, y=[1, 0, 1]) == pytest.approx(0.5 * (1 + 0.0))
    assert importance_auroc_score(importance, attention, y=["neg", "pos", "neg"], pos_label="pos") == 0.0
    assert importance_auroc_score(importance, attention, y=["neg", "pos", "neg"], pos_label="neg") == 0.5
    assert importance_auroc_score(importance, attention, y=[True, False, False]) == 1.0
    assert importance_auroc_score(importance, attention, y=[1, 1, 1]) == pytest.approx(1 / 3)
    assert importance_auroc_score(importance, attention, bags="all") == pytest.approx(1 / 3)


def test_string_labels_need_an_explicit_pos_label():
    """With 'healthy'/'disease' the alphabetically greater class would be scored silently."""
    importance = [np.array([0, 1]), np.array([1, 0])]
    attention = [np.array([0.1, 0.9]), np.array([0.1, 0.9])]
    y = ["disease", "healthy"]
    with pytest.raises(ValueError, match=r"labels \['disease', 'healthy'\].*ambiguous.*pos_label="):
        importance_auroc_score(importance, attention, y=y)
    assert importance_auroc_score(importance, attention, y=y, pos_label="disease") == 1.0
    X = [np.zeros((2, 2))] * 2
    est = ExplainOnly(attention, classes=["disease", "healthy"])
    with pytest.raises(ValueError, match=r"classes_\) has the labels .*ambiguous.*pos_label="):
        importance_auroc(est, X, y, importance=importance)
    assert make_importance_scorer(pos_label="disease")(est, X, y, importance=importance) == 1.0
    # Numbers other than 0/1 or -1/1 are no less ambiguous.
    with pytest.raises(ValueError, match="ambiguous"):
        importance_auroc_score(importance, attention, y=[1, 2])
    assert importance_auroc_score(importance, attention, y=[-1, 1]) == 0.0


def test_positive_label_errors():
    importance = [np.array([0, 1])] * 3
    attention = [np.array([0.1, 0.9])] * 3
    with pytest.raises(ValueError, match="3 classes.*pos_label=.*bags='all'"):
        importance_auroc_score(importance, attention, y=[0, 1, 2])
    assert importance_auroc_score(importance, attention, y=[0, 1, 2], pos_label=2) == 1.0
    assert importance_auroc_score(importance, attention, y=[0, 1, 2], bags="all") == 1.0
    with pytest.raises(ValueError, match="y are needed.*bags='all'"):
        importance_auroc_score(importance, attention)
    with pytest.raises(ValueError, match="None of the 3 bags is positive"):
        importance_auroc_score(importance, attention, y=[0, 0, 0])
    with pytest.raises(ValueError, match="single class"):
        importance_auroc_score(importance, attention, y=["a", "a", "a"])
    with pytest.raises(ValueError, match="None of the 3 bags is positive"):
        importance_auroc_score(importance, attention, y=[0, 1, 2], pos_label=7)


def test_unscorable_bags():
    importance = [np.array([1, 1]), np.array([0, 0, 0]), np.array([0, 1])]
    attention = [np.array([0.4, 0.6]), np.array([0.2, 0.3, 0.5]), np.array([0.3, 0.7])]
    with pytest.warns(UndefinedMetricWarning, match="undefined for 2 of 3 bags"):
        assert importance_auroc_score(importance, attention, bags="all") == 1.0
    with pytest.raises(ValueError, match="undefined for all 2 positive bags"):
        importance_auroc_score(importance, attention, y=[1, 1, 0])
    # pooled keeps those bags: still defined
    assert importance_auroc_score(importance, attention, y=[1, 1, 0], average="pooled") == pytest.approx(
        roc_auc_score([1, 1, 0, 0, 0], [0.8, 1.2, 0.6, 0.9, 1.5])
    )
    with pytest.raises(ValueError, match="pooled .* undefined: all instances .* are important"):
        importance_auroc_score(importance[:1], attention[:1], y=[1], average="pooled")


def test_input_errors():
    importance = [np.array([0, 1]), np.array([1, 0, 0])]
    attention = [np.array([0.1, 0.9]), np.array([0.5, 0.2, 0.3])]
    with pytest.raises(ValueError, match="attention has 1 entries but there are 2 bags"):
        importance_auroc_score(importance, attention[:1], y=[1, 1])
    with pytest.raises(ValueError, match="Entry 1 of attention has 2 values but bag 1 has 3"):
        importance_auroc_score(importance, [attention[0], attention[0]], y=[1, 1])
    with pytest.raises(ValueError, match="y has 3 labels but X has 2 bags"):
        importance_auroc_score(importance, attention, y=[1, 1, 0])
    with pytest.raises(ValueError, match="must be 0/1"):
        importance_auroc_score([np.array([0, 2]), importance[1]], attention, y=[1, 1])
    with pytest.raises(ValueError, match="NaN"):
        importance_auroc_score(importance, [np.array([np.nan, 1]), attention[1]], y=[1, 1])
    with pytest.raises(ValueError, match="'average' parameter of importance_auroc_score must be a str among .*'pooled'"):
        importance_auroc_score(importance, attention, y=[1, 1], average="macro")
    with pytest.raises(ValueError, match="'bags' parameter of importance_auroc_score must be a str among .*'positive'"):
        importance_auroc_score(importance, attention, y=[1, 1], bags="negative")
    with pytest.raises(ValueError, match="'metric' parameter of make_importance_scorer must be a str among .*'auroc'"):
        make_importance_scorer("f1")
    with pytest.raises(ValueError, match="'metric' parameter of ImportanceScorer must be a str among"):
        ImportanceScorer("f1")


def test_equal_size_bags_as_2d_arrays():
    rng = np.random.default_rng(0)
    importance = (rng.random((6, 5)) < 0.5).astype(int)
    importance[:, 0], importance[:, 1] = 0, 1
    attention = rng.random((6, 5))
    expected = np.mean([roc_auc_score(i, a) for i, a in zip(importance, attention)])
    assert importance_auroc_score(importance, attention, bags="all") == pytest.approx(expected)


# --------------------------------------------------------------------------- the scorer object


def test_scorer_object_api():
    assert isinstance(importance_auroc, ImportanceScorer)
    assert importance_auroc.metric == "auroc"
    assert importance_average_precision.metric == "average_precision"
    request = importance_auroc.get_metadata_routing()
    assert request.score.requests == {"importance": True}
    assert request.fit.requests == {}
    assert repr(importance_auroc) == "make_importance_scorer('auroc')"
    assert repr(make_importance_scorer(pos_label="b", average="pooled")) == (
        "make_importance_scorer('auroc', pos_label='b', average='pooled')"
    )


def test_scorer_duck_typing_and_classes():
    importance = [np.array([0, 1]), np.array([1, 0]), np.array([0, 1, 1])]
    attention = [np.array([0.1, 0.9]), np.array([0.1, 0.9]), np.array([0.5, 0.2, 0.3])]
    X = [np.zeros((len(a), 2)) for a in attention]
    est = ExplainOnly(attention, classes=["neg", "pos"])
    y = np.array(["pos", "neg", "pos"])
    with_pos = make_importance_scorer(pos_label="pos")
    assert with_pos(est, X, y, importance=importance) == 0.5
    assert make_importance_scorer(pos_label="neg")(est, X, y, importance=importance) == 0.0
    assert make_importance_scorer("average_precision", pos_label="pos")(est, X, y, importance=importance) == (
        pytest.approx(importance_average_precision_score(importance, attention, y=y, pos_label="pos"))
    )
    # the positive label comes from classes_, not from the fold's y (one class only here)
    binary = ExplainOnly(attention, classes=[0, 1])
    assert importance_auroc(binary, X, np.array([1] * 3), importance=importance) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="classes_.*3 classes.*pos_label"):
        importance_auroc(ExplainOnly(attention, classes=[0, 1, 2]), X, [0, 1, 2], importance=importance)
    assert make_importance_scorer(pos_label=2)(
        ExplainOnly(attention, classes=[0, 1, 2]), X, [2, 1, 2], importance=importance
    ) == 0.5
    with pytest.raises(ValueError, match="pos_label='yes' is not one of the estimator's classes"):
        make_importance_scorer(pos_label="yes")(est, X, y, importance=importance)
    with pytest.raises(TypeError, match="no explain"):
        importance_auroc(LogisticRegression(), X, y, importance=importance)
    with pytest.raises(TypeError, match="unexpected argument.*sample_weight"):
        importance_auroc(est, X, y, importance=importance, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="Entry 2 of importance has 3 values but bag 2 has 2"):
        importance_auroc(est, X[:2] + [np.zeros((2, 2))], y, importance=importance)
    with pytest.raises(ValueError, match=r"Entry 0 of ExplainOnly.explain\(X\) has 3 values but bag 0 has 2"):
        importance_auroc(ExplainOnly(attention[::-1]), X, y, importance=importance)


def test_scorer_without_importance_says_what_to_do():
    X, y, importance = make_data(n_bags=10)
    est = FakeAttentionClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"routing is disabled.*set_config\(enable_metadata_routing=True\).*params=\{'importance'"):
        importance_auroc(est, X, y)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(ValueError, match="routing is enabled, but no 'importance' was passed.*params="):
            importance_auroc(est, X, y)
    # a direct call with the labels needs no routing
    assert importance_auroc(est, X, y, importance=importance) == pytest.approx(
        importance_auroc_score(importance, est.explain(X), y=y)
    )


# --------------------------------------------------------------------------- model selection


def _manual_cv_scores(est, X, y, importance, cv, metric="auroc"):
    scores = []
    for train, test in cv.split(X, y):
        fitted = sklearn.clone(est).fit([X[i] for i in train], y[train])
        Xt = [X[i] for i in test]
        scores.append(FUNCS[metric]([importance[i] for i in test], fitted.explain(Xt), y=y[test]))
    return np.array(scores)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cross_val_score_routes_ragged_importance(routing, n_jobs):
    X, y, importance = make_data(n_bags=30, seed=2)
    cv = KFold(3, shuffle=True, random_state=0)
    est = FakeAttentionClassifier(quality=0.5)
    scores = cross_val_score(
        est, X, y, cv=cv, scoring=importance_auroc, params={"importance": importance},
        n_jobs=n_jobs, error_score="raise",
    )
    np.testing.assert_allclose(scores, _manual_cv_scores(est, X, y, importance, cv))
    assert 0.5 < scores.min() and scores.max() <= 1.0


def test_cross_val_score_object_arrays(routing):
    X, y, importance = make_data(n_bags=24, seed=3)
    X_obj = np.empty(len(X), dtype=object)
    X_obj[:] = X
    imp_obj = np.empty(len(importance), dtype=object)
    imp_obj[:] = importance
    cv = KFold(3)
    est = FakeAttentionClassifier()
    scores = cross_val_score(est, X_obj, y, cv=cv, scoring=importance_average_precision,
                             params={"importance": imp_obj}, error_score="raise")
    np.testing.assert_allclose(scores, _manual_cv_scores(est, X, y, importance, cv, "average_precision"))


def test_cross_validate_multi_metric(routing):
    X, y, importance = make_data(n_bags=30, seed=4)
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    est = FakeAttentionClassifier(quality=-1.0)
    res = cross_validate(
        est, X, y, cv=cv, params={"importance": importance}, error_score="raise",
        scoring={"accuracy": "accuracy", "roc_auc": "roc_auc", "iauc": importance_auroc,
                 "iap": importance_average_precision,
                 "iauc_pooled": make_importance_scorer(average="pooled")},
    )
    np.testing.assert_allclose(res["test_iauc"], _manual_cv_scores(est, X, y, importance, cv))
    assert res["test_accuracy"].mean() > 0.8  # a good classifier ...
    assert res["test_iauc"].max() < 0.2  # ... whose attention is inverted
    assert res["test_iauc_pooled"].max() < 0.2
    assert set(res) >= {"test_accuracy", "test_roc_auc", "test_iauc", "test_iap", "test_iauc_pooled"}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_refits_on_importance(routing, n_jobs):
    X, y, importance = make_data(n_bags=30, seed=5)
    search = GridSearchCV(
        FakeAttentionClassifier(), {"quality": [-1.0, 0.0, 0.3, 1.0]}, cv=3, n_jobs=n_jobs,
        scoring={"accuracy": "accuracy", "iauc": importance_auroc}, refit="iauc", error_score="raise",
    )
    search.fit(X, y, importance=importance)
    assert search.best_params_ == {"quality": 1.0}
    assert search.best_estimator_.quality == 1.0
    res = search.cv_results_
    # accuracy cannot tell the candidates apart; the importance score can
    assert np.ptp(res["mean_test_accuracy"]) == 0
    assert np.all(np.diff(res["mean_test_iauc"]) > 0)
    assert res["mean_test_iauc"][0] < 0.2 and res["mean_test_iauc"][-1] > 0.9
    # score of the refitted model on new data, importance routed to the scorer
    X2, y2, imp2 = make_data(n_bags=10, seed=6)
    assert search.score(X2, y2, importance=imp2) == pytest.approx(
        importance_auroc_score(imp2, search.best_estimator_.explain(X2), y=y2)
    )


def test_randomized_search_single_scorer(routing):
    X, y, importance = make_data(n_bags=30, seed=7)
    search = RandomizedSearchCV(
        FakeAttentionClassifier(), {"quality": [-1.0, 0.2, 1.0]}, n_iter=3, cv=3, random_state=0,
        scoring=make_importance_scorer("average_precision"), error_score="raise",
    )
    search.fit(X, y, importance=importance)
    assert search.best_params_ == {"quality": 1.0}
    assert search.best_score_ == pytest.approx(search.cv_results_["mean_test_score"].max())


def test_routing_off_errors_clearly():
    X, y, importance = make_data(n_bags=12)
    # The estimator refuses importance in fit (as AttentionMILClassifier does): every fit fails.
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        cross_val_score(FakeAttentionClassifier(), X, y, cv=3, scoring=importance_auroc,
                        params={"importance": importance})
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        GridSearchCV(FakeAttentionClassifier(), {"quality": [0.0, 1.0]}, cv=3,
                     scoring=importance_auroc).fit(X, y, importance=importance)
    # An estimator that swallows fit params: the scorer itself explains the fix.
    swallow = FakeAttentionClassifier(swallow_fit_params=True)
    with pytest.raises(ValueError, match=r"routing is disabled.*set_config\(enable_metadata_routing=True\)"):
        cross_val_score(swallow, X, y, cv=3, scoring=importance_auroc,
                        params={"importance": importance}, error_score="raise")
    # With scikit-learn's default error_score=nan the failure is a warning and NaN, never a number.
    with pytest.warns(UserWarning, match="routing is disabled"):
        scores = cross_val_score(swallow, X, y, cv=3, scoring=importance_auroc,
                                 params={"importance": importance})
    assert np.isnan(scores).all()


def test_routing_on_without_params_errors_clearly(routing):
    X, y, _ = make_data(n_bags=12)
    with pytest.raises(ValueError, match="no 'importance' was passed.*params=\\{'importance'"):
        cross_val_score(FakeAttentionClassifier(), X, y, cv=3, scoring=importance_auroc,
                        error_score="raise")
    with pytest.raises(ValueError, match="no 'importance' was passed"):
        cross_validate(FakeAttentionClassifier(), X, y, cv=3, error_score="raise",
                       scoring={"accuracy": "accuracy", "iauc": importance_auroc})
    with pytest.warns(UserWarning, match="no 'importance' was passed"):
        scores = cross_val_score(FakeAttentionClassifier(), X, y, cv=3, scoring=importance_auroc)
    assert np.isnan(scores).all()


# --------------------------------------------------------------------------- the real estimator


def test_with_attention_mil_classifier():
    setlearn = pytest.importorskip("setlearn")
    try:
        Classifier, make_bags = setlearn.AttentionMILClassifier, setlearn.make_bags
    except (AttributeError, ImportError) as exc:  # pragma: no cover - written in parallel
        pytest.skip(f"estimator or datasets not available: {exc}")
    X, y, importance = make_bags("mil", "gaussian", n_bags=60, bag_size=8, random_state=0)
    est = Classifier(hidden_size=2, attention_size=2, max_epochs=5, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(est, X, y, cv=2, params={"importance": importance}, error_score="raise",
                             scoring={"accuracy": "accuracy", "iauc": importance_auroc})
    assert np.all((res["test_iauc"] >= 0) & (res["test_iauc"] <= 1))
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        cross_val_score(est, X, y, cv=2, scoring=importance_auroc, params={"importance": importance})


@pytest.mark.parametrize("ties", ["none", "some", "heavy"])
def test_all_bags_at_once_equal_sklearn_per_bag(ties):
    """One computation over many bags gives, bag by bag, exactly scikit-learn's numbers: ties,
    bags of 1-2 instances, bags of one class (NaN, as the per-bag scores leave them), NaN scores."""
    from setlearn.metrics._importance import _auroc_by_bag, _average_precision_by_bag, _bag_auroc

    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 30, 600)
    sizes[:40] = rng.integers(1, 3, 40)  # many bags of 1 or 2 instances
    truth = [rng.integers(0, 2, n).astype(float) for n in sizes]
    truth[40:50] = [np.ones(n) for n in sizes[40:50]]  # all positive
    truth[50:60] = [np.zeros(n) for n in sizes[50:60]]  # all negative
    levels = {"none": None, "some": 8, "heavy": 2}[ties]
    scores = [rng.random(n) if levels is None else rng.integers(0, levels, n) / levels for n in sizes]
    scores[60] = np.r_[np.nan, scores[60][1:]]  # a NaN score: undefined, not a number from the other instances
    flat_truth, flat_scores = np.concatenate(truth), np.concatenate(scores)
    aurocs = _auroc_by_bag(flat_truth, flat_scores, sizes)
    precisions = _average_precision_by_bag(flat_truth, flat_scores, sizes)
    checked = 0
    for t, v, auroc, precision in zip(truth, scores, aurocs, precisions):
        if t.min() == t.max() or np.isnan(v).any():
            assert np.isnan(auroc) and np.isnan(precision)
            continue
        assert auroc == pytest.approx(roc_auc_score(t, v), abs=1e-12)
        assert precision == pytest.approx(average_precision_score(t, v), abs=1e-12)
        assert _bag_auroc(t, v) == auroc  # one bag alone takes a shorter path
        assert _average_precision_by_bag(t, v, [len(t)])[0] == pytest.approx(precision, abs=1e-12)
        checked += 1
    assert checked > 400 and np.isnan(aurocs[:60][[t.min() == t.max() for t in truth[:60]]]).all()
    assert np.isnan(aurocs[60])
    # Bags in another order give the same per-bag numbers; no bags give none.
    reverse = slice(None, None, -1)
    again = _auroc_by_bag(np.concatenate(truth[reverse]), np.concatenate(scores[reverse]), sizes[reverse])
    np.testing.assert_array_equal(again[reverse], aurocs)
    assert _auroc_by_bag(np.zeros(0), np.zeros(0), []).shape == (0,)
    assert _average_precision_by_bag(np.zeros(0), np.zeros(0), []).shape == (0,)
    # Empty bags (anywhere, also last) are undefined and leave their neighbours' scores alone.
    for function in (_auroc_by_bag, _average_precision_by_bag):
        with_empty = function(np.r_[truth[0], truth[1]], np.r_[scores[0], scores[1]], [0, sizes[0], 0, sizes[1], 0])
        alone = function(np.r_[truth[0], truth[1]], np.r_[scores[0], scores[1]], sizes[:2])
        np.testing.assert_array_equal(with_empty[[1, 3]], alone)
        assert np.isnan(with_empty[[0, 2, 4]]).all()


def test_importance_scores_equal_sklearn_bag_by_bag():
    """The public scores (which score all bags at once) against a loop of scikit-learn calls."""
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 12, 200)
    importance = [rng.integers(0, 2, n) for n in sizes]
    attention = [rng.integers(0, 3, n) / 3 for n in sizes]
    y = rng.integers(0, 2, len(sizes))
    for score, sklearn_score in [(importance_auroc_score, roc_auc_score),
                                 (importance_average_precision_score, average_precision_score)]:
        details = score(importance, attention, y=y, return_details=True)
        expected = [sklearn_score(t, a) if y[i] == 1 and 0 < t.sum() < len(t) else np.nan
                    for i, (t, a) in enumerate(zip(importance, attention))]
        np.testing.assert_allclose(details.per_bag, expected, rtol=0, atol=1e-12)
        assert details.score == pytest.approx(np.nanmean(expected), abs=1e-12)
        assert set(details.undefined) == {i for i in range(len(y)) if y[i] == 1 and np.isnan(expected[i])}


def test_scorer_explains_through_a_pipeline(routing):
    """A Pipeline has no explain: the scorer asks its last step, on X transformed by the others."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from setlearn.preprocessing import InstanceTransformer

    X, y, importance = make_data(n_bags=30, seed=4)
    est = FakeAttentionClassifier(quality=1.0).fit(X, y)
    plain = importance_auroc(est, X, y, importance=importance)
    # Negating every instance inverts the fake attention: the score must flip, which it
    # only does when the scorer explains the transformed bags, not the raw ones.
    flipped = make_pipeline(InstanceTransformer(FunctionTransformer(np.negative)),
                            FakeAttentionClassifier(quality=1.0)).fit(X, y)
    assert importance_auroc(flipped, X, y, importance=importance) == pytest.approx(1 - plain)
    assert importance_auroc(make_pipeline(est), X, y, importance=importance) == plain
    scores = cross_val_score(make_pipeline(InstanceTransformer(FunctionTransformer()), est), X, y,
                             cv=3, scoring=importance_auroc, params={"importance": importance},
                             error_score="raise")
    assert np.all(scores > 0.5)
    with pytest.raises(TypeError, match="no explain.*or a Pipeline whose last step has one"):
        importance_auroc(make_pipeline(LogisticRegression()), X, y, importance=importance)


def test_scorer_takes_the_explainer_method_in_cross_validate_and_grid_search(routing):
    from setlearn import AttentionMILClassifier, make_bags

    X, y, importance = make_bags("mil", "gaussian", n_bags=40, bag_size=6, random_state=0)
    est = AttentionMILClassifier(hidden_size=4, attention_size=2, max_epochs=5, random_state=0)
    scoring = {m: make_importance_scorer(method=m) for m in ("attention", "drop_one", "gradient_input", "lrp", "milli")}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    res = cross_validate(est, X, y, cv=cv, params={"importance": importance}, error_score="raise",
                         scoring=scoring, return_estimator=True)
    for fold, (_, test) in enumerate(cv.split(X, y)):
        fitted = res["estimator"][fold]
        X_test, y_test = [X[i] for i in test], y[test]
        imp_test = [importance[i] for i in test]
        for method in ("drop_one", "gradient_input", "lrp", "milli"):
            # The positive class (classes_[1]) is explained, not the prediction.
            expected = importance_auroc_score(imp_test, fitted.explain(X_test, method=method, target=1), y=y_test)
            assert res[f"test_{method}"][fold] == pytest.approx(expected)
    assert not np.allclose(res["test_drop_one"], res["test_attention"])
    search = GridSearchCV(est, {"hidden_size": [2, 4]}, cv=cv, scoring=scoring["drop_one"], error_score="raise")
    search.fit(X, y, importance=importance)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert repr(scoring["drop_one"]) == "make_importance_scorer('auroc', method='drop_one')"
