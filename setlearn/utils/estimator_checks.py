"""Checks that an estimator on bags behaves as a set model and as a scikit-learn estimator.

Two families, as imbalanced-learn does for its samplers:

* **bag checks**, which scikit-learn cannot express because its samples are
  rows: invariance to the order of a bag's instances (and equivariance of
  ``explain``), invariance to the padding of a batch, the ``explain``
  contract, fitted state set only once training succeeds, reproducibility,
  clone and pickle. Run them with :func:`check_bag_estimator` or, in pytest,
  :func:`parametrize_with_bag_checks`.
* **scikit-learn's own checks**, run through :class:`RowsAsBags`, an adapter
  that reads each row of a 2-D ``X`` as a bag of one instance, so that the
  checks train and predict for real. :data:`SKLEARN_CHECKS_THAT_CANNOT_APPLY`
  lists, with reasons, the few that cannot apply to bags.

The checks take an unfitted estimator with ``fit``, ``predict_proba``,
``predict`` and ``explain`` on bags (:class:`~setlearn.AttentionMILClassifier`,
:class:`~setlearn.AttentionEnsemble`, or either with a featurizer of your
own), and raise ``AssertionError`` when a property does not hold.

Examples
--------
>>> from setlearn import AttentionMILClassifier
>>> from setlearn.utils.estimator_checks import check_bag_estimator
>>> check_bag_estimator(AttentionMILClassifier(hidden_size=4, attention_size=2, max_epochs=2))
"""

import pickle
from contextlib import contextmanager
from unittest import mock

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from ._testing import presence_bags

__all__ = [
    "RowsAsBags",
    "SKLEARN_CHECKS_THAT_CANNOT_APPLY",
    "check_bag_estimator",
    "check_clone_and_pickle",
    "check_explain_contract",
    "check_fitted_state_only_after_success",
    "check_instance_order_invariance",
    "check_padding_invariance",
    "check_reproducibility",
    "parametrize_with_bag_checks",
    "parametrize_with_sklearn_checks",
]

# Outputs of one bag computed in different batches (different padding, order)
# agree to float32 rounding, not bit for bit.
_ATOL = 1e-5


def _data():
    """Ragged bags whose label says whether shifted instances are present."""
    return presence_bags(n_bags=40, sizes=(3, 7, 12))[:2]


def _seeded(estimator):
    return clone(estimator).set_params(random_state=0)


def check_instance_order_invariance(estimator):
    """Check that predictions ignore instance and bag order, and explanations follow it.

    ``explain`` follows the instances (equivariance).

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_instance_order_invariance
    >>> check_instance_order_invariance(AttentionMILClassifier(max_epochs=2))
    """
    X, y = _data()
    fitted = _seeded(estimator).fit(X, y)
    rng = np.random.default_rng(0)
    perms = [rng.permutation(len(bag)) for bag in X]
    shuffled = [bag[p] for bag, p in zip(X, perms)]
    np.testing.assert_allclose(fitted.predict_proba(shuffled), fitted.predict_proba(X), atol=_ATOL,
                               err_msg="predict_proba changes when the instances of a bag are reordered")
    for a, a_shuffled, p in zip(fitted.explain(X), fitted.explain(shuffled), perms):
        np.testing.assert_allclose(a_shuffled, a[p], atol=_ATOL,
                                   err_msg="explain does not follow the instances when they are reordered")
    order = rng.permutation(len(X))
    np.testing.assert_allclose(fitted.predict_proba([X[i] for i in order]), fitted.predict_proba(X)[order],
                               atol=_ATOL, err_msg="a bag's prediction depends on the order of the bags")


def check_padding_invariance(estimator):
    """Check that a bag's outputs do not depend on the bags batched (and padded) with it.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_padding_invariance
    >>> check_padding_invariance(AttentionMILClassifier(max_epochs=2))
    """
    X, y = _data()
    fitted = _seeded(estimator).fit(X, y)
    small = X[0][:2]
    large = np.random.default_rng(1).normal(size=(300, X[0].shape[1])).astype(np.float32)
    alone_proba, alone_attention = fitted.predict_proba([small]), fitted.explain([small])
    np.testing.assert_allclose(fitted.predict_proba([small, large])[:1], alone_proba, atol=_ATOL,
                               err_msg="a bag's prediction changes when it is padded beside a larger bag")
    np.testing.assert_allclose(fitted.explain([small, large])[0], alone_attention[0], atol=_ATOL,
                               err_msg="a bag's attention changes when it is padded beside a larger bag")
    np.testing.assert_allclose(fitted.predict_proba(X[:5]), fitted.predict_proba(X)[:5], atol=_ATOL,
                               err_msg="predictions of a subset of the bags differ from those of the whole set")


