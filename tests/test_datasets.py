"""Tests for setlearn.datasets."""

import numpy as np
import pytest

from setlearn.datasets import (
    PROBLEMS,
    Composition,
    Problem,
    load_digits_pool,
    make_bags,
    make_bags_from,
)

# The rules of the study, written independently of the module's Problem objects.
RULES = {
    "mil": lambda c, k: c[1] > 0,
    "and": lambda c, k: c[1] > 0 and c[2] > 0,
    "xor": lambda c, k: (c[1] > 0) != (c[2] > 0),
    "threshold": lambda c, k: c[1] >= k,
}
IMPORTANT = {"mil": {1}, "and": {1, 2}, "xor": {1, 2}, "threshold": {1}}


def _counts(pops):
    return np.bincount(pops, minlength=3)


def _small(problem="mil", **kw):
    kw.setdefault("n_bags", 60)
    kw.setdefault("bag_size", 30)
    kw.setdefault("random_state", 0)
    return make_bags(problem, return_populations=True, **kw)


# ------------------------------------------------------------------ output shape


@pytest.mark.parametrize("modality,shape", [("gaussian", (4,)), ("digits", (8, 8))])
def test_output_types_and_shapes(modality, shape):
    X, y, importance, pops = make_bags("and", modality, n_bags=12, bag_size=(3, 9), random_state=1,
                                       return_populations=True)
    assert isinstance(X, list) and len(X) == len(y) == len(importance) == len(pops) == 12
    assert y.dtype.kind == "i" and set(np.unique(y)) <= {0, 1}
    for bag, imp, pop in zip(X, importance, pops):
        assert bag.dtype == np.float32 and bag.shape[1:] == shape
        assert imp.dtype == np.int8 and len(imp) == len(pop) == len(bag)
    if modality == "digits":
        allx = np.concatenate(X)
        assert allx.min() >= 0 and allx.max() <= 1


def test_three_outputs_by_default():
    assert len(make_bags(n_bags=3, bag_size=4, random_state=0)) == 3


# ------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("modality", ["gaussian", "digits"])
def test_same_seed_same_output_other_seed_differs(modality):
    a = make_bags("xor", modality, n_bags=20, bag_size=(5, 15), random_state=3, return_populations=True)
    b = make_bags("xor", modality, n_bags=20, bag_size=(5, 15), random_state=3, return_populations=True)
    c = make_bags("xor", modality, n_bags=20, bag_size=(5, 15), random_state=4, return_populations=True)
    assert np.array_equal(a[1], b[1])
    for part in (0, 2, 3):
        assert all(np.array_equal(u, v) for u, v in zip(a[part], b[part]))
    assert not all(u.shape == v.shape and np.array_equal(u, v) for u, v in zip(a[0], c[0]))


def test_random_state_types():
    kw = dict(n_bags=5, bag_size=6)
    g1 = make_bags(random_state=np.random.default_rng(7), **kw)
    g2 = make_bags(random_state=np.random.default_rng(7), **kw)
    assert all(np.array_equal(u, v) for u, v in zip(g1[0], g2[0]))
    rs = np.random.RandomState(0)
    r1, r2 = make_bags(random_state=rs, **kw), make_bags(random_state=rs, **kw)
    assert not all(np.array_equal(u, v) for u, v in zip(r1[0], r2[0]))
    with pytest.raises(ValueError, match="random_state must be"):
        make_bags(random_state="seed", **kw)


# ------------------------------------------------------------------------ rules


@pytest.mark.parametrize("problem", sorted(RULES))
@pytest.mark.parametrize("bag_size", [40, (5, 40)])
def test_rule_holds_for_every_bag_and_importance_marks_deciding(problem, bag_size):
    X, y, importance, pops = _small(problem, n_bags=200, bag_size=bag_size)
    k = PROBLEMS[problem].k
    for label, imp, pop in zip(y, importance, pops):
        assert RULES[problem](_counts(pop), k) == bool(label)
        assert np.array_equal(imp.astype(bool), np.isin(pop, list(IMPORTANT[problem])))
    # Importance is marked in negative bags too, where they hold deciding populations.
    if problem != "mil":
        assert any(imp.any() for imp, label in zip(importance, y) if label == 0)
    # The rule object agrees with the independent rules.
    counts = np.array([_counts(p) for p in pops])
    assert np.array_equal(PROBLEMS[problem].label(counts), y)


