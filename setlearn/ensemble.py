"""AttentionEnsemble: many attention models, one explanation, and a warning when they disagree.

The study behind setlearn found that single attention models often point at
the wrong instances while classifying perfectly ("silent failures"), and that
averaging the attention of several models makes bad explanations rare. This
module turns that remedy into an estimator, plus a ground-truth-free signal:
when the members rank the instances of a bag very differently, their
explanation deserves less trust.
"""

import warnings
from itertools import groupby
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata, weightedtau
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import ParameterGrid
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .bags import check_bags
from .estimators import (
    AttentionMILClassifier,
    _check_known_labels,
    _ROUTING_HINT,
    fit_net,
    make_net,
    validate_training_bags,
)

__all__ = ["AttentionEnsemble", "AttentionDisagreementWarning", "combine_attention", "pairwise_agreement"]

COMBINATION_RULES = ("mean", "median", "vote")


class AttentionDisagreementWarning(UserWarning):
    """The members of an ensemble rank the instances of the bags very differently."""


def combine_attention(member_attentions, rule="mean"):
    """Combine the attention of several models into one explanation per bag.

    Parameters
    ----------
    member_attentions : list of list of ndarray
        ``member_attentions[m][b]`` is member ``m``'s attention over the
        instances of bag ``b``.
    rule : {"mean", "median", "vote"}, default="mean"
        ``"mean"`` averages the weights (the study's rule). ``"median"`` takes
        the instance-wise median, renormalised. ``"vote"`` is a majority vote:
        every member votes for the instances it weighs above an equal share
        (``1 / n_instances``), and an instance's weight is its share of the
        votes; it ignores how extreme a single member's weights are.

    Returns
    -------
    attention : list of ndarray
        One 1-D array per bag, non-negative, summing to 1.

    Examples
    --------
    >>> import numpy as np
    >>> a = [[np.array([0.7, 0.2, 0.1])], [np.array([0.5, 0.1, 0.4])]]
    >>> combine_attention(a)[0].round(2).tolist()
    [0.6, 0.15, 0.25]
    >>> combine_attention(a, rule="vote")[0].round(2).tolist()
    [0.67, 0.0, 0.33]
    """
    if rule not in COMBINATION_RULES:
        raise ValueError(f"rule must be one of {COMBINATION_RULES}, got {rule!r}.")
    combined = []
    for weights in _per_bag_stacks(member_attentions):
        if rule == "mean":
            bag = weights.mean(axis=0)
        elif rule == "median":
            bag = np.median(weights, axis=0)
            if bag.sum() == 0:
                # Members peaked on different instances: every median is 0.
                bag = weights.mean(axis=0)
        else:
            bag = _above_equal_share(weights).mean(axis=0)
        combined.append(bag / bag.sum())
    return combined


def _per_bag_stacks(member_attentions):
    """Yield, per bag, the members' attention as one (n_members, n_instances) array."""
    if len(member_attentions) == 0:
        raise ValueError("The attention of at least one member is needed.")
    n_bags = {len(m) for m in member_attentions}
    if len(n_bags) != 1:
        raise ValueError(f"Every member must explain the same bags; got {sorted(n_bags)} bags.")
    for b, per_member in enumerate(zip(*member_attentions)):
        sizes = {len(a) for a in per_member}
        if len(sizes) != 1:
            raise ValueError(f"The members' attention for bag {b} has different lengths {sorted(sizes)}.")
        yield np.stack(per_member)


def _above_equal_share(weights):
    # Relative tolerance: softmax weights of a uniform bag are 1/n only up to rounding.
    return weights >= (1 - 1e-6) / weights.shape[1]


