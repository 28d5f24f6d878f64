"""Importance scores: attention (or any instance score) against ground truth."""

import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils._param_validation import StrOptions, validate_params

from ..bags import bag_sizes, check_bag_labels, check_instance_values


# Types and choices of the scoring options, checked by scikit-learn's validate_params
# (the functions) and validate_parameter_constraints (the scorer object).
_OPTION_CONSTRAINTS = {
    "pos_label": [Real, str, "boolean", None],
    "bags": [StrOptions({"positive", "all"})],
    "average": [StrOptions({"bag", "pooled"})],
}
_SCORE_CONSTRAINTS = {
    "importance": ["array-like"],
    "attention": ["array-like"],
    "y": ["array-like", None],
    "return_details": ["boolean"],
    **_OPTION_CONSTRAINTS,
}


def _tie_runs(scores, sizes, *, descending=False):
    """Every bag's instances sorted by score, all bags in one sort (by bag, then score).

    Parameters
    ----------
    scores : ndarray of shape (n_instances,)
        The bags' scores one after another.
    sizes : ndarray of int
        The number of instances of every bag.
    descending : bool, default=False
        Sort each bag's scores from the highest.

    Returns
    -------
    order : ndarray of int
        ``scores[order]`` is sorted within every bag, bags in their order.
    bag : ndarray of int
        The bag of every sorted instance.
    run_start : ndarray of bool
        True where a run of tied scores of one bag starts.
    offsets : ndarray of int
        Where every bag starts among the instances.
    """
    # One integer key per instance, bag * n + the rank of its score among all distinct scores:
    # sorting it orders by bag, then score, and tied scores of one bag get equal keys.
    # Two plain argsorts are 3-4x faster than np.lexsort or stable sorts at the study's scale.
    by_score = np.argsort(scores)
    ordered = scores[by_score]
    distinct = np.empty(len(scores), dtype=np.int64)
    distinct[by_score] = np.cumsum(np.r_[False, ordered[1:] != ordered[:-1]])
    if descending:
        distinct = distinct.max(initial=0) - distinct
    bag = np.repeat(np.arange(len(sizes)), sizes)
    key = bag * (len(scores) + 1) + distinct
    # One bag (the audit's bootstraps): the scores' order is already the keys' order.
    order = (by_score[::-1] if descending else by_score) if len(sizes) == 1 else np.argsort(key)
    key = key[order]
    run_start = np.r_[True, key[1:] != key[:-1]] if len(order) else np.zeros(0, bool)
    return order, bag[order], run_start, np.cumsum(sizes) - sizes


def _bag_sums(values, sizes):
    """Per-bag sums of ``values`` (bag after bag): ``np.add.reduceat``, 30x faster than
    ``np.bincount`` with weights at the study's scale; empty bags sum to 0."""
    sums = np.zeros(len(sizes))
    filled = sizes > 0
    if filled.any():
        # reduceat would give an empty bag the next bag's first value (or fail at the end).
        sums[filled] = np.add.reduceat(np.asarray(values, dtype=np.float64), (np.cumsum(sizes) - sizes)[filled])
    return sums


def _defined(truth, scores, sizes):
    """``(n_positive, defined)``: bags with both classes and no NaN score have a per-bag score."""
    n_positive = _bag_sums(truth, sizes)
    has_nan = _bag_sums(np.isnan(scores), sizes) > 0
    return n_positive, (n_positive > 0) & (n_positive < sizes) & ~has_nan