def test_gaussian_populations_have_the_study_parameters():
    X, y, imp, pops = make_bags("xor", n_bags=200, bag_size=50, random_state=0, return_populations=True)
    allx, allp = np.concatenate(X), np.concatenate(pops)
    means = np.array([[0, 0, 0, 0], [1, 1, 1, 1], [-1, 1, 1, 1]])
    for j in range(3):
        assert np.allclose(allx[allp == j].mean(axis=0), means[j], atol=0.05)
        assert np.allclose(allx[allp == j].std(axis=0), 0.5, atol=0.05)


def test_custom_means_and_sigma():
    X, y, imp, pops = make_bags("mil", n_bags=50, bag_size=40, means=[[0, 0], [5, 5]], sigma=[0.1, 2.0],
                                random_state=0, return_populations=True)
    allx, allp = np.concatenate(X), np.concatenate(pops)
    assert X[0].shape[1] == 2
    assert np.allclose(allx[allp == 1].mean(axis=0), 5, atol=0.3)
    assert np.allclose(allx[allp == 0].std(axis=0), 0.1, atol=0.02)


def test_gaussian_instances_are_fresh():
    X, *_ = make_bags("mil", n_bags=100, bag_size=50, random_state=0)
    allx = np.concatenate(X)
    assert len(np.unique(allx, axis=0)) == len(allx)


def test_threshold_negatives_can_hold_population_one():
    X, y, imp, pops = _small("threshold", n_bags=300, bag_size=20, k=4)
    neg = [_counts(p)[1] for p, label in zip(pops, y) if label == 0]
    assert max(neg) == 3 and min(neg) == 0
    assert all(_counts(p)[1] >= 4 for p, label in zip(pops, y) if label == 1)


def test_and_xor_negative_compositions_in_documented_proportions():
    _, y, _, pops = _small("and", n_bags=600, bag_size=20)
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 0]
    for kind in [(True, False), (False, True), (False, False)]:
        assert kinds.count(kind) == 100
    _, y, _, pops = _small("xor", n_bags=600, bag_size=20)
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 0]
    assert kinds.count((True, True)) == kinds.count((False, False)) == 150
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 1]
    assert kinds.count((True, False)) == kinds.count((False, True)) == 150


def test_tiny_bags_still_satisfy_the_rule():
    # Bags of 2 force one instance of each population into positive AND bags.
    _, y, _, pops = _small("and", n_bags=100, bag_size=2)
    for label, pop in zip(y, pops):
        assert RULES["and"](_counts(pop), None) == bool(label)
        if label:
            assert sorted(pop) == [1, 2]


def test_instances_are_not_sorted_by_population():
    _, y, _, pops = _small("xor", n_bags=100, bag_size=50)
    unsorted = [not (np.all(np.diff(p) >= 0) or np.all(np.diff(p) <= 0)) for p in pops if len(np.unique(p)) > 1]
    assert all(unsorted)
    # The deciding instances are spread over the bag, not at its start or end.
    positions = np.concatenate([np.flatnonzero(p > 0) / (len(p) - 1) for p in pops])
    assert abs(positions.mean() - 0.5) < 0.05


# ----------------------------------------------------------------- controls


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 1.0])
def test_positive_fraction_is_exact_and_independent_of_bag_size(fraction):
    X, y, _, _ = _small("mil", n_bags=400, bag_size=(5, 100), positive_fraction=fraction)
    assert y.sum() == round(fraction * 400)
    if 0 < fraction < 1:
        sizes = np.array([len(b) for b in X])
        assert abs(sizes[y == 1].mean() - sizes[y == 0].mean()) < 10


def test_bag_sizes_int_and_inclusive_range():
    X, *_ = _small(n_bags=50, bag_size=7)
    assert {len(b) for b in X} == {7}
    X, *_ = _small(n_bags=400, bag_size=(3, 6))
    sizes = np.array([len(b) for b in X])
    assert set(sizes) == {3, 4, 5, 6}
    assert np.bincount(sizes)[3:].min() > 60


@pytest.mark.parametrize("problem,probabilities,expected", [
    ("mil", None, 0.5),
    ("mil", [0.9, 0.1], 0.1),
    ("and", None, 0.6),
    ("xor", None, 0.3),
])
def test_probabilities_set_population_rates(problem, probabilities, expected):
    _, y, imp, _ = _small(problem, n_bags=400, bag_size=100, probabilities=probabilities)
    rate = np.mean([i.mean() for i, label in zip(imp, y) if label])
    assert abs(rate - expected) < 0.02


def test_left_out_population_rate_goes_to_population_zero():
    # An "only 1" AND negative keeps population 1 at its rate (0.3), not renormalised.
    _, y, _, pops = _small("and", n_bags=600, bag_size=200)
    only1 = [_counts(p) for p, label in zip(pops, y) if label == 0 and _counts(p)[1] > 0]
    assert abs(np.mean([c[1] / c.sum() for c in only1]) - 0.3) < 0.02


