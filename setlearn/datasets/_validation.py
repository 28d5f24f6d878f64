"""Argument checks shared by the dataset makers."""

import difflib
import warnings
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from ._problems import COMPOSITIONS, DEPRECATED_COMPOSITIONS, PROBLEMS, Problem, _N_POP


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
        problem = replace(problem, k=int(k))
    return problem


def _check_n_bags(n_bags):
    # validate_params lets a bool through as an Integral; numpy then failed with a TypeError.
    if isinstance(n_bags, bool):
        raise ValueError(f"n_bags must be a positive int (the number of bags to make), got {n_bags!r}.")
    return int(n_bags)


def _check_composition(composition):
    if isinstance(composition, str) and composition in COMPOSITIONS:
        return composition
    if isinstance(composition, str) and composition in DEPRECATED_COMPOSITIONS:
        current = DEPRECATED_COMPOSITIONS[composition]
        warnings.warn(f"composition={composition!r} is now called {current!r} (the study's most likely "
                      f"design); the old name will be removed in a future version.", FutureWarning, stacklevel=3)
        return current
    close = difflib.get_close_matches(str(composition), list(COMPOSITIONS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"Unknown composition {composition!r}.{hint} Known compositions: "
        f"{', '.join(map(repr, COMPOSITIONS))} (see setlearn.datasets.COMPOSITIONS)."
    )


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


def _population_rates(problem, probabilities, witness_rate, composition="study"):
    """Base rate of every non-zero population (index 1, 2); see ``_composition_rates``.

    Under ``"independent"`` these are the expected counts of populations 1, 2 relative
    to ``_population0_rate`` in a bag that holds them.
    """
    p = np.zeros(_N_POP)
    p[: len(probabilities)] = probabilities
    if witness_rate is None:
        return p[1:]
    if isinstance(witness_rate, bool) or not isinstance(witness_rate, Real) or not 0 < witness_rate <= 1:
        raise ValueError(f"witness_rate must be a number in (0, 1], got {witness_rate!r}.")
    rates = np.zeros(_N_POP)
    important = list(problem.important)
    if composition in ("study", "independent"):
        for j in important:
            # A population gets, in every bag it appears in, the rate that makes the
            # important instances of the first positive composition holding it sum
            # to witness_rate; the probabilities' ratio splits it within that group.
            comp = next(c for c in problem.positive if j in c.present)
            group = p[[i for i in comp.present if i in problem.important]]
            rates[j] = witness_rate * (p[j] / group.sum() if group.sum() > 0 else 1 / len(group))
    else:
        # One scale for all deciding populations, split by the probabilities' ratio.
        share = p[important] / p[important].sum() if p[important].sum() > 0 else np.full(len(important), 1 / len(important))
        scale = witness_rate
        if composition == "renormalised":
            # The first positive composition, renormalised, must hold witness_rate:
            # scale * s / (1 - scale + scale * s) = witness_rate, s its share of the scale.
            comp = problem.positive[0]
            s = share[[important.index(i) for i in comp.present if i in problem.important]].sum()
            scale = witness_rate / (s * (1 - witness_rate) + witness_rate)
        rates[important] = scale * share
    if composition == "independent":
        # Counts are drawn independently given presence, so no bag kind can overflow.
        return rates[1:]
    for comp in problem.positive + problem.negative:
        total = _composition_rates(problem, comp, rates[1:], composition).sum() if comp.present else 0.0
        if total > 1 + 1e-12:
            raise ValueError(
                f"witness_rate={witness_rate} is too large for problem {problem.name!r}: its "
                f"{comp.name!r} bags would need {total:g} of their instances from populations "
                f"{comp.present}. Use witness_rate <= {witness_rate / total:g}."
            )
    return rates[1:]


def _composition_rates(problem, comp, rates, composition):
    """Rates of the populations ``comp.present`` holds, in bags built by ``comp``.

    ``rates`` are the base rates of populations 1, 2 (population 0's base rate is
    the rest); population 0 fills whatever the returned rates leave.
    """
    present = np.asarray(comp.present, dtype=np.int64)
    held = rates[present - 1].astype(float) if len(present) else np.zeros(0)
    if composition in ("study", "independent") or not len(present):
        return held
    if composition == "renormalised":
        base_zero = max(0.0, 1.0 - rates.sum())
        total = base_zero + held.sum()
        return held / total if total > 0 else held
    # "balanced": the rates of left-out deciding populations go to the deciding
    # populations the bag holds, in proportion to their rates, so population 0
    # keeps its base rate.
    deciding = np.isin(present, problem.important)
    left_out = sum(rates[j - 1] for j in problem.important if j not in comp.present)
    if deciding.any() and left_out > 0:
        weights = held[deciding] if held[deciding].sum() > 0 else np.ones(deciding.sum())
        held[deciding] += left_out * weights / weights.sum()
    return held


def _population0_rate(probabilities, witness_rate):
    """Expected count of population 0 relative to the rates of ``_population_rates``
    under ``"independent"``: its probability, or ``1 - witness_rate``."""
    return float(probabilities[0]) if witness_rate is None else 1.0 - witness_rate


def _presence_pattern_weight(problem, comp, presence):
    """Probability of ``comp``'s pattern of deciding populations when every deciding
    population is present independently with probability ``presence``."""
    held = sum(j in comp.present for j in problem.important)
    return presence ** held * (1.0 - presence) ** (len(problem.important) - held)


def _presence_probability(problem, positive_fraction):
    """The presence probability of every deciding population under ``"independent"``.

    It makes the share of positive bags of independent presence equal to
    ``positive_fraction`` (AND: p**2, XOR: 2p(1-p), MIL: p), or as close as the
    rule allows (XOR cannot exceed 0.5); the root closest to 0.5 where two exist.
    """
    grid = np.linspace(0.0, 1.0, 100001)
    positive = sum(_presence_pattern_weight(problem, c, grid) for c in problem.positive)
    gap = np.abs(positive - positive_fraction)
    best = np.flatnonzero(gap <= gap.min() + 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def _composition_weights(problem, comps, composition, presence=None):
    """Share of its class every composition gets.

    Fixed compositions use the problems' weights; under ``"independent"`` a
    composition's weight is the probability of its presence pattern (given
    ``presence``), so the patterns of each class are those of independent presence
    conditioned on the label.
    """
    if composition == "independent":
        weights = np.array([_presence_pattern_weight(problem, c, presence) for c in comps], dtype=float)
        if weights.sum() > 0:
            return weights
    # (Also where independent presence never makes a class, e.g. AND with every bag
    # positive: then the class is empty or its weights do not matter.)
    return np.array([c.weight for c in comps], dtype=float)


def _check_pool(instances, populations):
    try:
        instances = np.asarray(instances, dtype=np.float32)
    except (TypeError, ValueError) as exc:  # ragged rows, strings, objects
        raise ValueError(
            f"instances must be one numeric array of shape (n_instances, *instance_shape): every "
            f"instance of the same shape, numbers only ({exc}). Pad or crop ragged instances, and "
            f"encode text as numbers first."
        ) from None
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