def _auroc_by_bag(truth, scores, sizes):
    """ROC AUC of every bag at once, from the bags' 0/1 labels and scores one after another.

    The Mann-Whitney statistic with mid-ranks for ties, the same number as
    :func:`sklearn.metrics.roc_auc_score` per bag (tested to 1e-12), from one
    sort of all bags' instances together rather than one ranking per bag: the
    assessment scores tens of thousands of bags, and a ranking call per bag
    (``scipy.stats.rankdata``) dominated its ensembles stage (issue #23).

    Parameters
    ----------
    truth, scores : ndarray of shape (n_instances,)
        0/1 labels and scores of the bags' instances, bag after bag.
    sizes : array-like of int
        The number of instances of every bag.

    Returns
    -------
    auroc : ndarray of shape (n_bags,)
        NaN for a bag whose instances are all or none positive, or that holds a
        NaN score.

    Examples
    --------
    >>> _auroc_by_bag(np.array([0, 1, 1, 1, 0, 1, 1]), np.array([0.1, 0.5, 0.5, 0.5, 0.5, 0.2, 0.3]), [3, 2, 2])
    array([1. , 0.5, nan])
    """
    truth, scores, sizes = np.asarray(truth, np.float64), np.asarray(scores, np.float64), np.asarray(sizes, np.intp)
    order, bag, run_start, offsets = _tie_runs(scores, sizes)
    # A run of ties shares the mean of its ranks within the bag (1-based).
    starts = np.flatnonzero(run_start)
    ends = np.r_[starts[1:], len(order)]
    mid_ranks = (starts + ends + 1) / 2 - offsets[bag[starts]]
    rank_sum = _bag_sums(np.repeat(mid_ranks, ends - starts) * truth[order], sizes)
    n_positive, defined = _defined(truth, scores, sizes)
    auroc = np.full(len(sizes), np.nan)
    p, q = n_positive[defined], sizes[defined] - n_positive[defined]
    auroc[defined] = (rank_sum[defined] - p * (p + 1) / 2) / (p * q)
    return auroc


def _average_precision_by_bag(truth, scores, sizes):
    """Average precision of every bag at once, as :func:`sklearn.metrics.average_precision_score` per bag.

    One threshold per distinct score of a bag (tied instances enter together):
    ``sum_k (R_k - R_{k-1}) P_k``, from one sort of all bags (see
    :func:`_auroc_by_bag`, whose arguments and NaNs it shares).

    Examples
    --------
    >>> _average_precision_by_bag(np.array([0, 1, 0, 1, 0]), np.array([0.2, 0.5, 0.3, 0.1, 0.9]), [3, 2])
    array([1. , 0.5])
    """
    truth, scores, sizes = np.asarray(truth, np.float64), np.asarray(scores, np.float64), np.asarray(sizes, np.intp)
    order, bag, run_start, offsets = _tie_runs(scores, sizes, descending=True)
    run_end = np.r_[run_start[1:], True] if len(order) else run_start
    found = np.cumsum(truth[order])
    # True positives and predictions within the bag at the end of every run of ties.
    before_bag = np.r_[0.0, found][offsets]
    true_positives = (found - before_bag[bag])[run_end]
    predicted = (np.arange(1, len(order) + 1) - offsets[bag])[run_end]
    run_bag = bag[run_end]
    previous = np.r_[0.0, true_positives[:-1]]
    previous[np.r_[True, run_bag[1:] != run_bag[:-1]]] = 0.0
    n_positive, defined = _defined(truth, scores, sizes)
    gains = np.zeros(len(order))
    gains[run_end] = (true_positives - previous) * true_positives / predicted
    total = _bag_sums(gains, sizes)
    average_precision = np.full(len(sizes), np.nan)
    average_precision[defined] = total[defined] / n_positive[defined]
    return average_precision


def _bag_auroc(truth, scores):
    """ROC AUC of one bag (see :func:`_auroc_by_bag`); NaN when it has one class."""
    return _auroc_by_bag(truth, scores, [len(truth)])[0]


