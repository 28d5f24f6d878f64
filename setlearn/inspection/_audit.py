"""The ground-truth audit: can the bag label be predicted without the important instances?

A low iAUC-ROC is read as "attention missed the instances that decide the
label". That reading holds only if nothing else in the bag predicts the label.
The audit measures:

* for every strict subset S of the populations that lacks a deciding one, what
  a model attending only to S could read (S's counts and its populations' shares
  within S), by a cross-validated gradient-boosted classifier, against the
  *bound* the labelling rule allows for S: what the presence of S's deciding
  populations alone tells. A subset that beats its bound is a *leak*: a model
  can classify with attention on S, and the ground truth would score it as a
  failure;
* what uniform attention sees: the whole-bag shares of the unimportant
  populations and the bag size (reported, not bounded: they may carry the
  label through the deciding populations' amount);
* whether attention is needed at all: a model of the same architecture whose
  attention is uniform (mean pooling), the baseline of Wiegreffe & Pinter (2019).

torch is imported only when the attention-needed check runs.
"""

import itertools
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from setlearn.bags import bag_sizes, check_bag_labels, check_bags, check_instance_values
from setlearn.metrics._importance import _auroc_by_bag, _bag_auroc

AUDIT_COLUMNS = ["check", "auroc", "auroc_low", "auroc_high", "n_bags", "features", "bound", "excess_low",
                 "excess_high", "leak"]
"""Columns of :meth:`GroundTruthAudit.to_frame` (one row per check)."""

RENAMED_CHECKS = {"population shares": "whole-bag shares", "uniform attention": "attention needed"}
"""Check names before issue #21 -> their names now; :meth:`GroundTruthAudit.check` takes both."""


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
    (resampled,) = _bootstrap_auroc(truth, [scores], n_bootstraps, np.random.default_rng(random_state))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail]) if len(resampled) else (np.nan, np.nan)
    return auroc, float(low), float(high)