def check_explain_contract(estimator):
    """Check the ``explain`` contract and the errors of an unfitted estimator.

    ``explain`` returns one non-negative float array per bag, of the bag's length, summing
    to 1; prediction and explanation methods of an unfitted estimator raise ``NotFittedError``.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_explain_contract
    >>> check_explain_contract(AttentionMILClassifier(max_epochs=2))
    """
    X, y = _data()
    unfitted = clone(estimator)
    for method in ("predict", "predict_proba", "explain"):
        try:
            getattr(unfitted, method)(X)
        except NotFittedError:
            continue
        raise AssertionError(f"{method} of an unfitted estimator did not raise NotFittedError")
    attention = _seeded(estimator).fit(X, y).explain(X)
    assert isinstance(attention, list) and len(attention) == len(X), "explain must return one array per bag"
    for i, (a, bag) in enumerate(zip(attention, X)):
        assert isinstance(a, np.ndarray) and a.dtype.kind == "f", f"explain: entry {i} is not a float array"
        assert a.shape == (len(bag),), f"explain: entry {i} has shape {a.shape}, bag {i} has {len(bag)} instances"
        assert (a >= 0).all(), f"explain: entry {i} has negative weights"
        assert abs(a.sum() - 1) <= _ATOL, f"explain: the weights of bag {i} sum to {a.sum()}, not 1"


