"""Bags with instance-level ground truth: which instances decide the label.

Every bag is a set of instances drawn from *populations* 0, 1 and 2. A
*problem* (:data:`PROBLEMS`) turns the populations present in a bag into its
label, and names the populations that matter; those instances are marked in the
returned ``importance``, so attention weights can be scored against them.

Two makers share one sampling code path:

* :func:`make_bags_from` composes bags from any labelled pool of instances
  (``instances`` plus one population label 0/1/2 per instance);
* :func:`make_bags` builds such a pool for a built-in modality (Gaussian
  vectors, or scikit-learn's bundled 8x8 digits) and calls
  :func:`make_bags_from`.

:func:`load_pbmc_cells` loads a real pool, 700 single cells with cell types
(optional extra ``setlearn[cells]``); :func:`cell_type_populations` maps two
cell types to populations 1 and 2.

How a bag is made (see ``docs/datasets.md``):

1. Bag sizes are drawn, independently of the labels: a fixed int, or uniform
   on an inclusive ``(low, high)`` range.
2. Exactly ``round(positive_fraction * n_bags)`` bags are positive, at random
   positions. Each bag gets a *composition* of its class (e.g. for AND: "only
   population 1", "only population 2" or "neither" for a negative bag), again
   in exact proportions.
3. Per-bag population counts are drawn: the composition keeps the populations
   it allows at their rates and gives the rates of the populations it leaves
   out to population 0. Counts are multinomial under ``probabilities``, or
   rounded exactly under ``witness_rate``. A positive bag that misses a
   deciding instance gets the minimum it needs, taken from population 0.
4. The bag is filled with that many instances of each population, drawn from
   the pool, and shuffled: instances are never sorted by population.
"""

from dataclasses import dataclass, field, replace
from functools import lru_cache
from numbers import Integral, Real

import numpy as np

__all__ = [
    "Composition",
    "Problem",
    "PROBLEMS",
    "MODALITIES",
    "make_bags",
    "make_bags_from",
    "load_digits_pool",
    "load_pbmc_cells",
    "cell_type_populations",
]

# Number of populations any pool may hold; problems use the first 2 or all 3.
_N_POP = 3