def _bootstrap_auroc(truth, score_sets, n_bootstraps, rng):
    """The AUROC of each of ``score_sets`` on every bootstrap resample of the bags.

    Resamples holding one class only are skipped. The resamples are drawn in chunks of
    rows (the same numbers, in the same order, as one draw per resample), and each chunk
    is scored as "bags" of :func:`~setlearn.metrics._importance._auroc_by_bag`, one sort
    for the chunk instead of one ranking per resample.

    Returns one array of the kept resamples' AUROCs per score set.
    """
    n_bags = len(truth)
    per_chunk = max(1, _BOOTSTRAP_CHUNK // n_bags)
    out = [[] for _ in score_sets]
    for first in range(0, n_bootstraps, per_chunk):
        idx = rng.integers(n_bags, size=(min(per_chunk, n_bootstraps - first), n_bags))
        resampled = truth[idx]
        n_positive = resampled.sum(axis=1)
        kept = (n_positive > 0) & (n_positive < n_bags)
        idx, resampled = idx[kept], resampled[kept].ravel()
        sizes = np.full(len(idx), n_bags)
        for values, scores in zip(out, score_sets):
            values.append(_auroc_by_bag(resampled, scores[idx].ravel(), sizes))
    return [np.concatenate(values) for values in out]


#: Resampled bags scored at once by :func:`_bootstrap_auroc` (bounds its memory).
_BOOTSTRAP_CHUNK = 1 << 20


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


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class AuditCheck:
    """One check of the audit: a bag-level ROC AUC with its bootstrap interval.

    Parameters
    ----------
    name : str
        The check, e.g. ``"bag size"`` or ``"populations 0+1"``.
    auroc : float
        Bag-level ROC AUC of the check's predictions (0.5: no signal).
    auroc_low, auroc_high : float
        Bootstrap percentile interval of ``auroc`` (95 % by default).
    n_bags : int
        Bags the AUROC is computed on.
    features : str
        What the check's classifier read.

    Examples
    --------
    >>> from setlearn.inspection import AuditCheck
    >>> AuditCheck("bag size", 0.5, 0.46, 0.54, 1000, "number of instances").auroc
    0.5
    """

    name: str
    auroc: float
    auroc_low: float
    auroc_high: float
    n_bags: int
    features: str

    def _row(self):
        return {"check": self.name, "auroc": self.auroc, "auroc_low": self.auroc_low, "auroc_high": self.auroc_high,
                "n_bags": self.n_bags, "features": self.features, "bound": np.nan, "excess_low": np.nan,
                "excess_high": np.nan, "leak": False}


@dataclass(frozen=True)
class SubsetCheck(AuditCheck):
    """What a model attending only to a subset of the populations can tell, against its bound.

    Parameters
    ----------
    name : str
        ``"population 1"``, ``"populations 0+1"``, ...
    auroc : float
        Bag-level ROC AUC of gradient boosting's out-of-fold predictions.
    auroc_low, auroc_high : float
        Bootstrap percentile interval of ``auroc``.
    n_bags : int
        Bags the AUROC is computed on.
    features : str
        What the classifier read: S's counts and within-S shares.
    populations : tuple
        The subset S.
    deciding : tuple
        S's deciding populations (those with important instances).
    bound : float
        The AUROC the labelling rule allows for S: that of the best score from
        the presence of S's deciding populations alone (0.5 when S holds none).
    excess_low, excess_high : float
        Paired bootstrap interval of ``auroc - bound``, simultaneous over the
        subsets of the audit (Bonferroni: each at ``1 - (1 - confidence) /
        n_subsets``).
    leak : bool
        ``excess_low > 0``: S tells more about the label than the rule allows.

    Examples
    --------
    >>> from setlearn.inspection import SubsetCheck
    >>> check = SubsetCheck("population 0", 0.99, 0.98, 1.0, 1000, "count of population 0",
    ...                     (0,), (), 0.5, 0.47, 0.5, True)
    >>> check.excess
    0.49
    """

    populations: tuple
    deciding: tuple
    bound: float
    excess_low: float
    excess_high: float
    leak: bool

    @property
    def excess(self):
        """``auroc - bound``: how much more than the rule allows S tells."""
        return self.auroc - self.bound

    def _row(self):
        return {**super()._row(), "bound": self.bound, "excess_low": self.excess_low,
                "excess_high": self.excess_high, "leak": self.leak}


@dataclass(frozen=True)
class GroundTruthAudit:
    """The result of :func:`audit_ground_truth`.

    Parameters
    ----------
    subsets : tuple of SubsetCheck
        One check per strict subset of the populations that lacks a deciding one.
    whole_bag_shares : AuditCheck
        Gradient boosting on the whole-bag shares of the unimportant populations
        (what uniform attention sees of them; no bound: the deciding
        populations' amount moves them).
    bag_size : AuditCheck
        Gradient boosting on the number of instances alone.
    attention_needed : AuditCheck or None
        The estimator with uniform attention (``None`` without ``estimator``):
        is attention needed at all? Its old name, ``uniform_attention``, still
        works.
    deciding : tuple
        The populations with important instances.
    confidence : float
        Coverage of every interval.

    Examples
    --------
    >>> from setlearn.inspection import AuditCheck, GroundTruthAudit, SubsetCheck
    >>> zero = SubsetCheck("population 0", 1.0, 1.0, 1.0, 200, "count of 0", (0,), (), 0.5, 0.5, 0.5, True)
    >>> audit = GroundTruthAudit((zero,), AuditCheck("whole-bag shares", 1.0, 1.0, 1.0, 200, "share of 0"),
    ...                          AuditCheck("bag size", 0.5, 0.5, 0.5, 200, "number of instances"), deciding=(1,))
    >>> audit.has_leak, audit.summary().splitlines()[0][:18]
    (True, 'LEAK: population 0')
    """

    subsets: tuple
    whole_bag_shares: AuditCheck
    bag_size: AuditCheck
    attention_needed: AuditCheck = None
    deciding: tuple = ()
    confidence: float = 0.95

    @property
    def leaks(self):
        """The subsets that beat their bound beyond their interval."""
        return tuple(c for c in self.subsets if c.leak)

    @property
    def has_leak(self):
        """Whether any subset beats its bound beyond its interval."""
        return bool(self.leaks)

    @property
    def uniform_attention(self):
        """The old name of :attr:`attention_needed`."""
        return self.attention_needed

    @property
    def checks(self):
        """Every check, in report order."""
        rest = (self.whole_bag_shares, self.bag_size) + ((self.attention_needed,) if self.attention_needed else ())
        return tuple(self.subsets) + rest

    def check(self, name):
        """The check called ``name`` (old names of :data:`RENAMED_CHECKS` too).

        Parameters
        ----------
        name : str
            E.g. ``"population 0"``, ``"whole-bag shares"``, ``"uniform attention"``.

        Returns
        -------
        check : AuditCheck
            The check (a :class:`SubsetCheck` for a subset).
        """
        name = RENAMED_CHECKS.get(name, name)
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"No check {name!r}; the checks are {[c.name for c in self.checks]}.")

    def to_frame(self):
        """One row per check, columns :data:`AUDIT_COLUMNS`.

        Returns
        -------
        frame : pandas.DataFrame
            Subsets first, then whole-bag shares, bag size and attention needed.
        """
        return pd.DataFrame([c._row() for c in self.checks], columns=AUDIT_COLUMNS)

    def to_dict(self, orient="records"):
        """Deprecated: the two rows the audit returned before issue #21, as a pandas frame's ``to_dict``.

        ``"population shares"`` (now :attr:`whole_bag_shares`) and ``"uniform attention"``
        (now :attr:`attention_needed`, when it ran), with the old columns ``check``,
        ``auroc``, ``auroc_low``, ``auroc_high``, ``n_bags``, ``features``. Kept so that
        callers written for the old DataFrame keep working; use :meth:`to_frame` or the
        fields, which hold every subset and the leaks.

        Parameters
        ----------
        orient : str, default="records"
            As :meth:`pandas.DataFrame.to_dict`.

        Returns
        -------
        rows : list of dict or dict
            The old rows, in the layout ``orient`` asks for.
        """
        import warnings

        warnings.warn("GroundTruthAudit.to_dict() returns only the two checks of the old audit; use "
                      "to_frame() (every subset, its bound and leak) or the fields.", FutureWarning, stacklevel=2)
        old = {new: old for old, new in RENAMED_CHECKS.items()}
        rows = [dict(c._row(), check=old[c.name]) for c in (self.whole_bag_shares, self.attention_needed) if c]
        return pd.DataFrame(rows, columns=AUDIT_COLUMNS[:6]).to_dict(orient)

    def summary(self):
        """Plain text whose first line says whether a subset leaks, and which.

        Returns
        -------
        text : str
            One line on leaks, then one line per check.
        """
        pct = f"{self.confidence:.0%}"
        if self.leaks:
            first = "LEAK: " + "; ".join(
                f"{c.name} gives the label beyond the rule (AUROC {c.auroc:.2f} against a bound of {c.bound:.2f}, "
                f"excess {pct} interval [{c.excess_low:.2f}, {c.excess_high:.2f}])" for c in self.leaks)
        else:
            first = (f"No leak: no strict subset of the populations without all deciding ones tells more about the "
                     f"label than the rule allows ({len(self.subsets)} subsets, {pct} intervals).")
        lines = [first]
        for c in self.subsets:
            lines.append(f"- {c.name}: AUROC {c.auroc:.2f} [{c.auroc_low:.2f}, {c.auroc_high:.2f}], bound {c.bound:.2f}"
                         f"{' (LEAK)' if c.leak else ''}")
        for c in self.checks[len(self.subsets):]:
            lines.append(f"- {c.name}: AUROC {c.auroc:.2f} [{c.auroc_low:.2f}, {c.auroc_high:.2f}] ({c.features})")
        return "\n".join(lines)


