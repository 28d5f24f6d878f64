"""Importance scorers for scikit-learn model selection (metadata routing)."""


import numpy as np
import sklearn
from sklearn.utils._param_validation import StrOptions, validate_parameter_constraints, validate_params
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import MetadataRequest

from ..bags import bag_sizes, check_instance_values
from numbers import Real

from ._importance import _METRICS, _OPTION_CONSTRAINTS, _ROUTING_RECIPE, _importance_score, _per_population_scores


# The explainer's name is checked by the estimator's explain (the names live beside the
# explainers, in torch code that metrics must not import).
_SCORER_CONSTRAINTS = {"metric": [StrOptions(set(_METRICS))], **_OPTION_CONSTRAINTS, "method": [str],
                       "population": [Real, None]}


class ImportanceScorer:
    """Scorer of attention against importance labels, for scikit-learn model selection.

    Build it with :func:`make_importance_scorer`, or use the ready-made
    :data:`importance_auroc` / :data:`importance_average_precision`.

    Called as ``scorer(estimator, X, y, importance=importance)``: it scores
    ``estimator.explain(X)`` (one 1-D array of attention per bag) against
    ``importance``; any estimator with ``explain`` works, ensembles included,
    and so does a :class:`~sklearn.pipeline.Pipeline` whose last step has
    ``explain`` (its other steps transform ``X`` first).
    Unless ``pos_label`` is given, the positive bags are those of label 1,
    for classifiers whose ``classes_`` are 0/1 or -1/1; other labels need
    ``pos_label``. The scorer requests
    ``importance`` through metadata routing for its ``score`` method.

    Parameters
    ----------
    metric : {"auroc", "average_precision"}, default="auroc"
        :func:`importance_auroc_score` or
        :func:`importance_average_precision_score`.
    pos_label : int, float, bool or str, default=None
        The label of the positive bags; as in :func:`importance_auroc_score`.
    bags : {"positive", "all"}, default="positive"
        Which bags are scored; as in :func:`importance_auroc_score`.
    average : {"bag", "pooled"}, default="bag"
        How bags are combined; as in :func:`importance_auroc_score`.
    method : str, default="attention"
        The explainer scored: ``estimator.explain(X, method=method)`` (see
        :func:`make_importance_scorer`).
    population : int, default=None
        Score one deciding population against the unimportant instances (see
        :func:`importance_auroc_per_population`); the scorer then also requests
        ``populations`` (the population of every instance) through metadata
        routing. ``None``: all deciding populations together.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.metrics import ImportanceScorer
    >>> class FixedAttention:  # any fitted object with explain(X) and classes_
    ...     classes_ = np.array([0, 1])
    ...     def explain(self, X):
    ...         return [np.array([0.7, 0.2, 0.1])]
    >>> scorer = ImportanceScorer("auroc")
    >>> scorer(FixedAttention(), [np.zeros((3, 2))], [1], importance=[[1, 0, 0]])
    1.0
    """

    def __init__(self, metric="auroc", *, pos_label=None, bags="positive", average="bag", method="attention",
                 population=None):
        validate_parameter_constraints(
            _SCORER_CONSTRAINTS, dict(metric=metric, pos_label=pos_label, bags=bags, average=average, method=method,
                                      population=population),
            caller_name=type(self).__name__,
        )
        self.population = population
        self.metric = metric
        self.method = method
        self.pos_label = pos_label
        self.bags = bags
        self.average = average

    def __call__(self, estimator, X, y=None, *, importance=None, populations=None, **kwargs):
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
        populations : list of array-like, default=None
            The population of every instance; needed (and routed) when the
            scorer has a ``population``.

        Returns
        -------
        score : float
        """
        if kwargs:
            metadata = "'importance' and 'populations'" if self.population is not None else "'importance'"
            raise TypeError(f"{self!r} got unexpected argument(s) {sorted(kwargs)}; its metadata is {metadata}.")
        if self.population is not None and populations is None and importance is not None:
            raise ValueError(f"{self!r} scores population {self.population:g} and needs the population of every "
                             f"instance: pass populations=... (with metadata routing, as params={{'importance': "
                             f"importance, 'populations': populations}}).")
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
        explain, X_explained = _explainer(estimator, X)
        sizes = bag_sizes(X)
        importance = check_instance_values(importance, sizes, name="importance")
        if self.method == "attention":
            attention = explain(X_explained)  # any estimator with explain(X) works
        else:
            attention = explain(X_explained, method=self.method, target=self._target(estimator, len(sizes)))
        options = dict(y=y, pos_label=self.pos_label, bags=self.bags, average=self.average,
                       classes=getattr(estimator, "classes_", None), sizes=sizes,
                       attention_name=f"{type(estimator).__name__}.explain(X)")
        if self.population is not None:
            return _per_population_scores(self.metric, importance, attention, populations,
                                          population=self.population, **options)[self.population]
        return _importance_score(self.metric, importance, attention, return_details=False, **options)

    def _target(self, estimator, n_bags):
        """Class-specific explainers explain the positive class: the ground truth
        marks the instances that make a bag positive, so evidence *for* that class
        is what should rank them first, whatever the model predicts. Without a
        positive class (multi-class, no pos_label) the predicted class is explained."""
        classes = getattr(estimator, "classes_", None)
        if classes is None:
            return None
        classes = list(np.asarray(classes))
        if self.pos_label is not None:
            return [classes.index(self.pos_label)] * n_bags if self.pos_label in classes else None
        return [1] * n_bags if len(classes) == 2 else None

    def get_metadata_routing(self):
        """Metadata request: ``score`` requests ``importance``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
            The request of ``importance`` by ``score``.
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="importance", alias=True)
        if self.population is not None:
            request.score.add_request(param="populations", alias=True)
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
            for name, default in (("pos_label", None), ("bags", "positive"), ("average", "bag"), ("method", "attention"),
                                  ("population", None))
            if getattr(self, name) != default
        )
        return f"make_importance_scorer({self.metric!r}{options})"