@dataclass(frozen=True)
class Composition:
    """One way to compose a bag of a given class.

    Parameters
    ----------
    name : str
        Short description, e.g. ``"only 1"``.
    weight : float
        Share of the bags of its class built this way (weights of a class are
        normalised).
    present : tuple of int
        Non-zero populations the bag may contain. The rates of the other
        non-zero populations go to population 0.
    at_least : dict
        ``{population: minimum count}``; the minimum may be ``"k"``.
    below : dict
        ``{population: bound}``: the count must be smaller than the bound;
        the bound may be ``"k"``.
    """

    name: str
    weight: float
    present: tuple
    at_least: dict = field(default_factory=dict)
    below: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A bag-labelling rule on population counts, and how to build its bags.

    Parameters
    ----------
    name : str
        Key in :data:`PROBLEMS`.
    n_populations : int
        Populations the problem draws from (2: populations 0 and 1; 3: 0, 1, 2).
        ``probabilities`` must have this length.
    important : tuple of int
        Populations whose instances decide the label (marked in ``importance``).
    default_probabilities : tuple of float
        Population rates used when neither ``probabilities`` nor
        ``witness_rate`` is given.
    rule : callable
        ``rule(counts, k) -> bool array``; ``counts`` has shape ``(n_bags, 3)``.
    positive, negative : tuple of Composition
        How positive and negative bags are built.
    k : int or None
        The count threshold, for problems whose rule uses one.
    """

    name: str
    n_populations: int
    important: tuple
    default_probabilities: tuple
    rule: object
    positive: tuple
    negative: tuple
    k: int = None

    def label(self, counts):
        """Bag labels (int 0/1) from per-population counts of shape ``(n_bags, 3)``."""
        counts = np.atleast_2d(np.asarray(counts))
        if counts.shape[1] < _N_POP:
            counts = np.pad(counts, ((0, 0), (0, _N_POP - counts.shape[1])))
        return np.asarray(self.rule(counts, self.k), dtype=np.int64)

    @property
    def uses_k(self):
        return any("k" in c.at_least.values() or "k" in c.below.values() for c in self.positive + self.negative)

    def _bound(self, value):
        return self.k if value == "k" else int(value)

    def min_bag_size(self):
        """Smallest bag every composition of this problem fits into."""
        return max(sum(self._bound(v) for v in c.at_least.values()) for c in self.positive + self.negative)


# Rules are module-level functions (not lambdas) so that problems pickle,
# e.g. when experiments are sent to joblib workers.
def _has_1(counts, k):
    return counts[:, 1] > 0


def _has_1_and_2(counts, k):
    return (counts[:, 1] > 0) & (counts[:, 2] > 0)


def _has_1_xor_2(counts, k):
    return (counts[:, 1] > 0) != (counts[:, 2] > 0)


def _has_k_of_1(counts, k):
    return counts[:, 1] >= k


PROBLEMS = {
    "mil": Problem(
        name="mil",
        n_populations=2,
        important=(1,),
        default_probabilities=(0.5, 0.5),
        rule=_has_1,
        positive=(Composition("with 1", 1.0, (1,), at_least={1: 1}),),
        negative=(Composition("only 0", 1.0, ()),),
    ),
    "and": Problem(
        name="and",
        n_populations=3,
        important=(1, 2),
        default_probabilities=(0.4, 0.3, 0.3),
        rule=_has_1_and_2,
        positive=(Composition("1 and 2", 1.0, (1, 2), at_least={1: 1, 2: 1}),),
        # Equal thirds: a model that only detects one of the two populations
        # misclassifies a third of the negative bags.
        negative=(
            Composition("only 1", 1.0, (1,), at_least={1: 1}),
            Composition("only 2", 1.0, (2,), at_least={2: 1}),
            Composition("neither", 1.0, ()),
        ),
    ),
    "xor": Problem(
        name="xor",
        n_populations=3,
        important=(1, 2),
        default_probabilities=(0.4, 0.3, 0.3),
        rule=_has_1_xor_2,
        positive=(
            Composition("only 1", 1.0, (1,), at_least={1: 1}),
            Composition("only 2", 1.0, (2,), at_least={2: 1}),
        ),
        negative=(
            Composition("neither", 1.0, ()),
            Composition("both", 1.0, (1, 2), at_least={1: 1, 2: 1}),
        ),
    ),
    "threshold": Problem(
        name="threshold",
        n_populations=2,
        important=(1,),
        default_probabilities=(0.5, 0.5),
        rule=_has_k_of_1,
        positive=(Composition("at least k of 1", 1.0, (1,), at_least={1: "k"}),),
        # Negatives keep population 1 but fewer than k of it, so presence alone
        # does not decide the label.
        negative=(Composition("fewer than k of 1", 1.0, (1,), below={1: "k"}),),
        k=5,
    ),
}
"""Registered problems by name. Add one with ``PROBLEMS["name"] = Problem(...)``."""

MODALITIES = ("gaussian", "digits")

# The study's Gaussian populations (4 features).
_STUDY_MEANS = ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0), (-1.0, 1.0, 1.0, 1.0))
_STUDY_SIGMA = 0.5
# Digit -> population, as the study did with MNIST (3 -> 1, 9 -> 2).
_DIGIT_POPULATIONS = (3, 9)
# Every 4th image of each digit, in load_digits order, goes to the test pool:
# a stratified split that needs no random generator, so it never changes.
_TEST_EVERY = 4
_POOLS = ("train", "test", "all")


# --------------------------------------------------------------------------- checks


def _check_rng(random_state):
    if random_state is None or isinstance(random_state, (Integral, np.random.SeedSequence)):
        if isinstance(random_state, bool):
            raise ValueError(f"random_state must be an int, a numpy Generator or RandomState, or None; got {random_state!r}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # Drawing the seed advances the RandomState, so repeated calls with the
        # same instance differ, as in scikit-learn.
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    raise ValueError(
        f"random_state must be an int, a numpy Generator or RandomState, or None; got {random_state!r}."
    )


def _check_problem(problem, k):
    if isinstance(problem, Problem):
        pass
    elif isinstance(problem, str) and problem.lower() in PROBLEMS:
        problem = PROBLEMS[problem.lower()]
    else:
        known = ", ".join(repr(p) for p in sorted(PROBLEMS))
        raise ValueError(
            f"Unknown problem {problem!r}. Known problems: {known}; or pass a "
            f"setlearn.datasets.Problem (register it in setlearn.datasets.PROBLEMS)."
        )
    if k is not None:
        if not problem.uses_k:
            raise ValueError(f"k is only used by counting problems such as 'threshold', not by {problem.name!r}; leave k=None.")
        if not isinstance(k, Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be an integer >= 1 (the number of population-1 instances a positive bag needs), got {k!r}.")
        problem = replace(problem, k=int(k))
    return problem


def _check_int(value, name, minimum):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_bag_size(bag_size, problem):
    if isinstance(bag_size, Integral) and not isinstance(bag_size, bool):
        low = high = bag_size
    elif isinstance(bag_size, (tuple, list, np.ndarray)) and len(bag_size) == 2 and all(
        isinstance(b, Integral) and not isinstance(b, bool) for b in bag_size
    ):
        low, high = bag_size
    else:
        raise ValueError(
            f"bag_size must be an int or a (low, high) pair of ints (an inclusive range), got {bag_size!r}."
        )
    low, high = int(low), int(high)
    if low < 1:
        raise ValueError(f"bag_size must be at least 1 (every bag needs an instance), got {bag_size!r}.")
    if low > high:
        raise ValueError(f"bag_size range {bag_size!r} has low > high; pass (low, high) with low <= high.")
    needed = problem.min_bag_size()
    if low < needed:
        if problem.uses_k:
            raise ValueError(
                f"k={problem.k} is larger than the smallest bag ({low} instances): a positive "
                f"{problem.name!r} bag needs at least k instances of population 1. Use k <= {low} "
                f"or larger bags."
            )
        raise ValueError(
            f"bag_size={bag_size!r} is too small for problem {problem.name!r}: some of its bags need "
            f"at least {needed} instances (one per deciding population). Use bags of at least {needed}."
        )
    return low, high


def _check_probabilities(probabilities, problem):
    if probabilities is None:
        return np.asarray(problem.default_probabilities, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 1 or len(p) != problem.n_populations:
        pops = ", ".join(str(i) for i in range(problem.n_populations))
        raise ValueError(
            f"probabilities must have {problem.n_populations} entries for problem {problem.name!r} "
            f"(one per population {pops}), got {probabilities!r}."
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError(f"probabilities must be finite and non-negative, got {probabilities!r}.")
    if not np.isclose(p.sum(), 1.0, rtol=0, atol=1e-8):
        raise ValueError(f"probabilities must sum to 1, got {probabilities!r} (sum {p.sum():g}).")
    return p


def _population_rates(problem, probabilities, witness_rate):
    """Rate of every non-zero population (index 1, 2) wherever it is present."""
    p = np.zeros(_N_POP)
    p[: len(probabilities)] = probabilities
    if witness_rate is None:
        return p[1:]
    if isinstance(witness_rate, bool) or not isinstance(witness_rate, Real) or not 0 < witness_rate <= 1:
        raise ValueError(f"witness_rate must be a number in (0, 1], got {witness_rate!r}.")
    rates = np.zeros(_N_POP)
    for j in problem.important:
        # A population gets, in every bag it appears in, the rate that makes the
        # important instances of the first positive composition holding it sum
        # to witness_rate; the probabilities' ratio splits it within that group.
        comp = next(c for c in problem.positive if j in c.present)
        group = p[[i for i in comp.present if i in problem.important]]
        rates[j] = witness_rate * (p[j] / group.sum() if group.sum() > 0 else 1 / len(group))
    for comp in problem.positive + problem.negative:
        total = rates[list(comp.present)].sum() if comp.present else 0.0
        if total > 1 + 1e-12:
            raise ValueError(
                f"witness_rate={witness_rate} is too large for problem {problem.name!r}: its "
                f"{comp.name!r} bags would need {total:g} of their instances from populations "
                f"{comp.present}. Use witness_rate <= {witness_rate / total:g}."
            )
    return rates[1:]


def _check_pool(instances, populations):
    instances = np.asarray(instances, dtype=np.float32)
    if instances.ndim < 2:
        raise ValueError(
            f"instances must have shape (n_instances, *instance_shape), got shape {instances.shape}; "
            f"for scalar instances use instances.reshape(-1, 1)."
        )
    populations = np.asarray(populations)
    if populations.ndim != 1 or len(populations) != len(instances):
        raise ValueError(
            f"populations must be a 1-D array with one label per instance ({len(instances)}), "
            f"got shape {populations.shape}."
        )
    if populations.size and (
        not np.issubdtype(populations.dtype, np.number)
        or not np.all(np.isin(populations, np.arange(_N_POP)))
    ):
        raise ValueError(
            f"populations must hold the integers 0, 1 or 2 (0 = never matters; 1, 2 = the "
            f"populations problems decide on), got values {np.unique(populations)[:10]!r}. Map "
            f"your classes to 0/1/2 first."
        )
    if not np.isfinite(instances).all():
        raise ValueError("instances contain NaN or infinity; impute or drop them first.")
    return instances, populations.astype(np.int64)


# ------------------------------------------------------------------------ sampling


def _allocate(total, weights):
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder)."""
    weights = np.asarray(weights, dtype=float)
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    short = total - parts.sum()
    parts[np.argsort(-(exact - parts), kind="stable")[:short]] += 1
    return parts


