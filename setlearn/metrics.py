"""Importance metrics: do the attention weights point at the truly important instances?

In data sets built so that the *important* instances of every bag are known
(see :func:`setlearn.make_bags`), whether a model's attention weights single
them out is a binary classification problem: the attention weight of an
instance is its score, its importance label (0/1) the truth. Its ROC AUC is
the *iAUC-ROC* of Haab et al. (2022), its average precision the *iAUC-PR*.

Functions
---------
importance_auroc_score, importance_average_precision_score
    The metrics, from importance labels and attention weights.
make_importance_scorer
    A scorer for scikit-learn model selection with the options of the metrics.
importance_auroc, importance_average_precision
    The scorers with the default options.

Defaults, and why
-----------------
* Only **positive bags** are scored (``bags="positive"``), as in the study: a
  negative bag has nothing to point at (in the MIL problem it has no important
  instance at all, and in AND/XOR its "important" instances are decoys that
  the label says nothing about). Positive bags are the bags whose label ``y``
  equals ``pos_label``; for binary labels ``pos_label`` defaults to the greater
  label (``classes_[1]`` for a fitted classifier), as in scikit-learn. For more
  than two classes, pass ``pos_label`` or ``bags="all"``.
* ``average="bag"`` (the default) computes the score inside every bag and
  averages over bags. It is what a user reading the attention of *one* bag
  relies on (a ranking of that bag's instances), and it is invariant to any
  per-bag positive rescaling, in particular to the ``1/n_instances`` scale of
  softmax weights. Bags where the score is undefined (all or none of their
  instances important) are skipped, counted, and reported by an
  :class:`~sklearn.exceptions.UndefinedMetricWarning` (or, with
  ``return_details=True``, in the returned details instead). If no bag can
  be scored, a ``ValueError`` is raised.
* ``average="pooled"`` puts the instances of all scored bags into one ranking,
  after multiplying every bag's attention by its number of instances (so a
  uniform attention is 1 in every bag, whatever its size). No bag is skipped:
  a bag whose instances are all (or none) important still adds positives
  (negatives) to the pool.

Scoring in model selection
--------------------------
The importance labels are not ``y``; they reach the scorer through
scikit-learn's metadata routing under the name ``importance``::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)
    cross_val_score(est, X, y, scoring=importance_auroc,
                    params={"importance": importance})
    GridSearchCV(est, grid, scoring=importance_auroc).fit(X, y, importance=importance)

``importance`` is a list with one 1-D array per bag (bags may differ in
length); scikit-learn splits it per fold like ``X``.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils.metadata_routing import MetadataRequest
from scipy.stats import rankdata

from .bags import bag_sizes, check_bag_labels, check_instance_values

__all__ = [
    "ImportanceScoreDetails",
    "ImportanceScorer",
    "importance_auroc_score",
    "importance_average_precision_score",
    "make_importance_scorer",
    "importance_auroc",
    "importance_average_precision",
]

_AVERAGES = ("bag", "pooled")
_BAG_CHOICES = ("positive", "all")
def _bag_auroc(truth, scores):
    """ROC AUC of one bag, as the Mann-Whitney statistic with mid-ranks for ties.

    The same number as :func:`sklearn.metrics.roc_auc_score` (tested), without
    its per-call input validation, which costs ~1 ms and dominated scoring
    thousands of small bags.
    """
    ranks = rankdata(scores)
    n_pos = truth.sum()
    n_neg = len(truth) - n_pos
    return (ranks[truth == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _bag_average_precision(truth, scores):
    """Average precision of one bag, as :func:`sklearn.metrics.average_precision_score`.

    One threshold per distinct score (tied instances enter together):
    ``sum_k (R_k - R_{k-1}) P_k``.
    """
    order = np.argsort(-scores, kind="mergesort")
    ordered = scores[order]
    last_of_tie = np.r_[ordered[1:] != ordered[:-1], True]
    true_positives = np.cumsum(truth[order])[last_of_tie]
    predicted = np.arange(1, len(scores) + 1)[last_of_tie]
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * true_positives / predicted))


# metric -> (pooled score, per-bag score, title)
_METRICS = {
    "auroc": (roc_auc_score, _bag_auroc, "importance AUROC"),
    "average_precision": (average_precision_score, _bag_average_precision, "importance average precision"),
}

_ROUTING_RECIPE = (
    "Enable metadata routing with sklearn.set_config(enable_metadata_routing=True) "
    "(or inside `with sklearn.config_context(enable_metadata_routing=True):`) and pass "
    "the importance labels as metadata: cross_val_score(..., params={'importance': "
    "importance}), cross_validate(..., params={'importance': importance}), or "
    "GridSearchCV(...).fit(X, y, importance=importance)."
)


@dataclass(frozen=True, eq=False)
class ImportanceScoreDetails:
    """What an importance score was computed from (``return_details=True``).

    Attributes
    ----------
    score : float
        The score, as returned with ``return_details=False``.
    average : {"bag", "pooled"}
        How bags were combined.
    per_bag : ndarray of shape (n_bags,)
        The score inside every bag; NaN for bags that were not selected or
        where the score is undefined.
    selected : ndarray of bool, shape (n_bags,)
        The bags the score is about (the positive bags, or all bags).
    undefined : ndarray of int
        Indices of selected bags whose per-bag score is undefined because all or
        none of their instances are important. With ``average="bag"`` they were
        skipped; with ``average="pooled"`` their instances are still in the pool.

    Examples
    --------
    >>> from setlearn.metrics import importance_auroc_score
    >>> d = importance_auroc_score([[0, 1], [1, 1]], [[0.2, 0.8], [0.5, 0.5]],
    ...                            bags="all", return_details=True)
    >>> d.score, d.n_scored, d.n_skipped, d.undefined.tolist()
    (1.0, 1, 1, [1])
    """

    score: float
    average: str
    per_bag: np.ndarray
    selected: np.ndarray
    undefined: np.ndarray

    @property
    def n_bags(self):
        """Number of bags passed in."""
        return len(self.selected)

    @property
    def n_selected(self):
        """Number of bags the score is about (positive bags, or all)."""
        return int(self.selected.sum())

    @property
    def n_skipped(self):
        """Number of selected bags left out of the score (``average="bag"`` only)."""
        return len(self.undefined) if self.average == "bag" else 0

    @property
    def n_scored(self):
        """Number of bags that contributed to the score."""
        return self.n_selected - self.n_skipped

    def __float__(self):
        return float(self.score)


def _check_options(average, bags):
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}.")
    if bags not in _BAG_CHOICES:
        raise ValueError(f"bags must be one of {_BAG_CHOICES}, got {bags!r}.")


def _default_pos_label(labels, source):
    """The positive label of binary problems, scikit-learn style; else an error."""
    labels = np.asarray(labels)
    if len(labels) == 2:
        return labels[1]
    if len(labels) == 1 and labels.dtype.kind in "biuf" and labels[0] in (0, 1, -1):
        return 1
    if len(labels) > 2:
        raise ValueError(
            f"{source} has {len(labels)} classes ({labels.tolist()}), so which bags are "
            f"'positive' is ambiguous. Pass pos_label=<the class whose bags should be "
            f"scored>, or bags='all' to score every bag."
        )
    raise ValueError(
        f"{source} has the single class {labels.tolist()}, so the positive label cannot be "
        f"inferred. Pass pos_label=<the positive class>, or bags='all' to score every bag."
    )


def _select_bags(y, n_bags, pos_label, bags, classes):
    """Boolean mask of the bags to score."""
    if y is not None:
        y = check_bag_labels(y, n_bags)
    if bags == "all":
        return np.ones(n_bags, dtype=bool)
    if y is None:
        raise ValueError(
            "The bag labels y are needed to score only the positive bags (the default, "
            "bags='positive'). Pass y=<one label per bag> (and pos_label if needed), or "
            "bags='all' to score every bag."
        )
    if pos_label is None:
        if classes is not None:
            pos_label = _default_pos_label(classes, "The estimator (classes_)")
        else:
            pos_label = _default_pos_label(np.unique(y), "y")
    elif classes is not None and not any(c == pos_label for c in np.asarray(classes)):
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the estimator's classes "
            f"{np.asarray(classes).tolist()}."
        )
    selected = np.fromiter((label == pos_label for label in y), dtype=bool, count=len(y))
    if not selected.any():
        raise ValueError(
            f"None of the {n_bags} bags is positive (label {pos_label!r}; labels present: "
            f"{np.unique(y).tolist()}), so there is nothing to score. Importance scores are "
            f"computed on positive bags; pass the right pos_label, or bags='all'."
        )
    return selected


def _importance_score(metric, importance, attention, *, y, pos_label, bags, average,
                      return_details, classes=None, sizes=None, attention_name="attention"):
    _check_options(average, bags)
    pooled_score, bag_score, title = _METRICS[metric]
    importance = check_instance_values(importance, sizes, name="importance")
    if sizes is None:
        sizes = bag_sizes(importance)
    attention = check_instance_values(attention, sizes, name=attention_name)
    for i, imp in enumerate(importance):
        if not np.isin(imp, (0.0, 1.0)).all():
            raise ValueError(
                f"Entry {i} of importance has values {np.unique(imp)[:5].tolist()}; importance "
                f"labels must be 0/1 (or bool): 1 for an important instance, 0 otherwise."
            )
    n_bags = len(importance)
    selected = _select_bags(y, n_bags, pos_label, bags, classes)

    n_important = np.fromiter((imp.sum() for imp in importance), dtype=np.float64, count=n_bags)
    defined = (n_important > 0) & (n_important < sizes)
    undefined = np.flatnonzero(selected & ~defined)
    scorable = np.flatnonzero(selected & defined)

    per_bag = np.full(n_bags, np.nan)
    if average == "bag" or return_details:
        for i in scorable:
            per_bag[i] = bag_score(importance[i], attention[i])

    which = "positive bags" if bags == "positive" else "bags"
    if average == "bag":
        if len(scorable) == 0:
            raise ValueError(
                f"The {title} is undefined for all {len(undefined)} {which}: in every one of "
                f"them all or none of the instances are important, so the attention has "
                f"nothing to rank. Check the importance labels (and y / pos_label), or use "
                f"average='pooled'."
            )
        if len(undefined) and not return_details:
            warnings.warn(
                f"The {title} is undefined for {len(undefined)} of {len(undefined) + len(scorable)} "
                f"{which} (all or none of their instances are important); they were skipped "
                f"and the score is the mean over the other {len(scorable)}. Pass "
                f"return_details=True to see which bags were skipped.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
        score = float(np.mean(per_bag[scorable]))
    else:
        chosen = np.flatnonzero(selected)
        truth = np.concatenate([importance[i] for i in chosen]).astype(np.int8)
        if truth.min() == truth.max():
            state = "important" if truth[0] else "unimportant"
            raise ValueError(
                f"The pooled {title} is undefined: all instances of the {len(chosen)} {which} "
                f"are {state}. Check the importance labels (and y / pos_label)."
            )
        scores = np.concatenate([attention[i] * sizes[i] for i in chosen])
        score = float(pooled_score(truth, scores))

    if return_details:
        return ImportanceScoreDetails(
            score=score, average=average, per_bag=per_bag, selected=selected, undefined=undefined
        )
    return score


_SHARED_PARAMS = """importance : list of array-like
        One 1-D array of 0/1 (or bool) labels per bag, 1 for the instances that
        truly matter (e.g. the third output of :func:`setlearn.make_bags`).
    attention : list of array-like
        One 1-D array of scores per bag, of that bag's length, e.g. the output
        of ``estimator.explain(X)``. Only their order within a bag matters for
        ``average="bag"``.
    y : array-like of shape (n_bags,), default=None
        Bag labels, used to keep the positive bags. Required unless
        ``bags="all"``.
    pos_label : int, float, bool or str, default=None
        The label of the positive bags. ``None``: the greater of the two labels
        of ``y`` (an error for more than two classes; a single class 0, 1 or -1
        counts as binary with positive label 1).
    bags : {"positive", "all"}, default="positive"
        Score the positive bags only (as in the study) or every bag.
    average : {"bag", "pooled"}, default="bag"
        ``"bag"``: mean of the per-bag scores; bags whose score is undefined
        (all or none of their instances important) are skipped with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning` (not raised with
        ``return_details=True``, whose result lists them). ``"pooled"``: one
        score over the instances of all selected bags together, each bag's
        attention multiplied by its number of instances.
    return_details : bool, default=False
        Return an :class:`ImportanceScoreDetails` (score, per-bag scores, which
        bags were selected and which were undefined) instead of a float."""


def importance_auroc_score(importance, attention, *, y=None, pos_label=None, bags="positive",
                           average="bag", return_details=False):
    return _importance_score(
        "auroc", importance, attention, y=y, pos_label=pos_label, bags=bags, average=average,
        return_details=return_details,
    )


importance_auroc_score.__doc__ = f"""Importance AUROC (iAUC-ROC): ROC AUC of attention against importance labels.

    Parameters
    ----------
    {_SHARED_PARAMS}

    Returns
    -------
    score : float or ImportanceScoreDetails
        1.0 when attention ranks every important instance of a bag above every
        unimportant one, 0.5 for chance, 0.0 for the exact inverse.

    Raises
    ------
    ValueError
        If the inputs do not match (number of bags, bag lengths), labels are not
        0/1, no bag is positive, no bag can be scored, or the positive label is
        ambiguous.

    See Also
    --------
    importance_average_precision_score : The same with average precision.
    make_importance_scorer : A scorer for scikit-learn model selection.

    Examples
    --------
    >>> from setlearn.metrics import importance_auroc_score
    >>> importance = [[0, 1, 0], [1, 0], [0, 0]]
    >>> attention = [[0.2, 0.5, 0.3], [0.1, 0.9], [0.5, 0.5]]
    >>> importance_auroc_score(importance, attention, y=[1, 1, 0])
    0.5
    """


def importance_average_precision_score(importance, attention, *, y=None, pos_label=None,
                                       bags="positive", average="bag", return_details=False):
    return _importance_score(
        "average_precision", importance, attention, y=y, pos_label=pos_label, bags=bags,
        average=average, return_details=return_details,
    )


importance_average_precision_score.__doc__ = f"""Importance average precision (iAUC-PR) of attention against importance labels.

    Unlike the AUROC, its chance level is the share of important instances,
    so it falls when important instances are rare.

    Parameters
    ----------
    {_SHARED_PARAMS}

    Returns
    -------
    score : float or ImportanceScoreDetails
        1.0 when attention ranks every important instance of a bag first.

    Raises
    ------
    ValueError
        Same cases as :func:`importance_auroc_score`.

    See Also
    --------
    importance_auroc_score : The same with ROC AUC.

    Examples
    --------
    >>> from setlearn.metrics import importance_average_precision_score
    >>> importance = [[0, 1, 0], [1, 0]]
    >>> attention = [[0.2, 0.5, 0.3], [0.1, 0.9]]
    >>> importance_average_precision_score(importance, attention, y=[1, 1])
    0.75
    """


class ImportanceScorer:
    """Scorer of attention against importance labels, for scikit-learn model selection.

    Build it with :func:`make_importance_scorer`, or use the ready-made
    :data:`importance_auroc` / :data:`importance_average_precision`.

    Called as ``scorer(estimator, X, y, importance=importance)``: it scores
    ``estimator.explain(X)`` (one 1-D array of attention per bag) against
    ``importance``; any estimator with ``explain`` works, ensembles included.
    Unless ``pos_label`` is given, the positive bags are those of
    ``estimator.classes_[1]`` (binary classifiers). The scorer requests
    ``importance`` through metadata routing for its ``score`` method.

    Parameters
    ----------
    metric : {"auroc", "average_precision"}, default="auroc"
    pos_label, bags, average
        As in :func:`importance_auroc_score`.
    """

    def __init__(self, metric="auroc", *, pos_label=None, bags="positive", average="bag"):
        if metric not in _METRICS:
            raise ValueError(f"metric must be one of {tuple(_METRICS)}, got {metric!r}.")
        _check_options(average, bags)
        self.metric = metric
        self.pos_label = pos_label
        self.bags = bags
        self.average = average

    def __call__(self, estimator, X, y=None, *, importance=None, **kwargs):
        """Score ``estimator.explain(X)`` against ``importance``.

        Parameters
        ----------
        estimator : object
            A fitted estimator with ``explain(X)`` (and ``classes_``).
        X : list of array-like or 1-D object array
            The bags.
        y : array-like of shape (n_bags,), default=None
            Bag labels (given by model selection).
        importance : list of array-like
            One 1-D array of 0/1 labels per bag of ``X``; in model selection it
            arrives through metadata routing.

        Returns
        -------
        score : float
        """
        if kwargs:
            raise TypeError(
                f"{self!r} got unexpected argument(s) {sorted(kwargs)}; its only metadata is "
                f"'importance'."
            )
        if importance is None:
            if sklearn.get_config()["enable_metadata_routing"]:
                reason = ("Metadata routing is enabled, but no 'importance' was passed, so the "
                          "scorer did not receive the importance labels.")
            else:
                reason = ("Metadata routing is disabled, so scikit-learn does not pass "
                          "'importance' to scorers (with routing off, params go to the "
                          "estimator's fit instead).")
            raise ValueError(f"{self!r} needs the per-instance importance labels. {reason} "
                             f"{_ROUTING_RECIPE}")
        explain = getattr(estimator, "explain", None)
        if not callable(explain):
            raise TypeError(
                f"{type(estimator).__name__} has no explain(X) method; importance scorers need "
                f"an estimator whose explain(X) returns one 1-D array of attention per bag."
            )
        sizes = bag_sizes(X)
        importance = check_instance_values(importance, sizes, name="importance")
        attention = explain(X)
        return _importance_score(
            self.metric, importance, attention, y=y, pos_label=self.pos_label, bags=self.bags,
            average=self.average, return_details=False, classes=getattr(estimator, "classes_", None),
            sizes=sizes, attention_name=f"{type(estimator).__name__}.explain(X)",
        )

    def get_metadata_routing(self):
        """Metadata request: ``score`` requests ``importance``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="importance", alias=True)
        return request

    def _accept_sample_weight(self):
        # Asked by scikit-learn's multi-metric scoring when sample_weight is passed
        # with routing off; importance scores take no sample weights.
        return False

    def _routing_repr(self):
        return repr(self)

    def __repr__(self):
        options = "".join(
            f", {name}={getattr(self, name)!r}"
            for name, default in (("pos_label", None), ("bags", "positive"), ("average", "bag"))
            if getattr(self, name) != default
        )
        return f"make_importance_scorer({self.metric!r}{options})"


def make_importance_scorer(metric="auroc", *, pos_label=None, bags="positive", average="bag"):
    """Make a scorer of attention against importance labels for model selection.

    Parameters
    ----------
    metric : {"auroc", "average_precision"}, default="auroc"
        :func:`importance_auroc_score` or
        :func:`importance_average_precision_score`.
    pos_label : int, float, bool or str, default=None
        The label of the positive bags; ``None`` uses ``estimator.classes_[1]``
        for binary classifiers (an error for more than two classes).
    bags : {"positive", "all"}, default="positive"
        Score only the positive bags, or every bag.
    average : {"bag", "pooled"}, default="bag"
        Mean of per-bag scores, or one score over all instances with attention
        multiplied by bag size.

    Returns
    -------
    scorer : ImportanceScorer
        Callable as ``scorer(estimator, X, y, importance=importance)``; it
        requests ``importance`` through scikit-learn metadata routing, so
        enable routing with ``sklearn.set_config(enable_metadata_routing=True)``
        and pass ``params={"importance": importance}`` to ``cross_val_score`` /
        ``cross_validate``, or ``importance=importance`` to ``GridSearchCV.fit``.

    Examples
    --------
    >>> from setlearn.metrics import make_importance_scorer
    >>> make_importance_scorer("average_precision", average="pooled")
    make_importance_scorer('average_precision', average='pooled')
    """
    return ImportanceScorer(metric, pos_label=pos_label, bags=bags, average=average)


#: Scorer for the importance AUROC with the defaults (positive bags, per-bag mean).
importance_auroc = make_importance_scorer("auroc")
#: Scorer for the importance average precision with the defaults.
importance_average_precision = make_importance_scorer("average_precision")
