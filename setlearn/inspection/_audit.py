"""The ground-truth audit: can the bag label be predicted without the important instances?

A low iAUC-ROC is read as "attention missed the instances that decide the
label". That reading holds only if nothing else in the bag predicts the label.
The audit measures two such signals:

* the shares of the unimportant populations (e.g. "how much population 0"), by
  a cross-validated gradient-boosted classifier on those shares alone, so any
  function of them counts, monotone or not;
* the whole bag without attention: a model of the same architecture whose
  attention is uniform (mean pooling), the baseline of Wiegreffe & Pinter (2019).
  When it predicts the label as well as the attention model, attention is not
  needed and need not single out the important instances.

torch is imported only when the uniform-attention check runs.
"""

from numbers import Integral

import numpy as np
import pandas as pd

from setlearn.bags import bag_sizes, check_bag_labels, check_bags, check_instance_values
from setlearn.metrics._importance import _bag_auroc

AUDIT_COLUMNS = ["check", "auroc", "auroc_low", "auroc_high", "n_bags", "features"]
"""Columns of the frame :func:`audit_ground_truth` returns."""


def _check_positive_int(value, name, minimum):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _seed(rng):
    return int(rng.integers(np.iinfo(np.int32).max))


def auroc_interval(y, scores, *, n_bootstraps=1000, confidence=0.95, random_state=None):
    """ROC AUC of bag scores, with a bootstrap percentile interval.

    Parameters
    ----------
    y : array-like of shape (n_bags,)
        Binary bag labels (the greater label is the positive class).
    scores : array-like of shape (n_bags,)
        Scores for the positive class (probabilities, logits, ...).
    n_bootstraps : int, default=1000
        Resamples of the bags (with replacement); resamples with one class only
        are skipped.
    confidence : float in (0, 1), default=0.95
        Coverage of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the resampling.

    Returns
    -------
    auroc, low, high : float
        The AUROC and the bounds of its 95 % interval.

    Examples
    --------
    >>> from setlearn.inspection import auroc_interval
    >>> auc, low, high = auroc_interval([0, 0, 1, 1] * 25, [0.1, 0.4, 0.35, 0.8] * 25,
    ...                                 random_state=0)
    >>> round(auc, 2), low <= auc <= high
    (0.75, True)
    """
    y = np.asarray(y)
    scores = np.asarray(scores, dtype=float)
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y must hold exactly two classes to compute a ROC AUC, got {classes!r}.")
    if scores.shape != y.shape:
        raise ValueError(f"scores must have one value per bag ({len(y)}), got shape {scores.shape}.")
    n_bootstraps = _check_positive_int(n_bootstraps, "n_bootstraps", 1)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    truth = (y == classes[1]).astype(np.int64)
    auroc = float(_bag_auroc(truth, scores))
    rng = np.random.default_rng(random_state)
    resampled = []
    for _ in range(n_bootstraps):
        idx = rng.integers(len(y), size=len(y))
        if truth[idx].all() or not truth[idx].any():
            continue
        # The rank statistic (equal to roc_auc_score) without its per-call validation,
        # which made 1000 resamples take 20 s.
        resampled.append(_bag_auroc(truth[idx], scores[idx]))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail]) if resampled else (np.nan, np.nan)
    return auroc, float(low), float(high)


def population_shares(importance, populations=None):
    """Per-bag shares of the unimportant populations: the audit's features.

    Parameters
    ----------
    importance : sequence of array-like
        Importance labels (1 = important) of every instance, one array per bag.
    populations : sequence of array-like, default=None
        Population of every instance. A population is *unimportant* when none
        of its instances is marked important. ``None``: one feature, the share
        of unimportant instances.

    Returns
    -------
    shares : ndarray of shape (n_bags, n_unimportant_populations)
        Share of every unimportant population in every bag.
    names : list of str
        One name per column, e.g. ``"share of population 0"``.

    Examples
    --------
    >>> from setlearn.inspection import population_shares
    >>> shares, names = population_shares([[0, 1, 1, 0], [0, 0]], [[0, 1, 2, 3], [3, 0]])
    >>> shares.tolist(), names
    ([[0.25, 0.25], [0.5, 0.5]], ['share of population 0', 'share of population 3'])
    """
    importance = check_instance_values(importance, None, name="importance")
    if populations is None:
        shares = np.array([[1.0 - np.mean(i > 0) if len(i) else 0.0] for i in importance])
        return shares, ["share of unimportant instances"]
    populations = check_instance_values(populations, bag_sizes(importance), name="populations")
    flat_pop = np.concatenate(populations) if populations else np.zeros(0)
    flat_imp = np.concatenate(importance) if importance else np.zeros(0)
    unimportant = [p for p in np.unique(flat_pop) if not (flat_imp[flat_pop == p] > 0).any()]
    if not unimportant:
        raise ValueError("Every population holds important instances, so there is no unimportant "
                         "population to audit; pass populations=None to audit the share of "
                         "unimportant instances instead.")
    shares = np.array([[np.mean(p == u) if len(p) else 0.0 for u in unimportant] for p in populations])
    names = [f"share of population {u:g}" for u in unimportant]
    return shares, names


def _share_check(y, importance, populations, cv, n_bootstraps, rng):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    shares, names = population_shares(importance, populations)
    # Gradient boosting on the shares catches any function of them, not only a
    # monotone one (XOR's "neither" and "both" negatives sit on both sides of
    # its positives); out-of-fold predictions keep the AUROC honest.
    # Leaves of at most 5% of the bags: scikit-learn's default (20) would forbid any
    # split on a few dozen bags and report "no signal" where there is one.
    leaf = int(np.clip(len(y) // 20, 2, 20))
    model = HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=leaf, random_state=_seed(rng))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=_seed(rng))
    proba = cross_val_predict(model, shares, y, cv=folds, method="predict_proba")[:, 1]
    auroc, low, high = auroc_interval(y, proba, n_bootstraps=n_bootstraps, random_state=_seed(rng))
    return {"check": "population shares", "auroc": auroc, "auroc_low": low, "auroc_high": high,
            "n_bags": len(y), "features": ", ".join(names)}