def _draw_counts(problem, comp, sizes, rates, exact, rng):
    """Per-population counts, shape ``(n_bags, 3)``, of bags built by ``comp``."""
    n = len(sizes)
    counts = np.zeros((n, _N_POP), dtype=np.int64)
    present = list(comp.present)
    if present:
        r = rates[np.array(present) - 1]
        if exact:
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


def _compose(problem, n_bags, bag_size, rates, exact, positive_fraction, rng):
    """Labels and per-bag population counts."""
    low, high = bag_size
    sizes = rng.integers(low, high + 1, size=n_bags) if high > low else np.full(n_bags, low, dtype=np.int64)
    n_pos = int(np.floor(positive_fraction * n_bags + 0.5))
    y = np.zeros(n_bags, dtype=np.int64)
    y[rng.permutation(n_bags)[:n_pos]] = 1
    counts = np.zeros((n_bags, _N_POP), dtype=np.int64)
    for label, comps in ((1, problem.positive), (0, problem.negative)):
        idx = np.flatnonzero(y == label)
        parts = _allocate(len(idx), [c.weight for c in comps])
        idx = rng.permutation(idx)
        for comp, chunk in zip(comps, np.split(idx, np.cumsum(parts)[:-1])):
            counts[chunk] = _draw_counts(problem, comp, sizes[chunk], rates, exact, rng)
    return y, sizes, counts


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