def _spearman(weights):
    ranks = rankdata(weights, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.corrcoef(ranks)


def _weighted_tau(weights):
    n = len(weights)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = weightedtau(weights[i], weights[j]).statistic
    return out


def _top_overlap(weights):
    top = _above_equal_share(weights).astype(float)
    shared = top @ top.T
    union = top.sum(axis=1)[:, None] + top.sum(axis=1)[None, :] - shared
    return shared / union


AGREEMENT_MEASURES = {"spearman": _spearman, "weighted_tau": _weighted_tau, "top_overlap": _top_overlap}


def pairwise_agreement(member_attentions, measure="weighted_tau"):
    """Agreement between every pair of members, for every bag.

    Parameters
    ----------
    member_attentions : list of list of ndarray
        ``member_attentions[m][b]``: member ``m``'s attention over bag ``b``.
    measure : {"weighted_tau", "spearman", "top_overlap"}, default="weighted_tau"
        ``"weighted_tau"``: scipy's weighted Kendall tau, which counts
        disagreements about the most attended instances more than those about
        the rest; ``"spearman"``: rank correlation over all instances;
        ``"top_overlap"``: Jaccard overlap of the instances each member weighs
        above an equal share.

    Returns
    -------
    agreement : ndarray of shape (n_bags, n_members, n_members)
        NaN for bags of one instance; a member whose attention is constant
        over a bag ranks nothing and gets agreement 0 with the others there.

    Examples
    --------
    >>> import numpy as np
    >>> a = [[np.array([0.6, 0.3, 0.1])], [np.array([0.5, 0.4, 0.1])]]
    >>> float(pairwise_agreement(a, "spearman")[0, 0, 1])
    1.0
    """
    if measure not in AGREEMENT_MEASURES:
        raise ValueError(f"measure must be one of {sorted(AGREEMENT_MEASURES)}, got {measure!r}.")
    n = len(member_attentions)
    out = []
    for weights in _per_bag_stacks(member_attentions):
        if weights.shape[1] < 2:
            out.append(np.full((n, n), np.nan))
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            pairwise = AGREEMENT_MEASURES[measure](weights)
        # A member with constant attention ranks nothing: it agrees with no one,
        # rather than dropping out of the average unnoticed.
        out.append(np.where(np.isnan(pairwise), 0.0, pairwise))
    return np.array(out).reshape(len(out), n, n)


# Activation elements of the widest featurizer layer in one training step, all
# stacked members together (about 4 MB). Beyond it, a stacked step stops fitting
# in cache and members train faster one by one: measured per member and step,
# 20 stacked small MLPs cost 0.2x a single one, but 20 digit CNNs 1.5x
# (benchmarks/README.md).
_STACK_BUDGET = 2**20


def _members_per_module(estimator, bags):
    """How many members of ``estimator``'s configuration to train as one stacked module."""
    if estimator.early_stopping:
        # Stacked members would stop together, on the sum of their losses.
        return 1
    instance_shape = bags[0].shape[1:]
    width = estimator.hidden_size
    if not isinstance(estimator.featurizer, nn.Module) and len(instance_shape) > 1 and estimator.featurizer != "mlp":
        width = 8 * int(np.prod(instance_shape[-2:]))  # the CNN's first feature map
    mean_size = float(np.mean([len(b) for b in bags]))
    per_member = min(estimator.batch_size, len(bags)) * mean_size * width
    return max(1, int(_STACK_BUDGET // per_member))


def _fit_group(estimator, bags, y_encoded, n_classes, seeds):
    """Train the members of one configuration together; return their fitted classifiers."""
    net = fit_net(estimator, bags, y_encoded, n_classes, seeds=seeds)
    members = []
    for e in range(len(seeds)):
        member_net = make_net(estimator, net.module_.select(e)).initialize()
        member_net.history = net.history
        members.append(member_net)
    return members


class AttentionEnsemble(ClassifierMixin, BaseEstimator):
    """An ensemble of attention MIL models whose attention is combined per bag.

    Members of one configuration differ by seed and are trained together as
    one batched torch module (stacked weights, one optimizer step for all), as
    many at a time as keep a training step small enough to gain from it
    (one at a time with early stopping, so each stops on its own loss).
    Members stacked in one module differ by their initial weights and share
    the batch order of the module's first member; their ``history_`` is the
    module's, with losses summed over its members;
    members of different configurations train in parallel through joblib,
    which can also send them to a Dask or Ray cluster
    (``joblib.parallel_config(backend="dask")``).

    Parameters
    ----------
    estimator : AttentionMILClassifier or list of them, default=None
        The configuration(s) of the members. One estimator gives a
        single-configuration ensemble; a list makes the members cycle through
        the configurations. ``None`` means ``AttentionMILClassifier()``.
    n_estimators : int, default=20
        Number of members.
    param_grid : dict or list of dict, default=None
        Alternatively, a scikit-learn parameter grid applied to ``estimator``;
        the members cycle through its configurations.
    combine : {"mean", "median", "vote"}, default="mean"
        How :meth:`explain` combines the members' attention (see
        :func:`combine_attention`).
    agreement : {"weighted_tau", "spearman", "top_overlap"}, default="weighted_tau"
        How the agreement of two members' attention over a bag is measured
        (see :func:`pairwise_agreement`); the default weighs the most attended
        instances most, which separated good from bad explanations best in
        ``examples/agreement_flags_bad_attention.py`` (docs/ensembles.md).
    agreement_threshold : float or None, default=0.3
        :meth:`explain` warns (:class:`AttentionDisagreementWarning`) when the
        mean pairwise agreement of the members' attention, averaged over the
        bags, is below this value. ``None`` disables the warning. In the
        measurements of docs/ensembles.md, 0.3 flagged 88% of the ensembles
        with a bad explanation (iAUC-ROC < 0.65) and 32% of the good ones.
    n_jobs : int, default=None
        Configurations trained in parallel (joblib semantics).
    random_state : int, RandomState instance or None, default=None
        Seeds the members: each member gets its own ``random_state``, which
        sets its initial weights (and, for the first member of a stacked
        module, the batch order all of that module's members share).
    verbose : int, default=0
        Verbosity of joblib.

    Attributes
    ----------
    estimators_ : list of AttentionMILClassifier
        The fitted members, each usable on its own.
    classes_ : ndarray of shape (n_classes,)
    instance_shape_ : tuple of int

    Examples
    --------
    >>> from setlearn import AttentionEnsemble, AttentionMILClassifier, make_bags
    >>> X, y, importance = make_bags("mil", n_bags=60, bag_size=10, random_state=0)
    >>> ensemble = AttentionEnsemble(AttentionMILClassifier(max_epochs=20), n_estimators=4,
    ...                              agreement_threshold=None, random_state=0).fit(X, y)
    >>> len(ensemble.estimators_), round(float(ensemble.explain(X[:1])[0].sum()), 5)
    (4, 1.0)
    >>> ensemble.attention_agreement(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "estimator": [AttentionMILClassifier, list, None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "param_grid": [dict, list, None],
        "combine": [StrOptions(set(COMBINATION_RULES))],
        "agreement": [StrOptions(set(AGREEMENT_MEASURES))],
        "agreement_threshold": [Interval(Real, -1, 1, closed="both"), None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator=None,
        n_estimators=20,
        *,
        param_grid=None,
        combine="mean",
        agreement="weighted_tau",
        agreement_threshold=0.3,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.param_grid = param_grid
        self.combine = combine
        self.agreement = agreement
        self.agreement_threshold = agreement_threshold
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def from_search(cls, search, top_k=5, *, scoring=None, n_estimators=20, **kwargs):
        """An ensemble over the ``top_k`` configurations of a fitted hyper-parameter search.

        Parameters
        ----------
        search : GridSearchCV or RandomizedSearchCV
            A fitted search over an :class:`AttentionMILClassifier`.
        top_k : int, default=5
            Number of best configurations to keep.
        scoring : str, default=None
            For a multi-metric search, the score that ranks the configurations
            (e.g. ``"iauc"``); defaults to the search's ``refit`` metric.
        n_estimators : int, default=20
            Members of the ensemble; they cycle through the configurations.
        **kwargs
            Other parameters of :class:`AttentionEnsemble`.

        Returns
        -------
        ensemble : AttentionEnsemble
            Unfitted; call :meth:`fit`.
        """
        check_is_fitted(search, "cv_results_")
        results = search.cv_results_
        if scoring is None:
            scoring = search.refit if isinstance(search.refit, str) else "score"
        key = f"rank_test_{scoring}"
        if key not in results:
            known = sorted(k[len("rank_test_"):] for k in results if k.startswith("rank_test_"))
            raise ValueError(f"The search has no score {scoring!r}; choose scoring from {known}.")
        if not 1 <= top_k <= len(results["params"]):
            raise ValueError(f"top_k must be between 1 and {len(results['params'])} (the configurations searched), got {top_k}.")
        order = np.argsort(results[key], kind="stable")[:top_k]
        estimators = [clone(search.estimator).set_params(**results["params"][i]) for i in order]
        return cls(estimators, n_estimators=n_estimators, **kwargs)

    def _member_configurations(self):
        base = self.estimator if self.estimator is not None else AttentionMILClassifier()
        if isinstance(base, list):
            if self.param_grid is not None:
                raise ValueError("Give either a list of estimators or a param_grid, not both.")
            if not base or not all(isinstance(e, AttentionMILClassifier) for e in base):
                raise ValueError("estimator must be an AttentionMILClassifier or a non-empty list of them.")
            configurations = list(base)
        elif self.param_grid is not None:
            configurations = [clone(base).set_params(**p) for p in ParameterGrid(self.param_grid)]
        else:
            configurations = [base]
        if self.n_estimators < len(configurations):
            warnings.warn(
                f"n_estimators={self.n_estimators} is below the {len(configurations)} configurations; "
                f"only the first {self.n_estimators} are used. Raise n_estimators to use them all.",
                UserWarning,
                stacklevel=3,
            )
        return [configurations[i % len(configurations)] for i in range(self.n_estimators)]

    def fit(self, X, y, **fit_params):
        """Fit every member on bags ``X`` with labels ``y``.

        Returns
        -------
        self : AttentionEnsemble
        """
        if fit_params:
            raise ValueError(f"fit() got unexpected argument(s) {', '.join(sorted(fit_params))}. {_ROUTING_HINT}")
        self._validate_params()
        bags, y_encoded, self.classes_ = validate_training_bags(X, y)
        self.instance_shape_ = bags[0].shape[1:]
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        members = [
            clone(config).set_params(random_state=int(seed))
            for config, seed in zip(self._member_configurations(), seeds)
        ]
        # Members whose parameters match (apart from the seed) train as one stacked module.
        def configuration(i):
            return repr(sorted((k, repr(v)) for k, v in members[i].get_params().items() if k != "random_state"))

        order = sorted(range(len(members)), key=configuration)
        groups = []
        for _, same in groupby(order, key=configuration):
            same = list(same)
            size = _members_per_module(members[same[0]], bags)
            groups += [same[i : i + size] for i in range(0, len(same), size)]
        nets = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_group)(
                members[g[0]], bags, y_encoded, len(self.classes_), [members[i]._member_seed() for i in g]
            )
            for g in groups
        )
        for group, group_nets in zip(groups, nets):
            for i, net in zip(group, group_nets):
                members[i]._set_fitted(net, self.classes_, self.instance_shape_)
        self.estimators_ = members
        if len(self.instance_shape_) == 1:
            self.n_features_in_ = self.instance_shape_[0]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As for AttentionMILClassifier: X is a collection of bags.
        tags.input_tags.three_d_array = True
        tags.classifier_tags.poor_score = True
        return tags

    def _checked_bags(self, X):
        check_is_fitted(self)
        return check_bags(X, instance_shape=self.instance_shape_)

    def predict_proba(self, X):
        """Mean of the members' class probabilities, shape ``(n_bags, n_classes)``."""
        bags = self._checked_bags(X)
        return np.mean([m.predict_proba(bags) for m in self.estimators_], axis=0)

    def predict(self, X):
        """Predicted class label of every bag."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on bags ``X`` with labels ``y`` (labels must be known from fit)."""
        check_is_fitted(self)
        _check_known_labels(y, self.classes_)
        return super().score(X, y, sample_weight=sample_weight)

    def explain_members(self, X):
        """Every member's attention: a list over members of lists of per-bag arrays."""
        bags = self._checked_bags(X)
        return [m.explain(bags) for m in self.estimators_]

    def explain(self, X):
        """Combined attention of the members: one 1-D array per bag, summing to 1.

        Warns with :class:`AttentionDisagreementWarning` when the members'
        rankings agree less than ``agreement_threshold`` on average.
        """
        member_attentions = self.explain_members(X)
        if self.agreement_threshold is not None and len(self.estimators_) > 1:
            per_bag = _bag_agreement(pairwise_agreement(member_attentions, self.agreement))
            overall = np.nanmean(per_bag) if np.isfinite(per_bag).any() else np.nan
            if overall < self.agreement_threshold:
                n_low = int(np.sum(per_bag < self.agreement_threshold))
                warnings.warn(
                    f"The {len(self.estimators_)} members' attention rankings agree little: mean "
                    f"pairwise {self.agreement} {overall:.2f} < {self.agreement_threshold} "
                    f"({n_low} of {len(per_bag)} bags below). Treat the explanation with caution; "
                    f"attention_agreement(X) gives the value per bag.",
                    AttentionDisagreementWarning,
                    stacklevel=2,
                )
        return combine_attention(member_attentions, rule=self.combine)

    def attention_agreement(self, X):
        """How much the members agree on the ranking of every bag's instances.

        Returns
        -------
        agreement : ndarray of shape (n_bags,)
            Mean pairwise agreement (the ``agreement`` measure) between the
            members' attention over the bag's instances: 1 when every member
            ranks the instances alike, around 0 when their rankings are
            unrelated. NaN for bags of one instance; a member whose attention
            is constant over a bag counts as agreeing with no one there.
        """
        return _bag_agreement(pairwise_agreement(self.explain_members(X), self.agreement))

    def member_agreement(self, X):
        """How much each member agrees with the others, averaged over the bags.

        Returns
        -------
        agreement : ndarray of shape (n_members,)
            Mean agreement (the ``agreement`` measure) between a member's
            attention and every other member's, averaged over bags. A member far below the others
            is the one to distrust.
        """
        pairwise = pairwise_agreement(self.explain_members(X), self.agreement)
        n = pairwise.shape[1]
        if n < 2:
            return np.full(n, np.nan)
        off_diagonal = pairwise.copy()
        off_diagonal[:, np.arange(n), np.arange(n)] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.nanmean(off_diagonal, axis=2), axis=0)


def _bag_agreement(pairwise):
    n = pairwise.shape[1]
    upper = np.triu_indices(n, k=1)
    values = pairwise[:, upper[0], upper[1]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=1) if n > 1 else np.full(len(pairwise), np.nan)
