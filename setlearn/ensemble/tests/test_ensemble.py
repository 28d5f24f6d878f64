import pickle
import warnings

import numpy as np
import pytest
import torch
from joblib import parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from setlearn import AttentionEnsemble, AttentionMILClassifier, importance_auroc_score, make_bags
from setlearn.ensemble import AttentionDisagreementWarning, combine_attention

from setlearn.utils.estimator_checks import parametrize_with_bag_checks, parametrize_with_sklearn_checks

BASE = AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=5)


@pytest.fixture(scope="module")
def data():
    X, y, importance = make_bags("mil", n_bags=60, bag_size=(5, 15), random_state=0)
    return X, y, importance


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return AttentionEnsemble(BASE, n_estimators=4, agreement_threshold=None, random_state=0).fit(X, y)


def test_members_differ_and_are_usable_alone(data, fitted):
    X, _, _ = data
    assert len(fitted.estimators_) == 4
    seeds = {m.random_state for m in fitted.estimators_}
    assert len(seeds) == 4
    probas = [m.predict_proba(X) for m in fitted.estimators_]
    assert not np.allclose(probas[0], probas[1])
    np.testing.assert_allclose(fitted.predict_proba(X), np.mean(probas, axis=0), atol=1e-7)


def test_ensemble_of_one_equals_its_member_and_a_standalone_fit(data):
    X, y, _ = data
    ensemble = AttentionEnsemble(BASE, n_estimators=1, random_state=3).fit(X, y)
    member = ensemble.estimators_[0]
    standalone = clone(BASE).set_params(random_state=member.random_state).fit(X, y)
    np.testing.assert_array_equal(ensemble.predict_proba(X), member.predict_proba(X))
    np.testing.assert_allclose(member.predict_proba(X), standalone.predict_proba(X), atol=1e-6)
    for a, b in zip(ensemble.explain(X), standalone.explain(X)):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_stacked_members_equal_members_trained_alone(data, fitted):
    """Training members together as one batched module changes nothing for a member.

    The first member of a stacked module: the others share its batch order, so each of them
    equals a model of its own seed trained on that order, not on its own.
    """
    X, y, _ = data
    member = fitted.estimators_[0]
    alone = clone(member).fit(X, y)
    np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X), atol=1e-5)


def test_combination_rules_against_reference():
    rng = np.random.default_rng(0)
    members = [[rng.dirichlet(np.ones(n)) for n in (3, 6, 1)] for _ in range(5)]
    for rule in ("mean", "median", "vote"):
        combined = combine_attention(members, rule=rule)
        for b, bag in enumerate(combined):
            stack = np.array([m[b] for m in members])
            n = stack.shape[1]
            if rule == "mean":
                expected = stack.mean(axis=0)
            elif rule == "median":
                expected = np.median(stack, axis=0) / np.median(stack, axis=0).sum()
            else:
                votes = np.array([[w >= 1 / n - 1e-9 for w in row] for row in stack]).sum(axis=0)
                expected = votes / votes.sum()
            np.testing.assert_allclose(bag, expected)
            assert bag.sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="rule must be one of"):
        combine_attention(members, rule="max")
    with pytest.raises(ValueError, match="same bags"):
        combine_attention([members[0], members[1][:2]])


@pytest.mark.parametrize("combine", ["mean", "median", "vote"])
def test_explain_sums_to_one_for_every_rule(data, fitted, combine):
    X, _, _ = data
    ensemble = clone(fitted).set_params(combine=combine)
    ensemble.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    for a, bag in zip(ensemble.explain(X), X):
        assert a.shape == (len(bag),) and (a >= 0).all() and a.sum() == pytest.approx(1)


def test_multi_configuration_members_cycle_through_configurations(data):
    X, y, _ = data
    grid = {"attention_size": [2, 6], "hidden_size": [4, 8]}
    ensemble = AttentionEnsemble(BASE, n_estimators=6, param_grid=grid, random_state=0).fit(X, y)
    configs = [(m.attention_size, m.hidden_size) for m in ensemble.estimators_]
    assert configs == [(2, 4), (2, 8), (6, 4), (6, 8), (2, 4), (2, 8)]
    listed = AttentionEnsemble([clone(BASE).set_params(hidden_size=h) for h in (4, 8)], n_estimators=3).fit(X, y)
    assert [m.hidden_size for m in listed.estimators_] == [4, 8, 4]
    with pytest.raises(ValueError, match="either a list of estimators or a param_grid"):
        AttentionEnsemble([BASE], param_grid=grid).fit(X, y)