def make_bags_from(
    instances,
    populations,
    problem="mil",
    *,
    n_bags=1000,
    bag_size=250,
    probabilities=None,
    witness_rate=None,
    positive_fraction=0.5,
    k=None,
    replace=True,
    random_state=None,
    return_populations=False,
):
    """Make bags with instance-level ground truth from a labelled pool of instances.

    Parameters
    ----------
    instances : array-like of shape (n_instances, *instance_shape)
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
        uniformly per bag, independently of the label.
    probabilities : array-like of float, default=None
        Rates of populations 0, 1 (and 2 for ``"and"``/``"xor"``); must be
        non-negative and sum to 1. Counts per bag are multinomial with these
        rates; a population a bag must not contain gives its rate to
        population 0. ``None`` uses the study's rates: (0.5, 0.5) for
        ``"mil"``/``"threshold"``, (0.4, 0.3, 0.3) for ``"and"``/``"xor"``.
    witness_rate : float in (0, 1], default=None
        Exact fraction of important instances in every positive bag (rounded
        to whole instances, raised to the rule's minimum), overriding the rates
        of ``probabilities``; their ratio still splits it between populations
        1 and 2 for ``"and"``. A deciding population has the same rate in every
        bag that contains it, so negative bags do not differ from positive ones
        by how many instances of a population they hold: for ``"and"`` an
        "only 1" negative holds population 1 at its positive-bag rate; for
        ``"xor"`` each population has rate ``witness_rate``, so "both"
        negatives hold ``2 * witness_rate`` (it must be <= 0.5). For
        ``"threshold"``, negatives keep that rate when it leaves them below
        ``k``, otherwise their count is drawn uniformly from 0 .. k-1.
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
    X : list of ndarray of float32, each of shape (n_instances, *instance_shape)
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
    >>> len(X), X[0].shape, int(y.sum())
    (10, (20, 5), 5)
    """
    instances, pops = _check_pool(instances, populations)
    problem = _check_problem(problem, k)
    n_bags = _check_int(n_bags, "n_bags", 1)
    bag_size = _check_bag_size(bag_size, problem)
    probabilities = _check_probabilities(probabilities, problem)
    rates = _population_rates(problem, probabilities, witness_rate)
    if isinstance(positive_fraction, bool) or not isinstance(positive_fraction, Real) or not 0 <= positive_fraction <= 1:
        raise ValueError(f"positive_fraction must be a number in [0, 1], got {positive_fraction!r}.")
    rng = _check_rng(random_state)

    y, sizes, counts = _compose(problem, n_bags, bag_size, rates, witness_rate is not None, positive_fraction, rng)

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


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    images.setflags(write=False)
    target = data.target.astype(np.int64)
    target.setflags(write=False)
    return images, target