# metric -> (pooled score, every bag's score at once, title)
_METRICS = {
    "auroc": (roc_auc_score, _auroc_by_bag, "importance AUROC"),
    "average_precision": (average_precision_score, _average_precision_by_bag, "importance average precision"),
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

    Its fields are attributes of the returned object.

    Parameters
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


def _default_pos_label(labels, source):
    """The positive label when it is not given, as scikit-learn's scorers infer it: 1 for
    labels 0/1 or -1/1; otherwise (strings, other numbers) it is ambiguous, an error."""
    labels = np.unique(np.asarray(labels))
    numeric = labels.dtype.kind in "biuf"
    if numeric and 0 < len(labels) <= 2 and (set(labels.tolist()) <= {0, 1} or set(labels.tolist()) <= {-1, 1}):
        return 1
    if len(labels) == 2:
        raise ValueError(
            f"{source} has the labels {labels.tolist()}, so which bags are 'positive' is "
            f"ambiguous: only 0/1 and -1/1 labels have a default positive class (1). Pass "
            f"pos_label=<the class whose bags hold the important instances>, one of "
            f"{labels.tolist()}, or bags='all' to score every bag."
        )
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
    pooled_score, bag_score, title = _METRICS[metric]
    importance = check_instance_values(importance, sizes, name="importance")
    if sizes is None:
        sizes = bag_sizes(importance)
    attention = check_instance_values(attention, sizes, name=attention_name)
    n_bags, sizes = len(importance), np.asarray(sizes, dtype=np.intp)
    # All bags' instances one after another: checked and scored at once, not bag by bag.
    flat_importance = np.concatenate(importance) if n_bags else np.zeros(0)
    flat_attention = np.concatenate(attention) if n_bags else np.zeros(0)
    not_binary = np.flatnonzero((flat_importance != 0) & (flat_importance != 1))
    if len(not_binary):
        i = int(np.searchsorted(np.cumsum(sizes), not_binary[0], side="right"))
        raise ValueError(
            f"Entry {i} of importance has values {np.unique(importance[i])[:5].tolist()}; importance "
            f"labels must be 0/1 (or bool): 1 for an important instance, 0 otherwise."
        )
    selected = _select_bags(y, n_bags, pos_label, bags, classes)

    _, defined = _defined(flat_importance, flat_attention, sizes)
    undefined = np.flatnonzero(selected & ~defined)
    scorable = np.flatnonzero(selected & defined)

    per_bag = np.full(n_bags, np.nan)
    if average == "bag" or return_details:
        instances = np.repeat(selected & defined, sizes)
        per_bag[scorable] = bag_score(flat_importance[instances], flat_attention[instances], sizes[scorable])

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
        The label of the positive bags. ``None`` infers it as scikit-learn's
        scorers do: 1 when the labels of ``y`` are 0/1 or -1/1 (a single class
        0, 1 or -1 too); any other labels (e.g. ``"healthy"``/``"disease"``)
        are ambiguous and raise an error that asks for ``pos_label``.
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


@validate_params(_SCORE_CONSTRAINTS, prefer_skip_nested_validation=True)
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


@validate_params(_SCORE_CONSTRAINTS, prefer_skip_nested_validation=True)
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


# ----------------------------------------------------------------- per population


def _deciding_populations(importance, populations):
    flat_imp = np.concatenate(importance) if len(importance) else np.zeros(0)
    flat_pop = np.concatenate(populations) if len(populations) else np.zeros(0)
    # Populations come back as floats from check_instance_values; 1.0 is reported as 1.
    return [int(p) if float(p).is_integer() else p.item() for p in np.unique(flat_pop[flat_imp > 0])]


def _per_population_scores(metric, importance, attention, populations, *, y, pos_label, bags, average,
                           population=None, classes=None, sizes=None, attention_name="attention"):
    """``{population: score}``: population k's instances against the unimportant ones."""
    importance = check_instance_values(importance, sizes, name="importance")
    if sizes is None:
        sizes = bag_sizes(importance)
    attention = check_instance_values(attention, sizes, name=attention_name)
    populations = check_instance_values(populations, sizes, name="populations")
    selected = _select_bags(y, len(importance), pos_label, bags, classes)
    wanted = _deciding_populations(importance, populations) if population is None else (
        [population] if np.ndim(population) == 0 else list(population))
    if not wanted:
        raise ValueError("No instance is important, so there is no deciding population to score; "
                         "check the importance labels.")
    scores = {}
    for k in wanted:
        truth, scored = [], []
        for i in np.flatnonzero(selected):
            holds = populations[i] == k
            if not holds.any():
                continue  # e.g. an XOR "only 2" bag says nothing about population 1
            if (importance[i][holds] == 0).any():
                raise ValueError(f"Population {k} holds unimportant instances in bag {i}: it is not a deciding "
                                 f"population (those whose instances are all important).")
            keep = holds | (importance[i] == 0)
            truth.append(holds[keep].astype(np.int8))
            # Rescaled so that "pooled" multiplies by the whole bag's size, as for the iAUC.
            scored.append(attention[i][keep] * (sizes[i] / keep.sum()))
        if not truth:
            warnings.warn(f"No {'positive ' if bags == 'positive' else ''}bag holds population {k}; its "
                          f"importance score is NaN.", UndefinedMetricWarning, stacklevel=3)
            scores[k] = float("nan")
            continue
        scores[k] = _importance_score(metric, truth, scored, y=None, pos_label=None, bags="all", average=average,
                                      return_details=False)
    return scores


@validate_params({**{k: v for k, v in _SCORE_CONSTRAINTS.items() if k != "return_details"},
                  "populations": ["array-like"], "population": [Real, "array-like", None]},
                 prefer_skip_nested_validation=True)
def importance_auroc_per_population(importance, attention, populations, *, y=None, pos_label=None,
                                    bags="positive", average="bag", population=None):
    """The iAUC-ROC per deciding population: population k's instances against the unimportant ones.

    The iAUC-ROC pools every deciding population. A model that ranks population
    1 far above the unimportant instances and population 2 far below them
    scores about 0.5, like one with uniform attention; the per-population
    scores tell the two apart (see
    :func:`setlearn.inspection.classify_bad_model`). For population k, every
    scored bag that holds it contributes its instances of k (truth 1) and its
    unimportant instances (truth 0); the other deciding populations' instances
    are left out, and bags without k are not scored (an XOR "only 2" bag says
    nothing about population 1).

    Parameters
    ----------
    importance : list of array-like
        One 1-D array of 0/1 (or bool) labels per bag, 1 for the instances that
        truly matter.
    attention : list of array-like
        One 1-D array of scores per bag, e.g. ``estimator.explain(X)``.
    populations : list of array-like
        The population of every instance (``make_bags(...,
        return_populations=True)``).
    y : array-like of shape (n_bags,), default=None
        Bag labels; as in :func:`importance_auroc_score`.
    pos_label : int, float, bool or str, default=None
        The label of the positive bags; as in :func:`importance_auroc_score`.
    bags : {"positive", "all"}, default="positive"
        Score the positive bags only (as in the study) or every bag.
    average : {"bag", "pooled"}, default="bag"
        As in :func:`importance_auroc_score`.
    population : int or sequence of int, default=None
        The populations to score; ``None``: every deciding population (those
        with important instances).

    Returns
    -------
    scores : dict
        ``{population: iAUC-ROC}``; NaN (with an
        :class:`~sklearn.exceptions.UndefinedMetricWarning`) for a population
        no scored bag holds.

    Raises
    ------
    ValueError
        As :func:`importance_auroc_score`, and when a requested population holds
        unimportant instances.

    See Also
    --------
    importance_auroc_score : All deciding populations together.
    make_importance_scorer : ``population=k`` makes a scorer of one population.

    Examples
    --------
    >>> from setlearn.metrics import importance_auroc_per_population
    >>> populations = [[0, 1, 2, 0], [0, 2, 0]]
    >>> importance = [[0, 1, 1, 0], [0, 1, 0]]
    >>> attention = [[0.2, 0.5, 0.1, 0.2], [0.1, 0.8, 0.1]]
    >>> importance_auroc_per_population(importance, attention, populations, y=[1, 1])
    {1: 1.0, 2: 0.5}
    """
    return _per_population_scores("auroc", importance, attention, populations, y=y, pos_label=pos_label,
                                  bags=bags, average=average, population=population)