@pytest.mark.parametrize("problem", sorted(RULES))
@pytest.mark.parametrize("witness_rate", [0.02, 0.1, 0.4])
def test_witness_rate_is_exact_in_positive_bags(problem, witness_rate):
    X, y, imp, pops = _small(problem, n_bags=100, bag_size=(50, 150), witness_rate=witness_rate, k=2
                             if problem == "threshold" else None)
    minimum = {"mil": 1, "and": 2, "xor": 1, "threshold": 2}[problem]
    for i, label in zip(imp, y):
        if label:
            expected = max(minimum, witness_rate * len(i))
            assert abs(i.sum() - expected) <= 1
    for label, pop in zip(y, pops):
        assert RULES[problem](_counts(pop), 2) == bool(label)


def test_witness_rate_keeps_population_rates_equal_across_bag_kinds():
    _, y, _, pops = _small("xor", n_bags=200, bag_size=100, witness_rate=0.2)
    for label, pop in zip(y, pops):
        c = _counts(pop)
        assert set(c[1:]) <= {0, 20}
    _, y, _, pops = _small("and", n_bags=200, bag_size=100, witness_rate=0.2)
    for label, pop in zip(y, pops):
        assert set(_counts(pop)[1:]) <= {0, 10}


# ------------------------------------------------------------------ digits pools


def test_digit_pools_are_disjoint_and_stratified():
    train, ptrain = load_digits_pool("train")
    test, ptest = load_digits_pool("test")
    full, pall = load_digits_pool("all")
    assert len(train) + len(test) == len(full) == 1797
    assert train.shape[1:] == (8, 8) and train.dtype == np.float32
    # Stratified: population shares match the full set.
    for j in range(3):
        assert abs(np.mean(ptest == j) - np.mean(pall == j)) < 0.01
    # Population labels follow the digits: digit 3 -> 1, digit 9 -> 2.
    from sklearn.datasets import load_digits

    digits = load_digits()
    assert np.array_equal(pall, np.select([digits.target == 3, digits.target == 9], [1, 2], 0))
    # The bundled digits hold no duplicate image, so disjoint indices mean
    # disjoint images; compare the bytes to be sure.
    assert len({im.tobytes() for im in full}) == len(full)
    assert not {im.tobytes() for im in train} & {im.tobytes() for im in test}


def test_bags_from_train_and_test_pools_share_no_image():
    Xtr, *_ = make_bags("and", "digits", n_bags=50, bag_size=40, pool="train", random_state=0)
    Xte, *_ = make_bags("and", "digits", n_bags=50, bag_size=40, pool="test", random_state=1)
    train_bytes = {im.tobytes() for im in load_digits_pool("train")[0]}
    test_bytes = {im.tobytes() for im in load_digits_pool("test")[0]}
    seen_train = {im.tobytes() for bag in Xtr for im in bag}
    seen_test = {im.tobytes() for bag in Xte for im in bag}
    assert seen_train <= train_bytes and seen_test <= test_bytes
    assert seen_train and seen_test and not seen_train & seen_test


# ------------------------------------------------------------------ make_bags_from


def test_make_bags_from_any_pool():
    rng = np.random.default_rng(0)
    instances = rng.normal(size=(90, 3, 2))
    populations = np.repeat([0, 1, 2], 30)
    X, y, imp, pops = make_bags_from(instances, populations, "and", n_bags=30, bag_size=10,
                                     random_state=0, return_populations=True)
    for bag, pop in zip(X, pops):
        assert bag.shape == (10, 3, 2)
        # Every instance comes from the pool, with the population it has there.
        idx = [np.flatnonzero((instances.astype(np.float32) == x).all(axis=(1, 2)))[0] for x in bag]
        assert np.array_equal(populations[idx], pop)


def test_make_bags_from_without_replacement_uses_each_instance_once():
    instances = np.arange(400, dtype=float).reshape(-1, 1)
    populations = np.repeat([0, 1], 200)
    X, *_ = make_bags_from(instances, populations, n_bags=10, bag_size=20, replace=False, random_state=0)
    values = np.concatenate(X).ravel()
    assert len(np.unique(values)) == len(values) == 200


def test_custom_problem_registers_in_a_few_lines():
    only2 = Problem(
        name="only2", n_populations=3, important=(2,), default_probabilities=(0.5, 0.25, 0.25),
        rule=lambda c, k: c[:, 2] > 0,
        positive=(Composition("with 2", 1.0, (1, 2), at_least={2: 1}),),
        negative=(Composition("without 2", 1.0, (1,)),),
    )
    X, y, imp, pops = make_bags(only2, n_bags=40, bag_size=10, random_state=0, return_populations=True)
    for label, pop, i in zip(y, pops, imp):
        assert (2 in pop) == bool(label)
        assert np.array_equal(i.astype(bool), pop == 2)


