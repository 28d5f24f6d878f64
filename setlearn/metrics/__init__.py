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
importance_auroc_per_population
    The iAUC-ROC of every deciding population against the unimportant instances.
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
  equals ``pos_label``; it defaults to 1 for labels 0/1 or -1/1, as in
  scikit-learn's scorers. Other labels (strings, more than two classes) need
  ``pos_label`` (or ``bags="all"``).
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

from ._importance import (
    ImportanceScoreDetails,
    importance_auroc_per_population,
    importance_auroc_score,
    importance_average_precision_score,
)
from ._scorer import ImportanceScorer, importance_auroc, importance_average_precision, make_importance_scorer

__all__ = [
    "ImportanceScoreDetails",
    "ImportanceScorer",
    "importance_auroc_score",
    "importance_auroc_per_population",
    "importance_average_precision_score",
    "make_importance_scorer",
    "importance_auroc",
    "importance_average_precision",
]