@pytest.mark.slow  # starts joblib's worker processes and a Dask cluster: 14 s on 2 loaded cores
def test_n_jobs_and_dask_backend_give_the_same_members(data):
    X, y, _ = data
    distributed = pytest.importorskip("distributed")
    ensemble = AttentionEnsemble(BASE, n_estimators=4, param_grid={"hidden_size": [4, 8]}, random_state=0)
    reference = ensemble.fit(X, y).predict_proba(X)
    parallel = clone(ensemble).set_params(n_jobs=2).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(parallel, reference, atol=1e-6)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster), parallel_config(backend="dask"):
            on_dask = clone(ensemble).set_params(n_jobs=-1).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(on_dask, reference, atol=1e-6)


def test_from_search_takes_the_top_configurations(data):
    X, y, _ = data
    search = GridSearchCV(BASE, {"attention_size": [1, 2, 4]}, cv=2).fit(X, y)
    ensemble = AttentionEnsemble.from_search(search, top_k=2, n_estimators=4, random_state=0)
    best = [search.cv_results_["params"][i]["attention_size"] for i in np.argsort(search.cv_results_["rank_test_score"], kind="stable")[:2]]
    assert [e.attention_size for e in ensemble.estimator] == best
    assert ensemble.fit(X, y).predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match="has no score 'iauc'"):
        AttentionEnsemble.from_search(search, scoring="iauc")
    with pytest.raises(ValueError, match="top_k must be between 1 and 3"):
        AttentionEnsemble.from_search(search, top_k=4)


def test_agreement_and_warning(data, fitted):
    X, _, _ = data
    agreement = fitted.attention_agreement(X)
    assert agreement.shape == (len(X),)
    assert np.nanmax(agreement) <= 1 + 1e-9 and np.nanmin(agreement) >= -1 - 1e-9
    assert fitted.member_agreement(X).shape == (4,)
    # Identical members agree perfectly.
    twins = clone(fitted)
    twins.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    twins.estimators_ = [fitted.estimators_[0]] * 3
    assert np.nanmin(twins.attention_agreement(X)) == pytest.approx(1)
    strict = clone(fitted).set_params(agreement_threshold=1.0)
    strict.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    with pytest.warns(AttentionDisagreementWarning, match="agree little"):
        strict.explain(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AttentionDisagreementWarning)
        twins.set_params(agreement_threshold=0.5).explain(X)


def test_clone_pickle_and_random_state(data, fitted):
    X, y, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    again = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other = clone(fitted).set_params(random_state=1).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X))


def test_errors(data, fitted):
    X, y, importance = data
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        clone(fitted).fit(X, y, importance=importance)
    with pytest.raises(ValueError, match="labels never seen during fit"):
        fitted.score(X, y + 5)
    with pytest.raises(ValueError, match="fitted on instances of shape"):
        fitted.predict([bag[:, :2] for bag in X])
    with pytest.raises(ValueError, match="n_estimators"):
        AttentionEnsemble(BASE, n_estimators=0).fit(X, y)


@pytest.mark.slow
def test_ensemble_iauc_at_least_median_member_on_gaussian_and():
    X, y, _ = make_bags("and", n_bags=300, bag_size=20, random_state=0)
    X_test, y_test, importance = make_bags("and", n_bags=300, bag_size=20, random_state=1)
    base = AttentionMILClassifier(hidden_size=8, attention_size=4, max_epochs=60)
    ensemble = AttentionEnsemble(base, n_estimators=10, agreement_threshold=None, random_state=0).fit(X, y)
    ensemble_iauc = importance_auroc_score(importance, ensemble.explain(X_test), y=y_test)
    member_iauc = [importance_auroc_score(importance, m.explain(X_test), y=y_test) for m in ensemble.estimators_]
    assert ensemble_iauc >= np.median(member_iauc)