def _uniform_attention_check(estimator, X, y, test, cv, n_bootstraps, rng):
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    model = clone(estimator).set_params(attention="mean")
    if test is not None:
        X_test, y_test = test
        fitted = model.fit(X, y)
        truth, proba = y_test, fitted.predict_proba(X_test)[:, list(fitted.classes_).index(np.max(y))]
        where = "test bags"
    else:
        folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=_seed(rng))
        truth, proba = y, np.empty(len(y))
        for train, held_out in folds.split(np.zeros(len(y)), y):
            fitted = clone(model).fit([X[i] for i in train], y[train])
            positive = list(fitted.classes_).index(np.max(y))
            proba[held_out] = fitted.predict_proba([X[i] for i in held_out])[:, positive]
        where = f"{cv}-fold cross-validation"
    auroc, low, high = auroc_interval(truth, proba, n_bootstraps=n_bootstraps, random_state=_seed(rng))
    return {"check": "uniform attention", "auroc": auroc, "auroc_low": low, "auroc_high": high,
            "n_bags": len(truth), "features": f"whole bags, mean pooling ({where})"}


def audit_ground_truth(X, y, importance, populations=None, *, estimator=None, test=None, cv=5,
                       n_bootstraps=1000, random_state=None):
    """How well the bag label can be predicted without attending to the important instances.

    A "silent failure" (accurate model, attention off the important
    instances) is only a failure if the important instances are the only way
    to the label. This audit measures two other ways, each as a bag-level ROC
    AUC with a 95 % bootstrap interval (0.5: no signal; 1: the label is fully
    predictable that way):

    ``"population shares"``
        A gradient-boosted classifier, cross-validated, on the shares of the
        unimportant populations in every bag (e.g. how much of the bag is
        population 0). A high value means the composition of the bag gives the
        label away: attention on unimportant instances can be a legitimate
        strategy, and a low iAUC-ROC then says little about the model.
        Some signal is inherent: in MIL, population 0's share is the complement
        of population 1's, so this check is near 1 there by construction.
    ``"uniform attention"`` (only with ``estimator``)
        The estimator with ``attention="mean"`` (same architecture, uniform
        weights over the instances): is attention needed at all (Wiegreffe &
        Pinter, 2019)? Trained on ``X, y`` and scored on ``test``, or
        cross-validated on ``X, y`` when ``test`` is None.

    Parameters
    ----------
    X : list of array-like
        The bags (trained on by the uniform-attention check).
    y : array-like of shape (n_bags,)
        Binary bag labels.
    importance : sequence of array-like
        1 for the instances that decide the label, one array per bag.
    populations : sequence of array-like, default=None
        Population of every instance (e.g. from
        ``make_bags(..., return_populations=True)``). Without it, the share
        check uses one feature: the share of unimportant instances.
    estimator : AttentionMILClassifier, default=None
        The architecture to rerun with uniform attention; ``None`` skips that
        check.
    test : (X_test, y_test), default=None
        Held-out bags for the uniform-attention check.
    cv : int, default=5
        Folds of the cross-validations.
    n_bootstraps : int, default=1000
        Bootstrap resamples of the interval.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the folds, the classifier and the resampling.

    Returns
    -------
    audit : pandas.DataFrame
        One row per check, columns ``check``, ``auroc``, ``auroc_low``,
        ``auroc_high`` (the 95 % interval), ``n_bags``, ``features``.

    Raises
    ------
    ValueError
        When ``y`` does not hold two classes, the importance labels do not
        match the bags, or ``estimator`` has no ``attention`` parameter.

    Examples
    --------
    >>> from setlearn.datasets import make_bags
    >>> from setlearn.inspection import audit_ground_truth
    >>> X, y, importance, populations = make_bags("and", n_bags=200, bag_size=50,
    ...     composition="population0", random_state=0, return_populations=True)
    >>> audit = audit_ground_truth(X, y, importance, populations, random_state=0)
    >>> audit.loc[0, "check"], bool(audit.loc[0, "auroc"] > 0.9)
    ('population shares', True)
    """
    bags = check_bags(X)
    importance = check_instance_values(importance, bag_sizes(bags), name="importance")
    y = check_bag_labels(y, len(importance))
    if len(np.unique(y)) != 2:
        raise ValueError(f"y must hold exactly two classes, got {np.unique(y)!r}.")
    cv = _check_positive_int(cv, "cv", 2)
    if np.bincount(np.unique(y, return_inverse=True)[1]).min() < cv:
        raise ValueError(f"Each class needs at least cv={cv} bags for the cross-validation; "
                         f"lower cv or pass more bags.")
    rng = np.random.default_rng(random_state)
    rows = [_share_check(y, importance, populations, cv, n_bootstraps, rng)]
    if estimator is not None:
        if not hasattr(estimator, "get_params") or "attention" not in estimator.get_params():
            raise ValueError(f"estimator must have an 'attention' parameter (e.g. AttentionMILClassifier) "
                             f"to be rerun with uniform attention; got {type(estimator).__name__}.")
        if test is not None:
            if not isinstance(test, (tuple, list)) or len(test) != 2:
                raise ValueError("test must be a pair (X_test, y_test).")
            test = (check_bags(test[0], name="X_test"), check_bag_labels(test[1], len(test[0]), name="y_test"))
        rows.append(_uniform_attention_check(estimator, bags, y, test, cv, n_bootstraps, rng))
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)
