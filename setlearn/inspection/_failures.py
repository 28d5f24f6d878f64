"""Why an explanation failed: a bad model's kind, from its iAUC per deciding population."""

from collections.abc import Mapping
from numbers import Real

import numpy as np

FAILURE_KINDS = ("untrained", "one-population", "inverted", "diffuse")
"""The kinds :func:`classify_bad_model` tells apart (besides ``"good"``), in the order it tests them."""


def _check_threshold(value, name):
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}.")
    return float(value)


def classify_bad_model(per_population_iauc, valid_accuracy, *, min_accuracy=0.9, high=0.65, low=0.35):
    """Classify why a model's attention fails to show the deciding instances.

    The pooled iAUC-ROC cannot tell a model that attends to one deciding
    population and away from the other (iAUC ~0.5 on AND/XOR) from one with
    near-uniform attention. The iAUC of every deciding population against the
    unimportant instances
    (:func:`setlearn.metrics.importance_auroc_per_population`) can. The tests,
    in order:

    1. ``"good"``: every deciding population has iAUC >= ``high`` (0.65, the
       study's threshold of a bad explanation): not a bad explanation.
    2. ``"untrained"``: validation accuracy < ``min_accuracy`` (0.9): the
       model did not learn the task, so its attention says little.
    3. ``"inverted"``: every deciding population has iAUC <= ``low`` (0.35):
       attention ranks the unimportant instances first (the model may classify
       by their amount).
    4. ``"one-population"``: at least two deciding populations, one at iAUC >=
       ``high`` and another below it: attention singles out one population and
       not the other, e.g. an AND/XOR model that reads the label from one
       population's amount.
    5. ``"diffuse"``: otherwise: no deciding population is ranked clearly
       above the unimportant instances (near-uniform or mixed attention).

    Parameters
    ----------
    per_population_iauc : mapping or sequence of float
        The iAUC-ROC of every deciding population (e.g. the dict
        :func:`~setlearn.metrics.importance_auroc_per_population` returns);
        NaN entries (a population no scored bag held) are ignored.
    valid_accuracy : float
        The model's validation accuracy.
    min_accuracy : float, default=0.9
        Below it a model is ``"untrained"`` (the study's accuracy bin of
        working models).
    high : float, default=0.65
        The iAUC from which a population counts as found.
    low : float, default=0.35
        The iAUC up to which a population counts as ranked below the unimportant
        instances (``1 - high``).

    Returns
    -------
    kind : str
        ``"good"`` or one of :data:`FAILURE_KINDS`.

    Raises
    ------
    ValueError
        When no per-population iAUC is finite, or a threshold is outside [0, 1]
        or ``low > high``.

    Examples
    --------
    >>> from setlearn.inspection import classify_bad_model
    >>> classify_bad_model({1: 0.91, 2: 0.03}, 1.0)
    'one-population'
    >>> classify_bad_model({1: 0.52, 2: 0.48}, 1.0)
    'diffuse'
    >>> classify_bad_model({1: 0.2}, 0.97), classify_bad_model({1: 0.4, 2: 0.5}, 0.6)
    ('inverted', 'untrained')
    """
    values = list(per_population_iauc.values()) if isinstance(per_population_iauc, Mapping) else list(
        np.ravel(per_population_iauc))
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        raise ValueError("per_population_iauc holds no finite iAUC; pass the iAUC of every deciding population "
                         "(setlearn.metrics.importance_auroc_per_population).")
    valid_accuracy = _check_threshold(valid_accuracy, "valid_accuracy")
    min_accuracy, high, low = (_check_threshold(v, n) for v, n in ((min_accuracy, "min_accuracy"), (high, "high"),
                                                                   (low, "low")))
    if low > high:
        raise ValueError(f"low ({low}) must not exceed high ({high}).")
    if (values >= high).all():
        return "good"
    if valid_accuracy < min_accuracy:
        return "untrained"
    if (values <= low).all():
        return "inverted"
    if len(values) >= 2 and (values >= high).any():
        return "one-population"
    return "diffuse"