def _get_loss_interrupted_at(step):
    """A replacement for ``BagNet.get_loss`` that raises KeyboardInterrupt (Ctrl-C) at the
    ``step``-th optimisation step from now on (shared with setlearn's test fixtures)."""
    from setlearn.nn import BagNet

    real = BagNet.get_loss
    calls = {"n": 0}

    def get_loss(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    return get_loss


@contextmanager
def _interrupt_training_at(step):
    from setlearn.nn import BagNet

    with mock.patch.object(BagNet, "get_loss", _get_loss_interrupted_at(step)):
        yield


def _fitted_state(estimator):
    return {k: v for k, v in vars(estimator).items() if k.endswith("_") and not k.startswith("_")}


def check_fitted_state_only_after_success(estimator):
    """Check that fitted attributes appear, and change, only when training succeeds.

    A first fit interrupted (Ctrl-C) mid-training raises ``KeyboardInterrupt``
    and leaves the estimator unfitted; an interrupted refit on other bags and
    labels raises ``KeyboardInterrupt`` and leaves the previous fit untouched:
    the same fitted attributes and predictions.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted; trained by setlearn's nets (:class:`setlearn.nn.BagNet`).

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_fitted_state_only_after_success
    >>> check_fitted_state_only_after_success(AttentionMILClassifier(max_epochs=3))
    """
    X, y = _data()
    first = _seeded(estimator)
    with _interrupt_training_at(2):
        try:
            first.fit(X, y)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("fit returned normally although training was interrupted")
    assert not _fitted_state(first), f"an interrupted first fit left {sorted(_fitted_state(first))}"
    fitted = _seeded(estimator).fit(X, y)
    before_state, before_proba = _fitted_state(fitted), fitted.predict_proba(X)
    # Other labels (of another type) and other bags of the same instance shape, which every
    # featurizer reads, so that the refit fails by the interruption and nothing else.
    other_labels = np.where(np.asarray(y) == 1, "disease", "healthy")
    other_bags = [bag[::-1] * 2 for bag in X[::-1]]
    with _interrupt_training_at(2):
        try:
            fitted.fit(other_bags, other_labels)
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("a refit returned normally although training was interrupted")
    after_state = _fitted_state(fitted)
    assert after_state.keys() == before_state.keys() and all(
        after_state[k] is before_state[k] for k in before_state
    ), "an interrupted refit changed the fitted attributes"
    np.testing.assert_array_equal(fitted.predict_proba(X), before_proba)


def check_reproducibility(estimator):
    """Check that ``random_state`` reproduces a model, also when one object is refitted.

    Another ``random_state`` gives another model.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_reproducibility
    >>> check_reproducibility(AttentionMILClassifier(max_epochs=2))
    """
    X, y = _data()
    a = _seeded(estimator).fit(X, y).predict_proba(X)
    b = _seeded(estimator).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b, err_msg="two fits with random_state=0 differ")
    refitted = _seeded(estimator)
    np.testing.assert_array_equal(refitted.fit(X, y).predict_proba(X), refitted.fit(X, y).predict_proba(X),
                                  err_msg="refitting one estimator with random_state=0 gives another model")
    other = clone(estimator).set_params(random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(a, other), "random_state=0 and random_state=1 give the same model"


def check_clone_and_pickle(estimator):
    """Check that ``clone`` and pickle work.

    ``clone`` copies the parameters and no fitted state; a pickled fitted estimator predicts
    and explains exactly as the original.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import check_clone_and_pickle
    >>> check_clone_and_pickle(AttentionMILClassifier(max_epochs=2))
    """
    X, y = _data()
    fitted = _seeded(estimator).fit(X, y)
    cloned = clone(fitted)
    assert not _fitted_state(cloned), "clone copied fitted attributes"
    assert set(cloned.get_params(deep=False)) == set(fitted.get_params(deep=False))
    try:
        check_is_fitted(cloned)
    except NotFittedError:
        pass
    else:
        raise AssertionError("a clone counts as fitted")
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    for a, b in zip(restored.explain(X), fitted.explain(X)):
        np.testing.assert_array_equal(a, b)


_BAG_CHECKS = (
    check_instance_order_invariance,
    check_padding_invariance,
    check_explain_contract,
    check_fitted_state_only_after_success,
    check_reproducibility,
    check_clone_and_pickle,
)


def _bag_checks(estimator):
    """The bag checks that apply to ``estimator``: with the ``non_deterministic`` tag (e.g. a
    model trained on a GPU) two fits with one seed may differ, so reproducibility is not checked,
    as scikit-learn skips its invariance checks then."""
    non_deterministic = get_tags(estimator).non_deterministic
    return [check for check in _BAG_CHECKS if not (non_deterministic and check is check_reproducibility)]


def check_bag_estimator(estimator):
    """Run every bag check on ``estimator``; raise ``AssertionError`` at the first that fails.

    Reproducibility is not checked for an estimator tagged ``non_deterministic``.

    Parameters
    ----------
    estimator : estimator on bags
        Unfitted.

    Returns
    -------
    None
        The check returns nothing when it passes and raises ``AssertionError`` otherwise.

    Examples
    --------
    See the module docstring.
    """
    for check in _bag_checks(estimator):
        check(estimator)


def parametrize_with_bag_checks(estimators):
    """A pytest ``parametrize`` decorator running every bag check on every estimator.

    Parameters
    ----------
    estimators : list of estimators on bags
        Unfitted.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Parametrizes ``estimator`` and ``check``; the test calls ``check(estimator)``.
        Reproducibility is not checked for an estimator tagged ``non_deterministic``.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import parametrize_with_bag_checks
    >>> @parametrize_with_bag_checks([AttentionMILClassifier(max_epochs=2)])
    ... def test_bags(estimator, check):
    ...     check(estimator)
    """
    import pytest

    cases = [(est, check) for est in estimators for check in _bag_checks(est)]
    ids = [f"{type(est).__name__}-{check.__name__}" for est, check in cases]
    return pytest.mark.parametrize("estimator, check", cases, ids=ids)


# --------------------------------------------------------------------- scikit-learn's checks


def _rows_as_bags(X):
    """Each row of a 2-D ``X`` as a bag of one instance; anything else passes through, so that
    the estimator's own validation meets it (sparse, 1-D, 3-D, non-arrays)."""
    if sp.issparse(X) or isinstance(X, (dict, str, bytes)) or X is None:
        return X
    try:
        array = np.asarray(X)
    except (TypeError, ValueError):
        return X
    return array[:, None] if array.ndim == 2 else X


class RowsAsBags(ClassifierMixin, BaseEstimator):
    """An adapter that runs an estimator on bags on row data: each row is a bag of one instance.

    With it, scikit-learn's common checks, which feed 2-D arrays, train and
    predict with the real estimator (every input check of the estimator runs
    on the bags built from the rows).

    Parameters
    ----------
    estimator : estimator on bags
        Cloned and fitted on the one-instance bags.
    random_state : int, RandomState instance or None, default=None
        Forwarded to the clone's ``random_state`` when not None, so that
        scikit-learn's checks, which seed an estimator through its own
        ``random_state`` parameter, seed the wrapped one; None keeps the
        estimator's own.

    Attributes
    ----------
    estimator_ : estimator on bags
        The fitted clone.
    classes_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import RowsAsBags
    >>> X = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    >>> y = np.repeat([0, 1], 10)
    >>> RowsAsBags(AttentionMILClassifier(max_epochs=30, random_state=0)).fit(X, y).score(X, y)
    1.0
    """

    def __init__(self, estimator, random_state=None):
        self.estimator = estimator
        self.random_state = random_state

    def fit(self, X, y, **fit_params):
        """Fit a clone of the estimator on the rows of ``X`` as one-instance bags.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per one-instance bag.
        y : array-like of shape (n_samples,)
            One label per row.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : RowsAsBags
            The fitted adapter.
        """
        estimator = clone(self.estimator)
        if self.random_state is not None:
            estimator.set_params(random_state=self.random_state)
        estimator.fit(_rows_as_bags(X), y, **fit_params)
        self.estimator_ = estimator
        self.classes_ = estimator.classes_
        if hasattr(estimator, "n_features_in_"):
            self.n_features_in_ = estimator.n_features_in_
        return self

    def predict(self, X):
        """Predicted labels of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per one-instance bag.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted label of every row.
        """
        check_is_fitted(self)
        return self.estimator_.predict(_rows_as_bags(X))

    def predict_proba(self, X):
        """Class probabilities of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per one-instance bag.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The class probabilities of every row.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(_rows_as_bags(X))

    def __sklearn_tags__(self):
        tags = clone(self.estimator).__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.input_tags.two_d_array = True
        return tags


SKLEARN_CHECKS_THAT_CANNOT_APPLY = {}
"""scikit-learn checks that cannot apply to estimators on bags, with the reason, for
``parametrize_with_checks(..., expected_failed_checks=...)``.

Empty: through :class:`RowsAsBags`, every one of scikit-learn 1.9's 55 checks
applies and passes for :class:`~setlearn.AttentionMILClassifier` and
:class:`~setlearn.AttentionEnsemble` (``check_array_api_input`` skips itself
unless ``SCIPY_ARRAY_API=1``). Where a check wants scikit-learn's wording for
an error, setlearn's messages include it. Add an entry, with its reason, for
a check that truly cannot hold for your estimator."""


def parametrize_with_sklearn_checks(estimators):
    """Parametrize a test with scikit-learn's checks, run on rows as one-instance bags.

    scikit-learn's ``parametrize_with_checks`` on ``RowsAsBags(estimator)`` for every
    estimator, expecting only the failures of :data:`SKLEARN_CHECKS_THAT_CANNOT_APPLY`.

    Parameters
    ----------
    estimators : list of estimators on bags
        Unfitted.

    Returns
    -------
    decorator : pytest.mark.parametrize
        Parametrizes ``estimator`` and ``check``; the test calls ``check(estimator)``.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier
    >>> from setlearn.utils.estimator_checks import parametrize_with_sklearn_checks
    >>> @parametrize_with_sklearn_checks([AttentionMILClassifier(max_epochs=2)])
    ... def test_sklearn(estimator, check):
    ...     check(estimator)
    """
    from sklearn.utils.estimator_checks import parametrize_with_checks

    return parametrize_with_checks(
        [RowsAsBags(est) for est in estimators],
        expected_failed_checks=lambda est: SKLEARN_CHECKS_THAT_CANNOT_APPLY,
    )