def test_problems_pickle():
    import pickle

    for problem in PROBLEMS.values():
        assert pickle.loads(pickle.dumps(problem)).name == problem.name


# ------------------------------------------------------------------ bad parameters


@pytest.mark.parametrize("kwargs,match", [
    (dict(problem="or"), r"Unknown problem 'or'.*'and', 'mil', 'threshold', 'xor'"),
    (dict(modality="mnist"), r"Unknown modality 'mnist'.*'gaussian', 'digits'"),
    (dict(probabilities=[0.5, 0.6]), r"must sum to 1"),
    (dict(probabilities=[0.4, 0.3, 0.3]), r"must have 2 entries for problem 'mil'"),
    (dict(problem="and", probabilities=[0.5, 0.5]), r"must have 3 entries for problem 'and'"),
    (dict(probabilities=[1.5, -0.5]), r"non-negative"),
    (dict(bag_size=0), r"bag_size must be at least 1"),
    (dict(bag_size=(10, 5)), r"low > high"),
    (dict(bag_size=(1, 2, 3)), r"int or a \(low, high\) pair"),
    (dict(bag_size=2.5), r"int or a \(low, high\) pair"),
    (dict(problem="and", bag_size=1), r"too small for problem 'and'.*at least 2"),
    (dict(problem="threshold", k=20, bag_size=(10, 30)), r"k=20 is larger than the smallest bag \(10"),
    (dict(problem="threshold", k=0), r"k must be an integer >= 1"),
    (dict(problem="mil", k=3), r"k is only used by"),
    (dict(positive_fraction=1.5), r"positive_fraction must be a number in \[0, 1\]"),
    (dict(positive_fraction=-0.1), r"positive_fraction must be a number in \[0, 1\]"),
    (dict(witness_rate=0.0), r"witness_rate must be a number in \(0, 1\]"),
    (dict(witness_rate=True), r"witness_rate must be a number in \(0, 1\]"),
    (dict(problem="xor", witness_rate=0.6), r"too large for problem 'xor'.*witness_rate <= 0.5"),
    (dict(n_bags=0), r"n_bags must be an integer >= 1"),
    (dict(means=[[0, 0, 0, 0]]), r"at least 2 rows"),
    (dict(sigma=-1.0), r"sigma must be a positive number"),
    (dict(pool="train"), r"pool only applies to modality 'digits'"),
    (dict(modality="digits", pool="validation"), r"pool must be one of"),
    (dict(modality="digits", sigma=1.0), r"means and sigma only apply to modality 'gaussian'"),
])
def test_bad_parameters_say_what_to_fix(kwargs, match):
    kwargs.setdefault("n_bags", 5)
    kwargs.setdefault("bag_size", 5)
    with pytest.raises(ValueError, match=match):
        make_bags(**kwargs)


def test_pool_missing_a_needed_population():
    instances = np.zeros((20, 2))
    with pytest.raises(ValueError, match=r"0 instances of population 2.*Add instances of population 2"):
        make_bags_from(instances, np.repeat([0, 1], 10), "and", n_bags=5, bag_size=5, random_state=0)
    # Without replacement the pool must cover the demand.
    with pytest.raises(ValueError, match=r"10 instances of population 0.*use replace=True"):
        make_bags_from(instances, np.repeat([0, 1], 10), "mil", n_bags=10, bag_size=10, replace=False,
                       random_state=0)


@pytest.mark.parametrize("instances,populations,match", [
    (np.zeros(10), np.zeros(10, int), r"shape \(n_instances, \*instance_shape\)"),
    (np.zeros((10, 2)), np.zeros(9, int), r"one label per instance"),
    (np.zeros((10, 2)), np.full(10, 3), r"integers 0, 1 or 2"),
    (np.full((10, 2), np.nan), np.zeros(10, int), r"NaN"),
])
def test_bad_pools(instances, populations, match):
    with pytest.raises(ValueError, match=match):
        make_bags_from(instances, populations, n_bags=2, bag_size=2)


def test_study_sized_mil_is_fast():
    import time

    start = time.perf_counter()
    X, y, imp = make_bags("mil", n_bags=1000, bag_size=250, random_state=0)
    assert time.perf_counter() - start < 2.0  # well under a second on an idle machine
    assert len(X) == 1000 and X[0].shape == (250, 4)
