"""AttentionEnsemble: many attention models, one prediction and one explanation."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import _fit_context, clone
from sklearn.model_selection import ParameterGrid
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..bags import bag_sizes, max_padded_elements
from ..base import BaseBagClassifier, validate_training_bags
from ..estimators import AttentionMILClassifier
from ..nn._architecture import ArchitectureSpec, TrainingSpec
from ..nn._explain import EXPLAINERS, check_method, check_options
from ..nn._net import fit_net, make_net, member_seed
from ._agreement import AGREEMENT_MEASURES, AttentionDisagreementWarning, COMBINATION_RULES, _bag_agreement, combine_scores, pairwise_agreement


_STACK_BUDGET = 2**20


def _members_per_module(architecture, training, sizes):
    """How many members of one configuration to train as one stacked module.

    Depends only on the configuration and the bag sizes ``sizes`` (never on the
    machine), so that :func:`setlearn.assess` cuts its stacks alike everywhere.
    """
    if training.early_stopping:
        # Stacked members would stop together, on the sum of their losses.
        return 1
    # The widest step's padded slots, batched exactly as training batches them.
    per_member = max_padded_elements(sizes, training.batch_size) * architecture.widest_instance_activation
    return max(1, int(_STACK_BUDGET // per_member))


def _fit_group(architecture, training, bags, y_encoded, seeds):
    """Train the members of one configuration together; return their nets, one member each."""
    net = fit_net(architecture, training, bags, y_encoded, seeds=seeds)
    members = []
    for e in range(len(seeds)):
        member_net = make_net(training, net.module_.select(e)).initialize()
        member_net.history = net.history
        members.append(member_net)
    return members


def fit_stacked(members, X, y):
    """Fit classifiers of one configuration as one stacked module, whatever their number.

    Every member ends fitted as if by its own ``fit``, except that all of them
    share the batch order of the first member's ``random_state`` (their initial
    weights are each their own). The first member equals its own ``fit``.

    Parameters
    ----------
    members : list of AttentionMILClassifier
        Unfitted classifiers whose parameters differ only by ``random_state``.
    X : list of array-like
        Training bags.
    y : array-like of shape (n_bags,)
        Bag labels.

    Returns
    -------
    members : list of AttentionMILClassifier
        The same objects, fitted.

    Examples
    --------
    >>> from setlearn import AttentionMILClassifier, make_bags
    >>> from setlearn.ensemble._ensemble import fit_stacked
    >>> X, y, _ = make_bags("mil", n_bags=20, bag_size=5, random_state=0)
    >>> members = fit_stacked([AttentionMILClassifier(max_epochs=2, random_state=s) for s in (0, 1)], X, y)
    >>> [len(m.history_) for m in members]
    [2, 2]
    """
    first = members[0]
    first._validate_params()
    bags, y_encoded, classes = validate_training_bags(X, y)
    instance_shape = bags[0].shape[1:]
    nets = _fit_group(first._architecture(instance_shape, len(classes)), first._training(), bags, y_encoded,
                      [member_seed(m.random_state) for m in members])
    for member, net in zip(members, nets):
        member._set_fitted(net, classes, instance_shape)
    return members


def _same_params(a, b):
    """Whether two parameter values are the same setting.

    Compared by value where the type defines it and by identity otherwise: two
    distinct torch modules are two featurizers even when they print alike.
    """
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, nn.Module):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is element-wise
        return False


def _same_configuration(a, b):
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    return params_a.keys() == params_b.keys() and all(
        _same_params(params_a[k], params_b[k]) for k in params_a if k != "random_state"
    )


def _same_configuration_groups(members):
    """Indices of members whose parameters match (apart from the seed), in order of first appearance."""
    groups = []
    for i, member in enumerate(members):
        for group in groups:
            if _same_configuration(members[group[0]], member):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def _distinct(configurations):
    return [configurations[g[0]] for g in _same_configuration_groups(configurations)]


class AttentionEnsemble(BaseBagClassifier):
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

    # Members are estimators given by the user: their parameters are validated
    # here (nested validation on), once per configuration.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit every member on bags ``X`` with labels ``y``.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags of shape ``(n_instances, *instance_shape)``.
        y : array-like of shape (n_bags,)
            Bag labels: binary or multi-class, of any type.
        **fit_params : dict
            Not used; metadata meant for a scorer (such as ``importance``)
            gets a clear error, as in :meth:`AttentionMILClassifier.fit`.

        Returns
        -------
        self : AttentionEnsemble
            Fitted attributes are replaced only once every member trained, so
            a failed or interrupted refit leaves the previous fit intact.
        """
        self._check_no_fit_params(fit_params)
        configurations = self._member_configurations()
        for config in _distinct(configurations):
            config._validate_params()
        bags, y_encoded, classes = validate_training_bags(X, y)
        instance_shape = bags[0].shape[1:]
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_estimators)
        members = [clone(config).set_params(random_state=int(seed)) for config, seed in zip(configurations, seeds)]
        groups = []  # (architecture, training, member indices) of every stacked module
        for same in _same_configuration_groups(members):
            params = members[same[0]].get_params(deep=False)
            architecture = ArchitectureSpec.from_params(params, instance_shape, len(classes))
            training = TrainingSpec.from_params(params)
            size = _members_per_module(architecture, training, bag_sizes(bags))
            groups += [(architecture, training, same[i : i + size]) for i in range(0, len(same), size)]
        nets = Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_fit_group)(architecture, training, bags, y_encoded, [member_seed(members[i].random_state) for i in g])
            for architecture, training, g in groups
        )
        for (_, _, group), group_nets in zip(groups, nets):
            for i, net in zip(group, group_nets):
                members[i]._set_fitted(net, classes, instance_shape)
        return self._record_fit(classes, instance_shape, estimators_=members)

    def predict_proba(self, X):
        """Mean of the members' class probabilities for every bag.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

        Returns
        -------
        proba : ndarray of shape (n_bags, n_classes)
            Probability of every class (columns in the order of ``classes_``).
        """
        bags = self._checked_bags(X)
        return np.mean([m.predict_proba(bags) for m in self.estimators_], axis=0)

    def explain_members(self, X, method="attention", target=None, *, n_samples=None, alpha=None, beta=None,
                        random_state=0):
        """Every member's scores: a list over members of lists of per-bag arrays.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags.
        method : str, default="attention"
            As in :meth:`AttentionMILClassifier.explain`.
        target : int, array-like of int or None, default=None
            Class index (into ``classes_``) to explain; ``None`` explains the
            ensemble's predicted class, so every member explains the same class.
        n_samples : int, default=None
            ``method="milli"``'s sub-bags per bag, as in :meth:`AttentionMILClassifier.explain`.
        alpha, beta : float, default=None
            ``method="milli"``'s inclusion curve, as in :meth:`AttentionMILClassifier.explain`.
        random_state : int or None, default=0
            ``method="milli"``'s seed, as in :meth:`AttentionMILClassifier.explain`
            (every member samples with the same seed).

        Returns
        -------
        scores : list of list of ndarray
            ``scores[m][b]``: member ``m``'s scores over bag ``b``.
        """
        check_method(method)
        check_options(method, n_samples, alpha, beta)  # before the members' predictions
        bags = self._checked_bags(X)
        if target is None and EXPLAINERS[method] != "weights":
            target = self.predict_proba(bags).argmax(axis=1)
        return [
            m.explain(bags, method=method, target=target, n_samples=n_samples, alpha=alpha, beta=beta,
                      random_state=random_state)
            for m in self.estimators_
        ]

    def explain(self, X, method="attention", target=None, *, n_samples=None, alpha=None, beta=None, random_state=0):
        """Combined scores of the members: one 1-D array per bag, of that bag's length.

        The members' scores (see :meth:`AttentionMILClassifier.explain` for
        each ``method``) are combined by the ``combine`` rule
        (:func:`combine_scores`); weights (``"attention"``,
        ``"attention_norm"``) come back summing to 1, other methods are not
        renormalised. Warns with :class:`AttentionDisagreementWarning` when
        the members' rankings agree less than ``agreement_threshold`` on
        average.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags.
        method : str, default="attention"
            The explainer (see :meth:`AttentionMILClassifier.explain`).
        target : int, array-like of int or None, default=None
            Class index to explain; ``None`` explains the ensemble's prediction.
        n_samples : int, default=None
            ``method="milli"``'s sub-bags per bag, as in :meth:`AttentionMILClassifier.explain`.
        alpha, beta : float, default=None
            ``method="milli"``'s inclusion curve, as in :meth:`AttentionMILClassifier.explain`.
        random_state : int or None, default=0
            ``method="milli"``'s seed, as in :meth:`AttentionMILClassifier.explain`.

        Returns
        -------
        scores : list of ndarray
            One 1-D array per bag, of that bag's length, combined from the
            members' scores by the ``combine`` rule.
        """
        member_attentions = self.explain_members(X, method, target, n_samples=n_samples, alpha=alpha, beta=beta,
                                                 random_state=random_state)
        if self.agreement_threshold is not None and len(self.estimators_) > 1:
            per_bag = _bag_agreement(pairwise_agreement(member_attentions, self.agreement))
            overall = np.nanmean(per_bag) if np.isfinite(per_bag).any() else np.nan
            if overall < self.agreement_threshold:
                n_low = int(np.sum(per_bag < self.agreement_threshold))
                warnings.warn(
                    f"The {len(self.estimators_)} members' {method} rankings agree little: mean "
                    f"pairwise {self.agreement} {overall:.2f} < {self.agreement_threshold} "
                    f"({n_low} of {len(per_bag)} bags below). Treat the explanation with caution; "
                    f"attention_agreement(X) gives the value per bag.",
                    AttentionDisagreementWarning,
                    stacklevel=2,
                )
        return combine_scores(member_attentions, rule=self.combine, normalized=EXPLAINERS[method] == "weights")

    def attention_agreement(self, X):
        """How much the members agree on the ranking of every bag's instances.

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

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

        Parameters
        ----------
        X : list of array-like, 1-D object array, or ndarray
            Bags, with the instance shape seen during fit.

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
