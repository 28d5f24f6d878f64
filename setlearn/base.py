"""What the estimators of setlearn share: label handling, input checks and the estimator shell.

This module does not import torch, so that it can be shared by the parts of
setlearn that must stay light (the dataset makers, the assessment's config).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, InvalidParameterError, make_constraint
from sklearn.utils.validation import check_is_fitted

from .bags import check_bag_labels, check_bags

__all__ = ["BaseBagClassifier", "DivergenceError", "check_param", "validate_training_bags"]

_ROUTING_HINT = (
    "Per-instance ground truth such as 'importance' is for scorers, not for fit. Enable "
    "metadata routing with sklearn.set_config(enable_metadata_routing=True) so that "
    "cross_val_score(..., params={'importance': importance}) or "
    "GridSearchCV(...).fit(X, y, importance=importance) sends it to the scorer. The same holds for "
    "a Pipeline ending in this estimator: pass importance=importance (never as "
    "stepname__importance, scikit-learn's advice for parameters of a step's fit) with routing on."
)


class DivergenceError(ValueError):
    """Training stopped because the training loss is no longer finite (NaN or infinite weights).

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier, make_bags
    >>> from setlearn.base import DivergenceError
    >>> X, y, _ = make_bags("mil", n_bags=20, bag_size=5, random_state=0)
    >>> try:
    ...     AttentionMILClassifier(lr=1e300, max_epochs=5, random_state=0).fit(X, y)
    ... except DivergenceError as exc:
    ...     print(str(exc)[:18])
    Training diverged:
    """


def check_param(name, value, constraints, *, error=InvalidParameterError):
    """Check one value against scikit-learn parameter constraints.

    The one mechanism behind setlearn's checks of single values outside
    ``validate_params``-decorated functions (e.g. the fields of an assessment
    config). Booleans never satisfy a numeric constraint, although Python
    counts them as integers: ``n_bags=True`` is a mistake, not a 1.

    Parameters
    ----------
    name : str
        How the value is called in the error message.
    value : object
        The value to check.
    constraints : list
        Constraints as in scikit-learn's ``_parameter_constraints`` (e.g.
        ``[Interval(Integral, 1, None, closed="left")]``); any one may hold.
    error : type of Exception, default=InvalidParameterError
        The exception raised (a ``ValueError`` subclass).

    Returns
    -------
    value : object
        ``value`` unchanged.

    Examples
    --------
    >>> from numbers import Integral
    >>> from sklearn.utils._param_validation import Interval
    >>> from setlearn.base import check_param
    >>> check_param("top_k", 3, [Interval(Integral, 1, None, closed="left")])
    3
    >>> check_param("top_k", 0, [Interval(Integral, 1, None, closed="left")])
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: top_k must be an int in the range [1, inf), got 0.
    """
    constraints = [make_constraint(c) for c in constraints]
    numeric_only = all(isinstance(c, Interval) for c in constraints)
    if not (isinstance(value, bool) and numeric_only) and any(c.is_satisfied_by(value) for c in constraints):
        return value
    described = " or ".join(str(c) for c in constraints if not getattr(c, "hidden", False))
    raise error(f"{name} must be {described}, got {value!r}.")


def validate_training_bags(X, y):
    """Validated bags, encoded labels and classes for training a classifier on bags.

    Parameters
    ----------
    X : list of array-like, 1-D object array, or ndarray
        Bags of shape ``(n_instances, *instance_shape)``.
    y : array-like of shape (n_bags,)
        Bag labels of any type; at least two classes.

    Returns
    -------
    bags : list of ndarray
        The checked bags (float32).
    y_encoded : ndarray of int64 of shape (n_bags,)
        Every label's position in ``classes``.
    classes : ndarray of shape (n_classes,)
        The sorted distinct labels.

    Raises
    ------
    ValueError
        If the bags or labels are malformed, or ``y`` holds a single class.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.base import validate_training_bags
    >>> bags, y_encoded, classes = validate_training_bags([np.zeros((3, 2)), np.ones((5, 2))], ["b", "a"])
    >>> [bag.shape for bag in bags], y_encoded.tolist(), classes.tolist()
    ([(3, 2), (5, 2)], [1, 0], ['a', 'b'])
    """
    bags = check_bags(X)
    y = check_bag_labels(y, len(bags))
    encoder = LabelEncoder().fit(y)
    if len(encoder.classes_) < 2:
        raise ValueError(
            f"y holds a single class ({encoder.classes_[0]!r}): one class is not enough, a "
            f"classifier needs bags of at least two classes."
        )
    return bags, encoder.transform(y).astype(np.int64), encoder.classes_


def _softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _check_known_labels(y, classes):
    y = np.asarray(y)
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(
            f"y contains labels never seen during fit: {unknown.tolist()}; the estimator knows "
            f"{classes.tolist()}. Score only on bags whose labels were among the training classes."
        )


class BaseBagClassifier(ClassifierMixin, BaseEstimator):
    """The shell of setlearn's classifiers whose samples are bags.

    Shared by :class:`~setlearn.AttentionMILClassifier` and
    :class:`~setlearn.AttentionEnsemble`. Subclasses train in ``fit`` (decorated with scikit-learn's ``_fit_context``,
    which validates ``_parameter_constraints``), then hand every fitted
    attribute to :meth:`_record_fit` at once, so that a fit that fails or is
    interrupted leaves the estimator as it was. They implement
    ``predict_proba`` and ``explain``.

    Examples
    --------
    >>> from setlearn import AttentionEnsemble, AttentionMILClassifier
    >>> from setlearn.base import BaseBagClassifier
    >>> issubclass(AttentionMILClassifier, BaseBagClassifier), issubclass(AttentionEnsemble, BaseBagClassifier)
    (True, True)
    """

    def predict(self, X):
        """Predicted class label of every bag.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

        Returns
        -------
        y : ndarray of shape (n_bags,)
            The class (from ``classes_``) of highest probability for every bag.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on bags ``X`` with labels ``y`` (labels must be known from fit).

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags.
        y : array-like of shape (n_bags,)
            True labels, among the classes seen during fit.
        sample_weight : array-like of shape (n_bags,), default=None
            Weight of every bag in the mean; equal weights when None.

        Returns
        -------
        score : float
            The share of bags whose predicted label is ``y``'s (weighted).
        """
        check_is_fitted(self)
        _check_known_labels(y, self.classes_)
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a collection of bags; a numeric array must be 3-D (n_bags,
        # n_instances, n_features). scikit-learn's common checks, which feed
        # 2-D arrays, run through setlearn.utils.estimator_checks.RowsAsBags.
        tags.input_tags.three_d_array = True
        tags.classifier_tags.poor_score = True
        return tags

    @staticmethod
    def _check_no_fit_params(fit_params):
        """Turn metadata meant for a scorer, which reaches fit when routing is off, into an error."""
        if fit_params:
            names = ", ".join(sorted(fit_params))
            if "importance" in fit_params:
                raise ValueError(f"fit() got unexpected argument(s) {names}. {_ROUTING_HINT}")
            raise ValueError(f"fit() got unexpected argument(s) {names}; it takes only X and y.")

    def _record_fit(self, classes, instance_shape, **fitted):
        """Set every fitted attribute at once, after training succeeded."""
        self.classes_ = classes
        self.instance_shape_ = tuple(instance_shape)
        for name, value in fitted.items():
            setattr(self, name, value)
        if len(self.instance_shape_) == 1:
            self.n_features_in_ = self.instance_shape_[0]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def _checked_bags(self, X):
        check_is_fitted(self)
        return check_bags(X, instance_shape=self.instance_shape_, estimator_name=type(self).__name__)