def test_first_member_of_a_stacked_module_equals_its_solo_fit_with_several_batches():
    """With several batches per epoch the batch order matters; it follows the module's first member."""
    X, y, _ = make_bags("mil", n_bags=40, bag_size=(5, 15), random_state=0)
    base = clone(BASE).set_params(batch_size=8)
    ensemble = AttentionEnsemble(base, n_estimators=3, agreement_threshold=None, random_state=0).fit(X, y)
    first = ensemble.estimators_[0]
    np.testing.assert_allclose(clone(first).fit(X, y).predict_proba(X), first.predict_proba(X), atol=1e-5)


def test_early_stopping_members_train_alone_and_stop_on_their_own_loss():
    X, y, _ = make_bags("mil", n_bags=60, bag_size=10, random_state=0)
    base = clone(BASE).set_params(max_epochs=60, early_stopping=True, n_iter_no_change=2, tol=0.02)
    ensemble = AttentionEnsemble(base, n_estimators=3, agreement_threshold=None, random_state=0).fit(X, y)
    for member in ensemble.estimators_:
        alone = clone(member).fit(X, y)
        assert len(member.history_) == len(alone.history_) < 60
        np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X), atol=1e-6)


def test_median_falls_back_to_mean_when_every_median_is_zero():
    one_hot = [[np.eye(3)[i]] for i in range(3)]
    combined = combine_attention(one_hot, rule="median")[0]
    np.testing.assert_allclose(combined, [1 / 3] * 3)


