"""setlearn.explain: one documented way to explain a bare estimator or a Pipeline ending in one."""

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import setlearn
from setlearn import AttentionMILClassifier, InstanceTransformer, importance_auroc
from setlearn.utils._testing import presence_bags

FAST = dict(hidden_size=4, attention_size=2, max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def fitted():
    X, y, importance = presence_bags(n_bags=24, sizes=(3, 6))
    X = [bag * 10 + 5 for bag in X]  # scaling changes the bags, so the transform must be applied
    pipe = make_pipeline(InstanceTransformer(StandardScaler()), AttentionMILClassifier(**FAST)).fit(X, y)
    return X, y, importance, pipe


def test_explain_a_pipeline_applies_its_transforms_then_the_final_estimator(fitted):
    X, _, _, pipe = fitted
    expected = pipe[-1].explain(pipe[:-1].transform(X), method="gradient_input", target=1)
    got = setlearn.explain(pipe, X, method="gradient_input", target=1)
    assert len(got) == len(X) and [len(g) for g in got] == [len(b) for b in X]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)
    # Without the transform the scores differ: the function did not skip it.
    untransformed = pipe[-1].explain(X, method="gradient_input", target=1)
    assert not all(np.allclose(a, b) for a, b in zip(got, untransformed))


def test_explain_a_bare_estimator_is_its_own_explain(fitted):
    X, y, _, _ = fitted
    clf = AttentionMILClassifier(**FAST).fit(X, y)
    for a, b in zip(setlearn.explain(clf, X), clf.explain(X)):
        np.testing.assert_array_equal(a, b)


def test_explain_refuses_a_model_without_an_explainer(fitted):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="has no explain"):
        setlearn.explain(LogisticRegression(), [np.zeros((3, 2))])


def test_routing_off_a_pipeline_gets_setlearns_hint_not_stepname_advice(fitted):
    # scikit-learn's Pipeline refuses fit(importance=...) with its stepname__parameter advice before any
    # step runs; whoever follows that advice must land on setlearn's routing recipe, which corrects it.
    X, y, importance, _ = fitted
    pipe = make_pipeline(InstanceTransformer(StandardScaler()), AttentionMILClassifier(**FAST))
    with sklearn.config_context(enable_metadata_routing=False):
        search = GridSearchCV(pipe, {"attentionmilclassifier__hidden_size": [4]}, cv=2, scoring=importance_auroc,
                              error_score="raise")
        with pytest.raises(ValueError, match=r"(?s)enable_metadata_routing=True.*never as stepname__importance"):
            search.fit(X, y, attentionmilclassifier__importance=importance)
