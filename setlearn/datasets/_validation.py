"""Argument checks shared by the dataset makers."""

from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from ._problems import PROBLEMS, Problem, _N_POP


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