# ------------------------------------------------------------------ features and checks


def _population_counts(populations, sizes):
    """Per-bag counts of every population, and the populations' values."""
    flat = np.concatenate(populations) if len(populations) else np.zeros(0)
    values, codes = np.unique(flat, return_inverse=True)
    bag_of = np.repeat(np.arange(len(sizes)), sizes)
    counts = np.zeros((len(sizes), len(values)), dtype=np.int64)
    np.add.at(counts, (bag_of, codes), 1)
    return counts, values


def _cross_validated_proba(features, y, cv, rng):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    # Gradient boosting catches any function of the features, not only a monotone
    # one (XOR's "neither" and "both" negatives sit on both sides of its positives);
    # out-of-fold predictions keep the AUROC honest. Leaves of at most 5% of the
    # bags: scikit-learn's default (20) would forbid any split on a few dozen bags.
    leaf = int(np.clip(len(y) // 20, 2, 20))
    model = HistGradientBoostingClassifier(max_iter=100, min_samples_leaf=leaf, random_state=_seed(rng))
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=_seed(rng))
    return cross_val_predict(model, features, y, cv=folds, method="predict_proba")[:, 1]


def _presence_scores(y, present):
    """The best score from presence patterns: the share of positives among the bags
    with the same pattern (ranking by it maximises the AUROC)."""
    if present.shape[1] == 0:
        return np.zeros(len(y))
    _, pattern = np.unique(present, axis=0, return_inverse=True)
    pattern = pattern.ravel()
    return (np.bincount(pattern, weights=y) / np.bincount(pattern))[pattern]


def _paired_bootstrap(truth, scores, reference, n_bootstraps, confidence, excess_confidence, rng):
    """Percentile intervals of the AUROC of ``scores`` (at ``confidence``) and of its excess
    over ``reference``'s (at ``excess_confidence``)."""
    aurocs, of_reference = _bootstrap_auroc(truth, [scores, reference], n_bootstraps, rng)
    if not len(aurocs):
        return (np.nan,) * 4
    excess = aurocs - of_reference
    tail, excess_tail = (1 - confidence) / 2 * 100, (1 - excess_confidence) / 2 * 100
    low, high = np.percentile(aurocs, [tail, 100 - tail])
    excess_low, excess_high = np.percentile(excess, [excess_tail, 100 - excess_tail])
    return float(low), float(high), float(excess_low), float(excess_high)


def _subset_name(subset):
    names = "+".join(f"{p:g}" for p in subset)
    return f"population {names}" if len(subset) == 1 else f"populations {names}"


def _subset_check(y, counts, values, subset, deciding, cv, n_bootstraps, confidence, excess_confidence, rng):
    cols = [int(np.flatnonzero(values == p)[0]) for p in subset]
    held = counts[:, cols].astype(float)
    total = held.sum(axis=1, keepdims=True)
    features, names = held, [f"count of {p:g}" for p in subset]
    if len(subset) > 1:
        # The shares within S: what attention spread over S's instances averages over.
        within = np.divide(held, total, out=np.zeros_like(held), where=total > 0)
        features = np.hstack([held, within])
        names += [f"share of {p:g} within S" for p in subset]
    proba = _cross_validated_proba(features, y, cv, rng)
    in_s = [p for p in subset if p in deciding]
    reference = _presence_scores(y, counts[:, [cols[subset.index(p)] for p in in_s]] > 0)
    truth = y.astype(np.int64)
    auroc, bound = float(_bag_auroc(truth, proba)), float(_bag_auroc(truth, reference))
    low, high, excess_low, excess_high = _paired_bootstrap(truth, proba, reference, n_bootstraps, confidence,
                                                           excess_confidence, rng)
    return SubsetCheck(_subset_name(subset), auroc, low, high, len(y), ", ".join(names), tuple(subset),
                       tuple(in_s), bound, excess_low, excess_high, bool(excess_low > 0))


def _plain_check(name, features, names, y, cv, n_bootstraps, confidence, rng):
    proba = _cross_validated_proba(features, y, cv, rng)
    auroc, low, high = auroc_interval(y, proba, n_bootstraps=n_bootstraps, confidence=confidence,
                                      random_state=_seed(rng))
    return AuditCheck(name, auroc, low, high, len(y), ", ".join(names))


def _attention_needed_check(estimator, X, y, test, cv, n_bootstraps, confidence, rng):
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
    auroc, low, high = auroc_interval(truth, proba, n_bootstraps=n_bootstraps, confidence=confidence,
                                      random_state=_seed(rng))
    return AuditCheck("attention needed", auroc, low, high, len(truth),
                      f"whole bags, uniform attention (mean pooling; {where})")


_MAX_POPULATIONS = 8


def audit_ground_truth(X, y, importance, populations=None, *, estimator=None, test=None, cv=5,
                       n_bootstraps=1000, confidence=0.95, random_state=None):
    """Measure how well the bag label can be read without attending to every deciding population.

    A "silent failure" (accurate model, attention off the important instances)
    is only a failure if no other part of the bag gives the label. For every
    strict subset S of the populations that lacks at least one deciding
    population (population 0 alone, each deciding population alone, each with
    population 0, ...), the audit cross-validates a gradient-boosted classifier
    on what a model attending only to S could read: the counts of S's
    populations and, for two or more, their shares within S (e.g.
    ``n1 / (n0 + n1)``). Its bag-level ROC AUC is compared with the **bound**
    the labelling rule allows for S: the AUROC of the best score from the
    presence of S's deciding populations alone (0.5 for population 0; for one
    AND population, its presence indicator's AUROC; 0.5 for one XOR
    population, whose presence says nothing). The bound is computed from the
    bags themselves (the maker's composition, sampled), so the audit works on
    any bags, :func:`~setlearn.datasets.make_bags_from` bags included. A subset
    whose paired bootstrap interval of ``AUROC - bound`` lies above 0 is a
    **leak** (the intervals hold simultaneously over the subsets, Bonferroni): a model can classify with attention on S, and the ground truth
    would score that as a failure.

    Beside the subsets, what uniform attention sees: the whole-bag shares of
    the unimportant populations and the bag size (no bound: both move with the
    deciding populations' amount, e.g. in MIL population 0's share is the
    complement of population 1's); and, with ``estimator``, whether attention
    is needed at all: the same estimator with ``attention="mean"`` (uniform
    weights; Wiegreffe & Pinter, 2019), trained on ``X, y`` and scored on
    ``test`` (or cross-validated).

    Parameters
    ----------
    X : list of array-like
        The bags (trained on by the attention-needed check).
    y : array-like of shape (n_bags,)
        Binary bag labels.
    importance : sequence of array-like
        1 for the instances that decide the label, one array per bag.
    populations : sequence of array-like, default=None
        Population of every instance (e.g. from
        ``make_bags(..., return_populations=True)``); a population is
        *deciding* when it holds important instances. ``None``: the
        importance labels are the populations (0 unimportant, 1 important).
    estimator : AttentionMILClassifier, default=None
        The architecture to rerun with uniform attention; ``None`` skips that
        check.
    test : (X_test, y_test), default=None
        Held-out bags for the attention-needed check.
    cv : int, default=5
        Folds of the cross-validations.
    n_bootstraps : int, default=1000
        Bootstrap resamples of the intervals.
    confidence : float in (0, 1), default=0.95
        Coverage of the intervals.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the folds, the classifiers and the resampling.

    Returns
    -------
    audit : GroundTruthAudit
        ``subsets`` (with ``bound`` and ``leak`` each), ``leaks``,
        ``whole_bag_shares``, ``bag_size``, ``attention_needed``;
        ``summary()`` (its first line names any leak) and ``to_frame()``.

    Raises
    ------
    ValueError
        When ``y`` does not hold two classes, the importance labels do not
        match the bags, there are more than 8 populations, or ``estimator``
        has no ``attention`` parameter.

    Examples
    --------
    >>> from setlearn.datasets import make_bags
    >>> from setlearn.inspection import audit_ground_truth
    >>> X, y, importance, populations = make_bags("and", n_bags=300, bag_size=50,
    ...     composition="balanced", random_state=0, return_populations=True)
    >>> audit = audit_ground_truth(X, y, importance, populations, n_bootstraps=200, random_state=0)
    >>> [check.name for check in audit.leaks]
    ['population 0', 'population 1', 'population 2', 'populations 0+1', 'populations 0+2']
    """
    bags = check_bags(X)
    sizes = bag_sizes(bags)
    importance = check_instance_values(importance, sizes, name="importance")
    y = check_bag_labels(y, len(importance))
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y must hold exactly two classes, got {classes!r}.")
    cv = _check_positive_int(cv, "cv", 2)
    n_bootstraps = _check_positive_int(n_bootstraps, "n_bootstraps", 1)
    if isinstance(confidence, bool) or not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    if np.bincount(np.unique(y, return_inverse=True)[1]).min() < cv:
        raise ValueError(f"Each class needs at least cv={cv} bags for the cross-validation; "
                         f"lower cv or pass more bags.")
    if populations is None:
        labels = [(np.asarray(i) > 0).astype(np.int64) for i in importance]
    else:
        labels = check_instance_values(populations, sizes, name="populations")
    truth = (y == classes[1]).astype(np.int64)
    rng = np.random.default_rng(random_state)

    counts, values = _population_counts(labels, sizes)
    if len(values) > _MAX_POPULATIONS:
        raise ValueError(f"populations holds {len(values)} distinct values; the audit checks every subset of "
                         f"them, so at most {_MAX_POPULATIONS} are supported. Group them into the populations "
                         f"that decide the label and the rest first.")
    flat_imp = np.concatenate(importance) if len(importance) else np.zeros(0)
    flat_pop = np.concatenate(labels) if len(labels) else np.zeros(0)
    deciding = tuple(v for v in values if (flat_imp[flat_pop == v] > 0).any())
    subsets = [s for r in range(1, len(values)) for s in itertools.combinations(values.tolist(), r)
               if not set(deciding) <= set(s)]
    # The excess intervals hold together over the subsets (Bonferroni): "is there a leak"
    # is one question, and with five subsets a 95 % interval each would flag a leak-free
    # data set about one time in eight.
    excess_confidence = 1 - (1 - confidence) / max(len(subsets), 1)
    checks = tuple(_subset_check(truth, counts, values, list(s), deciding, cv, n_bootstraps, confidence,
                                 excess_confidence, rng) for s in subsets)

    if populations is None:
        shares, share_names = population_shares(importance)
    elif len(deciding) < len(values):
        shares, share_names = population_shares(importance, labels)
    else:
        shares, share_names = np.zeros((len(truth), 1)), ["none (every population is deciding)"]
    whole = _plain_check("whole-bag shares", shares, share_names, truth, cv, n_bootstraps, confidence, rng)
    size = _plain_check("bag size", sizes.reshape(-1, 1).astype(float), ["number of instances"], truth, cv,
                        n_bootstraps, confidence, rng)
    needed = None
    if estimator is not None:
        if not hasattr(estimator, "get_params") or "attention" not in estimator.get_params():
            raise ValueError(f"estimator must have an 'attention' parameter (e.g. AttentionMILClassifier) "
                             f"to be rerun with uniform attention; got {type(estimator).__name__}.")
        if test is not None:
            if not isinstance(test, (tuple, list)) or len(test) != 2:
                raise ValueError("test must be a pair (X_test, y_test).")
            test = (check_bags(test[0], name="X_test"), check_bag_labels(test[1], len(test[0]), name="y_test"))
        needed = _attention_needed_check(estimator, bags, y, test, cv, n_bootstraps, confidence, rng)
    return GroundTruthAudit(checks, whole, size, needed, tuple(v.item() if hasattr(v, "item") else v
                                                                for v in deciding), confidence)