def load_digits_pool(pool="all", *, population_digits=(3, 9)):
    """scikit-learn's bundled 8x8 digits as a labelled instance pool.

    Parameters
    ----------
    pool : {"train", "test", "all"}, default="all"
        Which images. The split is fixed and stratified: within each digit,
        in ``load_digits`` order, every 4th image (positions 3, 7, 11, ...)
        is in ``"test"`` (445 images), the others in ``"train"`` (1352).
        The two never share an image.
    population_digits : (int, int), default=(3, 9)
        Digits of populations 1 and 2; every other digit is population 0.

    Returns
    -------
    images : ndarray of float32 of shape (n_images, 8, 8)
        Pixel intensities scaled to [0, 1].
    populations : ndarray of int of shape (n_images,)

    Examples
    --------
    >>> from setlearn.datasets import load_digits_pool
    >>> images, populations = load_digits_pool("test")
    >>> images.shape, int((populations == 1).sum())
    ((445, 8, 8), 45)
    """
    if pool not in _POOLS:
        raise ValueError(f"pool must be one of {_POOLS}, got {pool!r}.")
    images, digits = _digits()
    rank = np.empty(len(digits), dtype=np.int64)
    for d in np.unique(digits):
        where = np.flatnonzero(digits == d)
        rank[where] = np.arange(len(where))
    is_test = rank % _TEST_EVERY == _TEST_EVERY - 1
    keep = {"train": ~is_test, "test": is_test, "all": np.ones_like(is_test)}[pool]
    populations = np.zeros(len(digits), dtype=np.int64)
    for pop, digit in enumerate(population_digits, start=1):
        populations[digits == digit] = pop
    return images[keep], populations[keep]


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


def make_bags(
    problem="mil",
    modality="gaussian",
    *,
    n_bags=1000,
    bag_size=250,
    probabilities=None,
    witness_rate=None,
    positive_fraction=0.5,
    k=None,
    means=None,
    sigma=None,
    pool="all",
    random_state=None,
    return_populations=False,
):
    """Make bags of a built-in modality with instance-level ground truth.

    The study's tasks: ``make_bags(problem, "gaussian")`` and
    ``make_bags(problem, "digits")`` for ``problem`` in ``"mil"``, ``"and"``,
    ``"xor"`` (1000 bags of 250 instances by default). Bags are composed by
    :func:`make_bags_from`; see it for ``problem``, ``n_bags``, ``bag_size``,
    ``probabilities``, ``witness_rate``, ``positive_fraction``, ``k``,
    ``random_state`` and the return values.

    Parameters
    ----------
    problem : {"mil", "and", "xor", "threshold"} or Problem, default="mil"
    modality : {"gaussian", "digits"}, default="gaussian"
        ``"gaussian"``: fresh vectors, every instance drawn independently from
        its population's normal distribution. ``"digits"``: 8x8 images (shape
        ``(8, 8)``, values in [0, 1]) from scikit-learn's bundled digits, digit
        3 = population 1, digit 9 = population 2, others population 0, drawn
        with replacement from the ``pool``.
    n_bags, bag_size, probabilities, witness_rate, positive_fraction, k
        See :func:`make_bags_from`.
    means : array-like of shape (n_populations, n_features), default=None
        Gaussian only. ``None``: the study's 4-feature means, (0,0,0,0),
        (1,1,1,1), (-1,1,1,1) for populations 0, 1, 2.
    sigma : float or array-like of shape (n_populations,), default=None
        Gaussian only: standard deviation of every feature. ``None``: 0.5.
    pool : {"train", "test", "all"}, default="all"
        Digits only: which fixed, disjoint part of the images to draw from
        (see :func:`load_digits_pool`). Make training bags with
        ``pool="train"`` and test bags with ``pool="test"``, and give them
        different ``random_state`` values.
    random_state : int, numpy.random.Generator, numpy.random.RandomState or None, default=None
    return_populations : bool, default=False

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
    >>> X[0].shape, X[0].dtype.name
    ((10, 8, 8), 'float32')
    """
    problem = _check_problem(problem, k)
    rng = _check_rng(random_state)
    if modality == "gaussian":
        if pool != "all":
            raise ValueError(
                "pool only applies to modality 'digits'; Gaussian instances are always fresh, so "
                "draw train and test bags with different random_state values instead."
            )
        n_bags_ = _check_int(n_bags, "n_bags", 1)
        low, high = _check_bag_size(bag_size, problem)
        # One fresh instance per slot a bag could need: sampling this pool
        # without replacement is the same as drawing every instance anew.
        instances, populations = _gaussian_pool(problem, means, sigma, n_bags_ * high, rng)
        replace_ = False
    elif modality == "digits":
        if means is not None or sigma is not None:
            raise ValueError("means and sigma only apply to modality 'gaussian'; leave them None for 'digits'.")
        instances, populations = load_digits_pool(pool)
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
        positive_fraction=positive_fraction,
        replace=replace_,
        random_state=rng,
        return_populations=return_populations,
    )