def _explainer(estimator, X):
    """``explain`` of the estimator, and the bags it must see.

    For a Pipeline whose last step explains (such as
    ``make_pipeline(InstanceTransformer(...), AttentionMILClassifier())``), the
    preceding steps transform ``X`` first, as ``Pipeline.predict`` does.
    """
    explain = getattr(estimator, "explain", None)
    if callable(explain):
        return explain, X
    if isinstance(estimator, Pipeline) and callable(getattr(estimator[-1], "explain", None)):
        preceding = estimator[:-1]
        return estimator[-1].explain, preceding.transform(X) if len(preceding) else X
    raise TypeError(
        f"{type(estimator).__name__} has no explain(X) method; importance scorers need "
        f"an estimator whose explain(X) returns one 1-D array of attention per bag (or a "
        f"Pipeline whose last step has one)."
    )


@validate_params(_SCORER_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_importance_scorer(metric="auroc", *, pos_label=None, bags="positive", average="bag", method="attention",
                           population=None):
    """Make a scorer of an explainer's instance scores against importance labels for model selection.

    Parameters
    ----------
    metric : {"auroc", "average_precision"}, default="auroc"
        :func:`importance_auroc_score` or
        :func:`importance_average_precision_score`.
    pos_label : int, float, bool or str, default=None
        The label of the positive bags; ``None`` infers 1 when the
        estimator's ``classes_`` are 0/1 or -1/1 and raises an error asking
        for ``pos_label`` otherwise (string labels, more than two classes), as
        scikit-learn's scorers do.
    bags : {"positive", "all"}, default="positive"
        Score only the positive bags, or every bag.
    average : {"bag", "pooled"}, default="bag"
        Mean of per-bag scores, or one score over all instances with attention
        multiplied by bag size.
    method : str, default="attention"
        The explainer to score, ``estimator.explain(X, method=method)``
        (e.g. ``"drop_one"``, ``"gradient_input"``, ``"lrp"``, ``"milli"``;
        see docs/explainers.md). Class-specific explainers explain the
        positive class (``pos_label``, or ``classes_[1]`` for binary
        classifiers), whose evidence the importance labels mark; instances
        are ranked by their signed scores as returned (larger = more support,
        evidence against the class lowest). ``"milli"`` samples with its
        default seed, so a search scores every candidate on the same draws.
    population : int, default=None
        Score one deciding population against the unimportant instances
        (:func:`importance_auroc_per_population`); the scorer then requests
        ``populations`` as metadata too (``params={"importance": importance,
        "populations": populations}``).

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
    >>> make_importance_scorer(method="drop_one")
    make_importance_scorer('auroc', method='drop_one')
    >>> make_importance_scorer(population=2)
    make_importance_scorer('auroc', population=2)
    """
    return ImportanceScorer(metric, pos_label=pos_label, bags=bags, average=average, method=method,
                            population=population)


#: Scorer for the importance AUROC with the defaults (positive bags, per-bag mean).
importance_auroc = make_importance_scorer("auroc")
#: Scorer for the importance average precision with the defaults.
importance_average_precision = make_importance_scorer("average_precision")