def test_mean_of_all_bags_at_once_is_the_mean_bag_by_bag():
    """combine_scores' mean stacks every bag together: exactly the numbers of one stack per bag."""
    from setlearn.ensemble import combine_scores
    from setlearn.ensemble._agreement import _per_bag_stacks

    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 40, 50)
    for dtype in (np.float32, np.float64):
        members = [[rng.random(n).astype(dtype) - 0.3 for n in sizes] for _ in range(7)]
        for normalized in (False, True):
            expected = [stack.mean(axis=0) for stack in _per_bag_stacks(members)]
            expected = [bag / bag.sum() for bag in expected] if normalized else expected
            combined = combine_scores(members, normalized=normalized)
            assert len(combined) == len(sizes)
            for bag, want in zip(combined, expected):
                assert bag.dtype == want.dtype
                np.testing.assert_array_equal(bag, want)
    a = np.array([0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="different lengths"):
        combine_scores([[a, a], [a, a[:2]]])
    with pytest.raises(ValueError, match="same bags"):
        combine_scores([[a, a], [a]])


def test_agreement_counts_a_constant_member_as_disagreeing():
    from setlearn.ensemble import pairwise_agreement

    a = np.array([0.5, 0.3, 0.15, 0.05])
    uniform = np.full(4, 0.25)
    for measure in ("spearman", "weighted_tau", "top_overlap"):
        together = pairwise_agreement([[a], [a], [uniform]], measure)[0]
        assert together[0, 1] == pytest.approx(1)
        assert together[0, 2] < 1 and together[1, 2] < 1
    assert np.isnan(pairwise_agreement([[np.ones(1)], [np.ones(1)]])).all()
    with pytest.raises(ValueError, match="same bags"):
        pairwise_agreement([[a, a], [a]])
    with pytest.raises(ValueError, match="different lengths"):
        pairwise_agreement([[a], [a[:3]]])


def test_fewer_members_than_configurations_warns(data):
    X, y, _ = data
    with pytest.warns(UserWarning, match="only the first 2 are used"):
        AttentionEnsemble(BASE, n_estimators=2, param_grid={"hidden_size": [2, 4, 8]}).fit(X, y)


def test_refit_on_images_forgets_n_features_in(data):
    X, y, _ = data
    ensemble = AttentionEnsemble(BASE, n_estimators=2, random_state=0).fit(X, y)
    assert ensemble.n_features_in_ == X[0].shape[1]
    images = [np.random.default_rng(0).random((5, 4, 4)).astype(np.float32) for _ in range(len(X))]
    ensemble.fit(images, y)
    assert not hasattr(ensemble, "n_features_in_") and ensemble.instance_shape_ == (4, 4)


ENSEMBLE = AttentionEnsemble(BASE, n_estimators=2, agreement_threshold=None, random_state=0)


# Unseeded: the checks seed it through RowsAsBags, which forwards their random_state.
@parametrize_with_sklearn_checks([clone(ENSEMBLE).set_params(random_state=None)])
def test_sklearn_compatible_ensemble(estimator, check):
    # Through RowsAsBags every check trains and predicts for real (each row a bag).
    check(estimator)


@parametrize_with_bag_checks([ENSEMBLE])
def test_bag_checks(estimator, check):
    check(estimator)


class _ScaledLinear(torch.nn.Linear):
    """A linear featurizer whose output scale does not show in its repr."""

    def __init__(self, scale):
        super().__init__(4, 6)
        self.scale = scale

    def forward(self, x):
        return torch.tanh(self.scale * super().forward(x))


def test_members_with_distinct_featurizer_modules_that_print_alike_are_not_merged(data):
    X, y, _ = data
    first, second = _ScaledLinear(1.0), _ScaledLinear(5.0)
    assert repr(first) == repr(second)
    members = [clone(BASE).set_params(featurizer=module) for module in (first, second)]
    ensemble = AttentionEnsemble(members, n_estimators=2, agreement_threshold=None, random_state=0).fit(X, y)
    for member, scale in zip(ensemble.estimators_, (1.0, 5.0)):
        assert member.featurizer.scale == scale
        alone = clone(member).fit(X, y)
        np.testing.assert_allclose(member.predict_proba(X), alone.predict_proba(X), atol=1e-5)


def test_invalid_values_in_param_grid_are_rejected_before_training(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="'hidden_size' parameter of AttentionMILClassifier must be an int in the range"):
        AttentionEnsemble(BASE, n_estimators=2, param_grid={"hidden_size": [0]}).fit(X, y)


def test_an_ensemble_of_early_stopping_members_pickles(data):
    X, y, _ = data
    base = clone(BASE).set_params(early_stopping=True, n_iter_no_change=2)
    ensemble = AttentionEnsemble(base, n_estimators=2, agreement_threshold=None, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(restored.predict_proba(X), ensemble.predict_proba(X))


@pytest.mark.parametrize("combine", ["mean", "median", "vote"])
@pytest.mark.parametrize("method", ["drop_one", "gradient_input", "attention_norm", "lrp", "milli"])
def test_explain_combines_every_method_by_the_configured_rule(data, fitted, combine, method):
    X, _, _ = data
    ensemble = clone(fitted).set_params(combine=combine)
    ensemble.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    predicted = fitted.predict_proba(X[:6]).argmax(axis=1)
    # Every member explains the ensemble's predicted class.
    members = [m.explain(X[:6], method=method, target=predicted) for m in fitted.estimators_]
    stack = [np.stack(per_member) for per_member in zip(*members)]
    combined = ensemble.explain(X[:6], method=method)
    for bag, scores in zip(combined, stack):
        if combine == "mean":
            expected = scores.mean(axis=0)
        elif combine == "median":
            expected = np.median(scores, axis=0)
        else:
            # Each member votes for the instances it scores at or above its mean.
            mean = scores.mean(axis=1, keepdims=True)
            expected = (scores >= mean - 1e-6 * np.abs(mean)).mean(axis=0)
        if method == "attention_norm":
            # Weights stay weights: renormalised to sum to 1.
            expected = expected / expected.sum()
        np.testing.assert_allclose(bag, expected, rtol=1e-6, atol=1e-9)
    if method != "attention_norm" and combine == "mean":
        # Signed scores are not renormalised.
        assert not np.allclose([b.sum() for b in combined], 1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        ensemble.explain(X[:2], method="saliency")


def test_milli_options_reach_every_member_and_are_checked_first(data, fitted, monkeypatch):
    X, _, _ = data
    curve = {"n_samples": 30, "alpha": 0.2, "beta": 0.0}
    predicted = fitted.predict_proba(X[:4]).argmax(axis=1)
    members = [m.explain(X[:4], method="milli", target=predicted, **curve) for m in fitted.estimators_]
    got = fitted.explain_members(X[:4], method="milli", **curve)
    assert all(np.array_equal(a, b) for want, have in zip(members, got) for a, b in zip(want, have))
    # A bad option is refused before the members predict anything.
    monkeypatch.setattr(type(fitted), "predict_proba", lambda *a, **k: pytest.fail("predicted first"))
    with pytest.raises(ValueError, match="alpha is an option of method='milli' only"):
        fitted.explain(X[:2], method="drop_one", alpha=0.1)