# --------------------------------------------------------------------------- single cells

# scanpy ships this file as scanpy.datasets.pbmc68k_reduced(); it is read here
# with h5py alone, so that neither scanpy nor anndata has to be imported.
_PBMC_FILE = ("datasets", "10x_pbmc68k_reduced.h5ad")
_PBMC_LABELS = "bulk_labels"
_PBMC_REPRESENTATIONS = ("pca", "genes")
_CELLS_EXTRA = 'pip install "setlearn[cells]"'


def _pbmc_path_in_scanpy():
    """Path of scanpy's bundled PBMC file, found without importing scanpy."""
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("scanpy")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_pbmc_cells() without a path reads the data file bundled with scanpy, which is "
            f"not installed. Install it with {_CELLS_EXTRA} (scanpy supplies the data file, h5py "
            "reads it), or pass path= to a copy of 10x_pbmc68k_reduced.h5ad."
        )
    candidates = [Path(location, *_PBMC_FILE) for location in spec.submodule_search_locations]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"scanpy is installed, but its data file is not where setlearn looks for it: "
        f"{', '.join(map(str, candidates))}. Pass path= to a copy of 10x_pbmc68k_reduced.h5ad "
        f"(it is inside the scanpy wheel, at scanpy/datasets/)."
    )


def _h5_strings(values):
    """Decode an array of HDF5 strings (fixed-length or variable-length) to str."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        return np.char.decode(values, "utf-8")
    if values.dtype.kind == "O":
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.ravel()], dtype=str)
    return values.astype(str)


def _h5ad_index(f, name):
    """Row names of ``obs`` or ``var``, or None when the file has none."""
    node = f.get(name)
    if node is None:
        return None
    if hasattr(node, "keys"):  # a group (anndata >= 0.7)
        key = node.attrs.get("_index", "_index")
        key = key.decode() if isinstance(key, bytes) else key
        return _h5_strings(node[key][()]) if key in node else None
    fields = node.dtype.names or ()  # a compound dataset (anndata < 0.7)
    return _h5_strings(node["index"]) if "index" in fields else None


def _h5ad_categorical(f, column):
    """A categorical ``obs`` column as str (missing values, code -1, as "")."""
    obs = f["obs"]
    if hasattr(obs, "keys"):  # a group (anndata >= 0.7)
        if column not in obs:
            return None
        node = obs[column]
        if hasattr(node, "keys"):  # anndata >= 0.8: a group of codes and categories
            codes, categories = node["codes"][()], node["categories"][()]
        elif "categories" in node.attrs:  # anndata 0.7: a reference to the categories
            codes, categories = node[()], f[node.attrs["categories"]][()]
        else:  # a plain string column
            return _h5_strings(node[()])
    else:  # anndata < 0.7: codes in the compound obs, categories in uns
        if column not in (obs.dtype.names or ()):
            return None
        codes = obs[column]
        if np.asarray(codes).dtype.kind in "SO":
            return _h5_strings(codes)
        if f"uns/{column}_categories" not in f:
            raise ValueError(f"obs[{column!r}] holds category codes, but the file has no uns/{column}_categories.")
        categories = f[f"uns/{column}_categories"][()]
    labels = np.append(_h5_strings(categories), "")
    codes = np.asarray(codes, dtype=np.int64)
    return labels[np.where(codes < 0, len(labels) - 1, codes)]


def _h5ad_matrix(node):
    """A dense or CSR-sparse matrix stored in an .h5ad file, as a dense array."""
    if not hasattr(node, "keys"):
        return node[()]
    attrs = node.attrs
    fmt = attrs.get("encoding-type", attrs.get("h5sparse_format", ""))
    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    shape = tuple(int(n) for n in attrs.get("shape", attrs.get("h5sparse_shape", ())))
    if not fmt.startswith("csr") or len(shape) != 2:
        raise ValueError(f"Cannot read the matrix {node.name!r}: expected a dense or CSR matrix, got {fmt!r}.")
    from scipy.sparse import csr_matrix

    return csr_matrix((node["data"][()], node["indices"][()], node["indptr"][()]), shape=shape).toarray()


def _h5ad_pca(f):
    obsm = f.get("obsm")
    if obsm is None:
        return None
    if hasattr(obsm, "keys"):  # anndata >= 0.7: one dataset per key
        return obsm["X_pca"][()] if "X_pca" in obsm else None
    return obsm["X_pca"] if "X_pca" in (obsm.dtype.names or ()) else None  # compound dataset


def load_pbmc_cells(path=None, *, representation="pca"):
    """700 human blood cells (PBMCs) with their cell types, as a pool for :func:`make_bags_from`.

    The 700-cell subset of 10x Genomics' PBMC 68k data set (Zheng et al.,
    2017) that scanpy bundles as ``scanpy.datasets.pbmc68k_reduced()``,
    processed by scanpy's authors (normalised, log-transformed, 765 highly
    variable genes, scaled; 50 principal components). Each cell carries one
    of 10 cell-type annotations (``bulk_labels``): Dendritic 240,
    CD14+ Monocyte 129, CD19+ B 95, CD4+/CD25 T Reg 68, CD8+ Cytotoxic T 54,
    CD8+/CD45RA+ Naive Cytotoxic 43, CD56+ NK 31, CD4+/CD45RO+ Memory 19,
    CD34+ 13, CD4+/CD45RA+/CD25- Naive T 8. The annotations were assigned by
    correlating each cell's expression with purified reference populations;
    they are labels, not measurements, and some cells are mislabelled.

    The file is read with h5py alone (neither scanpy nor anndata is
    imported), which works offline. Install both with
    ``pip install "setlearn[cells]"``.

    Parameters
    ----------
    path : str or path-like, default=None
        The ``.h5ad`` file. ``None`` uses the copy inside the installed scanpy
        package (``scanpy/datasets/10x_pbmc68k_reduced.h5ad``), located
        without importing scanpy. The file may also be taken from the scanpy
        wheel and passed here, without installing scanpy.
    representation : {"pca", "genes"}, default="pca"
        ``"pca"``: the 50 principal components stored with the data
        (``obsm["X_pca"]``). ``"genes"``: the processed expression of the 765
        genes as stored (``X``: normalised, log-transformed and scaled per
        gene, mean about 0 and standard deviation about 1).

    Returns
    -------
    cells : sklearn.utils.Bunch
        With the attributes:

        data : ndarray of float32 of shape (n_cells, n_features)
            One row per cell (700 x 50 for ``"pca"``, 700 x 765 for ``"genes"``).
        cell_type : ndarray of str of shape (n_cells,)
            The cell-type annotation of every cell ("" where missing).
            Map two of them to populations 1 and 2 with
            :func:`cell_type_populations`.
        feature_names : ndarray of str of shape (n_features,)
            ``"PC1"``, ``"PC2"``, ... or the gene symbols.
        cell_names : ndarray of str of shape (n_cells,) or None
            The cell barcodes.
        representation : str
        DESCR : str
            A description, with the number of cells of every type.

    Raises
    ------
    ImportError
        If h5py is not installed, or if ``path=None`` and scanpy is not
        installed.
    FileNotFoundError
        If ``path`` (or scanpy's copy of the file) does not exist.
    ValueError
        If ``representation`` is unknown, or the file lacks the cell types or
        the requested representation.

    See Also
    --------
    cell_type_populations : Cell types to populations 0/1/2.
    make_bags_from : Bags from a labelled pool of instances.

    Examples
    --------
    >>> from setlearn.datasets import cell_type_populations, load_pbmc_cells, make_bags_from
    >>> cells = load_pbmc_cells()  # doctest: +SKIP
    >>> cells.data.shape  # doctest: +SKIP
    (700, 50)
    >>> populations = cell_type_populations(cells.cell_type, "CD14+ Monocyte")  # doctest: +SKIP
    >>> X, y, importance = make_bags_from(cells.data, populations, "mil", n_bags=100,
    ...                                   bag_size=20, random_state=0)  # doctest: +SKIP
    """
    import os

    if representation not in _PBMC_REPRESENTATIONS:
        raise ValueError(f"representation must be one of {_PBMC_REPRESENTATIONS}, got {representation!r}.")
    try:
        import h5py
    except ImportError as error:
        raise ImportError(
            f"load_pbmc_cells() reads the .h5ad file with h5py, which is not installed. "
            f"Install it with {_CELLS_EXTRA}."
        ) from error
    path = _pbmc_path_in_scanpy() if path is None else os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such .h5ad file: {path!r}.")

    with h5py.File(path, "r") as f:
        if "obs" not in f:
            raise ValueError(f"{path!r} is not an .h5ad file of cells: it has no 'obs' table.")
        cell_type = _h5ad_categorical(f, _PBMC_LABELS)
        if cell_type is None:
            raise ValueError(f"{path!r} has no cell-type column {_PBMC_LABELS!r} in 'obs'.")
        if representation == "pca":
            data = _h5ad_pca(f)
            if data is None:
                raise ValueError(f"{path!r} has no principal components (obsm['X_pca']); use representation='genes'.")
            feature_names = np.array([f"PC{i + 1}" for i in range(data.shape[1])])
        else:
            if "X" not in f:
                raise ValueError(f"{path!r} has no expression matrix 'X'; use representation='pca'.")
            data = _h5ad_matrix(f["X"])
            feature_names = _h5ad_index(f, "var")
        cell_names = _h5ad_index(f, "obs")

    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim != 2 or len(data) != len(cell_type):
        raise ValueError(
            f"{path!r}: the {representation!r} matrix has shape {data.shape}, but there are "
            f"{len(cell_type)} cell types."
        )
    if feature_names is None or len(feature_names) != data.shape[1]:
        feature_names = np.array([f"x{i}" for i in range(data.shape[1])])

    from sklearn.utils import Bunch

    types, counts = np.unique(cell_type, return_counts=True)
    order = np.lexsort((types, -counts))
    descr = (
        "PBMC 68k, reduced (10x Genomics; Zheng et al., 2017), as bundled with scanpy "
        "(scanpy.datasets.pbmc68k_reduced).\n"
        f"{len(data)} cells x {data.shape[1]} features ({representation}); read from {path}.\n"
        f"Cell types ({_PBMC_LABELS}, assigned by correlation with purified populations): "
        + ", ".join(f"{types[i] or '(missing)'} {counts[i]}" for i in order)
        + "."
    )
    return Bunch(data=data, cell_type=cell_type, feature_names=feature_names, cell_names=cell_names,
                 representation=representation, DESCR=descr)


def cell_type_populations(cell_type, population_1, population_2=None):
    """Populations 0/1/2 from cell types, for :func:`make_bags_from`.

    Parameters
    ----------
    cell_type : array-like of str of shape (n_cells,)
        The cell type of every cell, e.g. ``load_pbmc_cells().cell_type``.
    population_1 : str or sequence of str
        The cell type(s) of population 1, the one every problem decides on.
    population_2 : str or sequence of str, default=None
        The cell type(s) of population 2, needed by ``"and"`` and ``"xor"``.
        Every other cell is population 0.

    Returns
    -------
    populations : ndarray of int of shape (n_cells,)

    Raises
    ------
    ValueError
        If a cell type is not in ``cell_type`` (the message lists the known
        ones), or is given for both populations.

    Examples
    --------
    >>> from setlearn.datasets import cell_type_populations
    >>> cell_type = ["B", "T", "NK", "B", "Monocyte"]
    >>> cell_type_populations(cell_type, "B", population_2=["NK", "Monocyte"]).tolist()
    [1, 0, 2, 1, 2]
    """
    cell_type = np.asarray(cell_type)
    if cell_type.ndim != 1:
        raise ValueError(f"cell_type must be a 1-D array with one cell type per cell, got shape {cell_type.shape}.")
    cell_type = cell_type.astype(str)
    known = np.unique(cell_type).tolist()
    populations = np.zeros(len(cell_type), dtype=np.int64)
    seen = {}
    for pop, chosen in ((1, population_1), (2, population_2)):
        if chosen is None:
            if pop == 1:
                raise ValueError("population_1 must name at least one cell type.")
            continue
        chosen = [chosen] if isinstance(chosen, str) else list(chosen)
        if not chosen:
            raise ValueError(f"population_{pop} must name at least one cell type, got an empty list.")
        for name in chosen:
            if not isinstance(name, str) or name not in known:
                raise ValueError(
                    f"Unknown cell type {name!r} for population {pop}. Known cell types: "
                    f"{', '.join(map(repr, known))}."
                )
            if name in seen:
                raise ValueError(
                    f"Cell type {name!r} is given for population {seen[name]} and population {pop}; "
                    f"each cell type may belong to one population."
                )
            seen[name] = pop
        populations[np.isin(cell_type, chosen)] = pop
    return populations
