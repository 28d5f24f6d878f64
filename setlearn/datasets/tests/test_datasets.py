"""Tests for setlearn.datasets."""

import numpy as np
import pytest

from setlearn.datasets import (
    PROBLEMS,
    Composition,
    Problem,
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
    with pytest.raises(ValueError, match="'random_state' parameter of make_bags must be None, an instance of 'int'"):
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


@pytest.mark.parametrize("composition", ["balanced", "study", "renormalised"])
def test_and_xor_negative_compositions_in_documented_proportions(composition):
    _, y, _, pops = _small("and", n_bags=600, bag_size=20, composition=composition)
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 0]
    for kind in [(True, False), (False, True), (False, False)]:
        assert kinds.count(kind) == 100
    _, y, _, pops = _small("xor", n_bags=600, bag_size=20, composition=composition)
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 0]
    assert kinds.count((True, True)) == kinds.count((False, False)) == 150
    kinds = [tuple(_counts(p)[1:] > 0) for p, label in zip(pops, y) if label == 1]
    assert kinds.count((True, False)) == kinds.count((False, True)) == 150


def test_independent_presence_patterns_are_those_of_independent_presence():
    # AND: p = sqrt(1/2), so negatives are "only 1" : "only 2" : "neither" as
    # p(1-p) : (1-p)p : (1-p)^2; XOR: p = 1/2, every pattern a quarter.
    p = np.sqrt(0.5)
    _, y, _, pops = _small("and", n_bags=2000, bag_size=20)
    kinds = [tuple(_counts(pop)[1:] > 0) for pop, label in zip(pops, y) if label == 0]
    neg = p * (1 - p) * 2 + (1 - p) ** 2
    assert abs(kinds.count((True, False)) - 1000 * p * (1 - p) / neg) <= 1
    assert abs(kinds.count((False, False)) - 1000 * (1 - p) ** 2 / neg) <= 1
    assert y.sum() == 1000 and all(tuple(_counts(pop)[1:] > 0) == (True, True) for pop, label in zip(pops, y) if label)
    _, y, _, pops = _small("xor", n_bags=2000, bag_size=20)
    kinds = [(label, tuple(_counts(pop)[1:] > 0)) for pop, label in zip(pops, y)]
    for kind in [(0, (True, True)), (0, (False, False)), (1, (True, False)), (1, (False, True))]:
        assert kinds.count(kind) == 500


@pytest.mark.parametrize("composition", ["independent", "balanced", "study", "renormalised"])
def test_xor_and_and_are_different_problems(composition):
    # The study's third problem exists: XOR negatives hold "neither" bags, which
    # are AND negatives too, while AND positives ("both") are XOR negatives.
    _, y_and, _, pops_and = _small("and", n_bags=400, bag_size=30, composition=composition)
    _, y_xor, _, pops_xor = _small("xor", n_bags=400, bag_size=30, composition=composition)
    kinds_and = {(label, tuple(_counts(p)[1:] > 0)) for p, label in zip(pops_and, y_and)}
    kinds_xor = {(label, tuple(_counts(p)[1:] > 0)) for p, label in zip(pops_xor, y_xor)}
    assert (0, (False, False)) in kinds_xor and (0, (False, False)) in kinds_and
    assert kinds_and == {(1, (True, True)), (0, (True, False)), (0, (False, True)), (0, (False, False))}
    assert kinds_xor == {(0, (True, True)), (1, (True, False)), (1, (False, True)), (0, (False, False))}
    # Swapping AND's labels does not give XOR: AND's "neither" bags would be positive.
    assert {(1 - label, kind) for label, kind in kinds_and} != kinds_xor


def test_independent_counts_do_not_depend_on_the_label_given_presence():
    from scipy.stats import ks_2samp

    _, y, _, pops = _small("and", n_bags=3000, bag_size=250)
    counts = np.array([_counts(p) for p in pops])
    # Population 0's count: one distribution in both classes.
    assert ks_2samp(counts[y == 1, 0], counts[y == 0, 0]).pvalue > 0.01
    # Population 1's count where it is present: the same in positives and "only 1" negatives.
    held = counts[:, 1] > 0
    assert ks_2samp(counts[held & (y == 1), 1], counts[held & (y == 0), 1]).pvalue > 0.01


@pytest.mark.parametrize("problem", ["mil", "and", "xor", "threshold"])
@pytest.mark.parametrize("bag_size", [250, (100, 200)])
def test_independent_bag_size_is_the_mean(problem, bag_size):
    X, y, _, pops = _small(problem, n_bags=2000, bag_size=bag_size)
    sizes = np.array([len(b) for b in X])
    mean = np.mean(bag_size)
    assert abs(sizes.mean() - mean) < 0.03 * mean and sizes.min() >= 1 and len(np.unique(sizes)) > 20


def test_independent_bags_hold_at_least_one_instance():
    X, y, _, pops = _small("and", n_bags=500, bag_size=2)
    assert min(len(b) for b in X) >= 1
    assert all(RULES["and"](_counts(p), None) == bool(label) for p, label in zip(pops, y))


@pytest.mark.parametrize("problem,witness_rate", [("mil", 0.1), ("and", 0.1), ("xor", 0.05), ("mil", 0.02)])
def test_independent_witness_rate_is_the_mean_share_in_positive_bags(problem, witness_rate):
    _, y, imp, _ = _small(problem, n_bags=2000, bag_size=250, witness_rate=witness_rate)
    share = np.mean([i.mean() for i, label in zip(imp, y) if label])
    assert abs(share - witness_rate) < 0.1 * witness_rate


def test_population0_is_a_deprecated_alias_of_study():
    with pytest.warns(FutureWarning, match="now called 'study'"):
        old = make_bags("and", n_bags=30, bag_size=20, composition="population0", random_state=0)
    new = make_bags("and", n_bags=30, bag_size=20, composition="study", random_state=0)
    assert all(np.array_equal(a, b) for a, b in zip(old[0], new[0]))


def _share_of_zero(problem, **kw):
    _, y, _, pops = _small(problem, n_bags=1000, bag_size=250, composition="balanced", **kw)
    # Bags that hold a deciding population ("neither" bags are all population 0).
    held = np.array([(p > 0).any() for p in pops])
    return np.array([np.mean(p == 0) for p in pops])[held], y[held]


@pytest.mark.parametrize("problem", ["and", "xor"])
def test_balanced_population_zero_share_has_one_distribution_in_both_classes(problem):
    from scipy.stats import ks_2samp

    share, y = _share_of_zero(problem)
    # Same rate (0.4) and the same binomial spread in both classes, among the bags
    # that hold a deciding population.
    assert abs(share[y == 1].mean() - 0.4) < 0.01 and abs(share[y == 0].mean() - 0.4) < 0.01
    assert ks_2samp(share[y == 1], share[y == 0]).pvalue > 0.01
    share, y = _share_of_zero(problem, witness_rate=0.05)
    assert np.unique(share).tolist() == [1 - 13 / 250]


@pytest.mark.parametrize("problem,composition,expected", [
    # population 0's mean share in negative bags, by the deciding populations they hold
    ("and", "study", {(1, 0): 0.7, (0, 1): 0.7, (0, 0): 1.0}),
    ("and", "renormalised", {(1, 0): 0.4 / 0.7, (0, 1): 0.4 / 0.7, (0, 0): 1.0}),
    ("xor", "study", {(1, 1): 0.4, (0, 0): 1.0}),
    ("xor", "renormalised", {(1, 1): 0.4, (0, 0): 1.0}),
])
def test_legacy_compositions_keep_the_population_zero_shortcut(problem, composition, expected):
    _, y, _, pops = _small(problem, n_bags=600, bag_size=250, composition=composition)
    negatives = [_counts(p) / len(p) for p, label in zip(pops, y) if label == 0]
    for kind, share in expected.items():
        held = [c[0] for c in negatives if tuple((c[1:] > 0).astype(int)) == kind]
        assert abs(np.mean(held) - share) < 0.01


def test_renormalised_rates_are_conditioned_on_absence():
    # An "only 1" AND negative: populations 0 and 1 keep their 4:3 ratio.
    _, y, _, pops = _small("and", n_bags=600, bag_size=200, composition="renormalised")
    only1 = [_counts(p) for p, label in zip(pops, y) if label == 0 and _counts(p)[1] > 0]
    assert abs(np.mean([c[1] / c.sum() for c in only1]) - 0.3 / 0.7) < 0.02


def test_balanced_hands_a_left_out_rate_to_the_other_deciding_population():
    _, y, _, pops = _small("and", n_bags=600, bag_size=200, composition="balanced")
    only1 = [_counts(p) for p, label in zip(pops, y) if label == 0 and _counts(p)[1] > 0]
    assert abs(np.mean([c[1] / c.sum() for c in only1]) - 0.6) < 0.02


def test_mil_does_not_depend_on_the_composition():
    outputs = [make_bags("mil", n_bags=20, bag_size=(5, 30), random_state=3, composition=c)
               for c in ("balanced", "renormalised", "study")]
    for other in outputs[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(outputs[0][0], other[0]))
        assert np.array_equal(outputs[0][1], other[1])


@pytest.mark.parametrize("witness_rate,digest", [
    (None, "ec40bcedaa1b06f58b644fbc65266595107b2cab8eb2bc4c00bac160f6230e0a"),
    (0.3, "da786267d43dcfaa5e4611a7dc1e1e90c91b056e370e20290d2659298963d648"),
])
def test_mil_bags_are_bit_identical_to_before_compositions(witness_rate, digest):
    # Digests of make_bags("mil") output taken before compositions existed: MIL
    # runs started before then must stay comparable with later ones.
    import hashlib

    X, y, imp = make_bags("mil", n_bags=5, bag_size=(5, 9), witness_rate=witness_rate, random_state=0,
                          composition="balanced")
    data = np.concatenate(X).tobytes() + np.concatenate(imp).tobytes() + y.tobytes()
    assert hashlib.sha256(data).hexdigest() == digest


def test_tiny_bags_still_satisfy_the_rule():
    # Bags of 2 force one instance of each population into positive AND bags.
    _, y, _, pops = _small("and", n_bags=100, bag_size=2, composition="balanced")
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
    X, y, _, _ = _small("mil", n_bags=400, bag_size=(5, 100), positive_fraction=fraction, composition="balanced")
    assert y.sum() == round(fraction * 400)
    for problem in ("mil", "and", "xor"):
        assert _small(problem, n_bags=400, positive_fraction=fraction)[1].sum() == round(fraction * 400)
    if 0 < fraction < 1:
        sizes = np.array([len(b) for b in X])
        assert abs(sizes[y == 1].mean() - sizes[y == 0].mean()) < 10


def test_bag_sizes_int_and_inclusive_range():
    X, *_ = _small(n_bags=50, bag_size=7, composition="balanced")
    assert {len(b) for b in X} == {7}
    X, *_ = _small(n_bags=400, bag_size=(3, 6), composition="balanced")
    sizes = np.array([len(b) for b in X])
    assert set(sizes) == {3, 4, 5, 6}
    assert np.bincount(sizes)[3:].min() > 60


@pytest.mark.parametrize("composition,problem,probabilities,expected", [
    ("balanced", "mil", None, 0.5),
    ("balanced", "mil", [0.9, 0.1], 0.1),
    ("balanced", "and", None, 0.6),
    # balanced: a positive XOR bag holds one deciding population at 0.3 + 0.3
    ("balanced", "xor", None, 0.6),
    ("independent", "mil", [0.9, 0.1], 0.1),
    ("independent", "and", None, 0.6),
    # independent: a positive XOR bag holds one deciding population, 0.3 against 0.4
    ("independent", "xor", None, 0.3 / 0.7),
])
def test_probabilities_set_population_rates(composition, problem, probabilities, expected):
    _, y, imp, _ = _small(problem, n_bags=400, bag_size=100, probabilities=probabilities, composition=composition)
    rate = np.mean([i.mean() for i, label in zip(imp, y) if label])
    assert abs(rate - expected) < 0.02


def test_left_out_population_rate_goes_to_population_zero():
    # An "only 1" AND negative keeps population 1 at its rate (0.3), not renormalised.
    _, y, _, pops = _small("and", n_bags=600, bag_size=200, composition="study")
    only1 = [_counts(p) for p, label in zip(pops, y) if label == 0 and _counts(p)[1] > 0]
    assert abs(np.mean([c[1] / c.sum() for c in only1]) - 0.3) < 0.02


@pytest.mark.parametrize("problem", sorted(RULES))
@pytest.mark.parametrize("witness_rate", [0.02, 0.1, 0.4])
def test_witness_rate_is_exact_in_positive_bags(problem, witness_rate):
    X, y, imp, pops = _small(problem, n_bags=100, bag_size=(50, 150), witness_rate=witness_rate, k=2
                             if problem == "threshold" else None, composition="balanced")
    minimum = {"mil": 1, "and": 2, "xor": 1, "threshold": 2}[problem]
    for i, label in zip(imp, y):
        if label:
            expected = max(minimum, witness_rate * len(i))
            assert abs(i.sum() - expected) <= 1
    for label, pop in zip(y, pops):
        assert RULES[problem](_counts(pop), 2) == bool(label)


def test_witness_rate_keeps_population_rates_equal_across_bag_kinds():
    _, y, _, pops = _small("xor", n_bags=200, bag_size=100, witness_rate=0.2, composition="study")
    for label, pop in zip(y, pops):
        c = _counts(pop)
        assert set(c[1:]) <= {0, 20}
    _, y, _, pops = _small("and", n_bags=200, bag_size=100, witness_rate=0.2, composition="study")
    for label, pop in zip(y, pops):
        assert set(_counts(pop)[1:]) <= {0, 10}


@pytest.mark.parametrize("problem", ["and", "xor"])
@pytest.mark.parametrize("composition", ["balanced", "renormalised", "study"])
def test_witness_rate_is_exact_in_positive_bags_for_every_composition(problem, composition):
    _, y, imp, pops = _small(problem, n_bags=100, bag_size=(50, 150), witness_rate=0.1, composition=composition)
    for i, label in zip(imp, y):
        if label:
            assert abs(i.sum() - max(2 if problem == "and" else 1, 0.1 * len(i))) <= 1
    for label, pop in zip(y, pops):
        assert RULES[problem](_counts(pop), None) == bool(label)


# ------------------------------------------------------------------ make_bags_from


def test_make_bags_from_any_pool():
    rng = np.random.default_rng(0)
    instances = rng.normal(size=(90, 3, 2))
    populations = np.repeat([0, 1, 2], 30)
    X, y, imp, pops = make_bags_from(instances, populations, "and", n_bags=30, bag_size=10,
                                     random_state=0, return_populations=True)
    for bag, pop in zip(X, pops):
        assert bag.shape[1:] == (3, 2)
        # Every instance comes from the pool, with the population it has there.
        idx = [np.flatnonzero((instances.astype(np.float32) == x).all(axis=(1, 2)))[0] for x in bag]
        assert np.array_equal(populations[idx], pop)


def test_make_bags_from_without_replacement_uses_each_instance_once():
    instances = np.arange(400, dtype=float).reshape(-1, 1)
    populations = np.repeat([0, 1], 200)
    for composition in ("independent", "balanced"):
        X, *_ = make_bags_from(instances, populations, n_bags=10, bag_size=20, replace=False, random_state=0,
                               composition=composition)
        values = np.concatenate(X).ravel()
        assert len(np.unique(values)) == len(values)
    assert len(values) == 200


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
    (dict(modality="minst"), r"Unknown modality 'minst'.*'gaussian', 'digits', 'mnist'"),
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
    (dict(problem="threshold", k=0), r"'k' parameter of make_bags must be an int in the range \[1, inf\) or None"),
    (dict(problem="mil", k=3), r"k is only used by"),
    (dict(positive_fraction=1.5), r"'positive_fraction' parameter of make_bags must be a float in the range \[0.0, 1.0\]"),
    (dict(positive_fraction=-0.1), r"'positive_fraction' parameter of make_bags must be a float in the range \[0.0, 1.0\]"),
    (dict(witness_rate=0.0), r"witness_rate must be a number in \(0, 1\]"),
    (dict(witness_rate=True), r"witness_rate must be a number in \(0, 1\]"),
    (dict(problem="xor", witness_rate=0.6, composition="study"),
     r"too large for problem 'xor'.*witness_rate <= 0.5"),
    (dict(problem="and", composition="renormalized"), r"Unknown composition 'renormalized'. Did you mean 'renormalised'"),
    (dict(problem="and", composition=None), r"Unknown composition None.*'independent', 'balanced'"),
    (dict(n_bags=0), r"'n_bags' parameter of make_bags must be an int in the range \[1, inf\)"),
    (dict(n_bags=True), r"n_bags must be a positive int \(the number of bags to make\), got True"),
    (dict(means=[[0, 0, 0, 0]]), r"at least 2 rows"),
    (dict(sigma=-1.0), r"sigma must be a positive number"),
    (dict(pool="train"), r"pool only applies to the image and cell modalities \('digits', 'mnist', 'cytof', 'cytof-lineages'\)"),
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


def test_make_bags_from_rejects_a_bool_number_of_bags():
    # Issue #22: True slipped through as an Integral and numpy raised a TypeError.
    with pytest.raises(ValueError, match=r"n_bags must be a positive int"):
        make_bags_from(np.zeros((10, 2)), np.repeat([0, 1], 5), n_bags=True, bag_size=2)


def test_study_sized_mil_bags():
    # The study's size (1,000 bags of 250 on average); its cost is not timed here: targets live in benchmarks/.
    X, y, imp = make_bags("mil", n_bags=1000, bag_size=250, random_state=0)
    assert len(X) == 1000 and X[0].shape[1:] == (4,)


# ------------------------------------------------------------------ single cells (load_pbmc_cells)

CELL_TYPES = ["CD14+ Monocyte", "CD19+ B", "Dendritic"]
# Category codes of 7 cells; -1 is a missing label.
CELL_CODES = np.array([0, 2, 1, 2, 0, 2, -1], dtype=np.int8)


def _write_h5ad(path, layout="old", n_pcs=3, n_genes=4, sparse_x=False):
    """A tiny .h5ad file: 7 cells, 3 cell types, in one of the anndata layouts.

    ``"old"`` is the layout of scanpy's ``10x_pbmc68k_reduced.h5ad`` (anndata < 0.7):
    compound ``obs``/``var``/``obsm`` datasets, category codes in ``obs`` and the
    categories in ``uns/bulk_labels_categories``. ``"0.7"`` and ``"0.8"`` are the later
    group-based layouts, in case scanpy re-saves the file.
    """
    h5py = pytest.importorskip("h5py")
    n = len(CELL_CODES)
    X = np.arange(n * n_genes, dtype=np.float32).reshape(n, n_genes) / 10
    pca = (np.arange(n * n_pcs, dtype=np.float32).reshape(n, n_pcs) - 5) / 3
    barcodes = np.array([f"CELL{i}-1".encode() for i in range(n)])
    genes = np.array([f"G{j}".encode() for j in range(n_genes)])
    with h5py.File(path, "w") as f:
        if sparse_x:
            from scipy.sparse import csr_matrix

            m = csr_matrix(X)
            g = f.create_group("X")
            g.attrs["h5sparse_format"], g.attrs["h5sparse_shape"] = "csr", np.array(X.shape)
            g["data"], g["indices"], g["indptr"] = m.data, m.indices, m.indptr
        else:
            f["X"] = X
        if layout == "old":
            obs = np.zeros(n, dtype=[("index", "S16"), ("bulk_labels", "i1"), ("n_genes", "<i8")])
            obs["index"], obs["bulk_labels"], obs["n_genes"] = barcodes, CELL_CODES, 100
            f["obs"] = obs
            var = np.zeros(n_genes, dtype=[("index", "S13"), ("means", "<f4")])
            var["index"] = genes
            f["var"] = var
            obsm = np.zeros(n, dtype=[("X_pca", "<f4", (n_pcs,)), ("X_umap", "<f8", (2,))])
            obsm["X_pca"] = pca
            f["obsm"] = obsm
            f["uns/bulk_labels_categories"] = np.array([c.encode() for c in CELL_TYPES], dtype="S28")
        else:
            string = h5py.string_dtype()
            obs, var = f.create_group("obs"), f.create_group("var")
            obs.attrs["_index"], var.attrs["_index"] = "_index", "_index"
            obs.create_dataset("_index", data=barcodes.astype(object), dtype=string)
            var.create_dataset("_index", data=genes.astype(object), dtype=string)
            if layout == "0.7":
                categories = obs.create_dataset("__categories/bulk_labels", data=CELL_TYPES, dtype=string)
                obs["bulk_labels"] = CELL_CODES
                obs["bulk_labels"].attrs["categories"] = categories.ref
            else:
                group = obs.create_group("bulk_labels")
                group.attrs["encoding-type"] = "categorical"
                group["codes"] = CELL_CODES
                group.create_dataset("categories", data=CELL_TYPES, dtype=string)
            f["obsm/X_pca"] = pca
    return X, pca


EXPECTED_CELL_TYPE = ["CD14+ Monocyte", "Dendritic", "CD19+ B", "Dendritic", "CD14+ Monocyte", "Dendritic", ""]


@pytest.mark.parametrize("layout", ["old", "0.7", "0.8"])
def test_load_pbmc_cells_by_path(tmp_path, layout):
    from setlearn.datasets import load_pbmc_cells

    path = tmp_path / "cells.h5ad"
    X, pca = _write_h5ad(path, layout)
    cells = load_pbmc_cells(path)
    assert cells.representation == "pca"
    assert cells.data.dtype == np.float32 and cells.data.shape == (7, 3)
    assert np.array_equal(cells.data, pca)
    assert cells.cell_type.dtype.kind == "U" and cells.cell_type.tolist() == EXPECTED_CELL_TYPE
    assert cells.feature_names.tolist() == ["PC1", "PC2", "PC3"]
    assert cells.cell_names.tolist() == [f"CELL{i}-1" for i in range(7)]
    assert "Dendritic 3" in cells.DESCR and "(missing) 1" in cells.DESCR
    genes = load_pbmc_cells(str(path), representation="genes")
    assert genes.data.dtype == np.float32 and np.array_equal(genes.data, X)
    assert genes.feature_names.tolist() == ["G0", "G1", "G2", "G3"]
    assert genes.cell_type.tolist() == EXPECTED_CELL_TYPE


def test_load_pbmc_cells_reads_a_sparse_expression_matrix(tmp_path):
    from setlearn.datasets import load_pbmc_cells

    X, _ = _write_h5ad(tmp_path / "cells.h5ad", sparse_x=True)
    assert np.array_equal(load_pbmc_cells(tmp_path / "cells.h5ad", representation="genes").data, X)


def test_load_pbmc_cells_refuses_a_corrupt_sparse_matrix_instead_of_crashing(tmp_path):
    import h5py

    from setlearn.datasets import load_pbmc_cells

    path = tmp_path / "cells.h5ad"
    _write_h5ad(path, sparse_x=True)
    with h5py.File(path, "r+") as f:
        indices = f["X/indices"][()]
        indices[-1] = 10_000_000  # far outside the 4 genes
        del f["X/indices"]
        f["X/indices"] = indices
    with pytest.raises(ValueError, match="The sparse matrix '/X' is corrupt.*fresh copy"):
        load_pbmc_cells(path, representation="genes")


@pytest.mark.parametrize("bad_code", [3, 99, -2])
def test_load_pbmc_cells_refuses_corrupt_category_codes(tmp_path, bad_code):
    import h5py

    from setlearn.datasets import load_pbmc_cells

    path = tmp_path / "cells.h5ad"
    _write_h5ad(path, layout="0.8")
    with h5py.File(path, "r+") as f:
        codes = f["obs/bulk_labels/codes"][()]
        codes[0] = bad_code
        del f["obs/bulk_labels/codes"]
        f["obs/bulk_labels/codes"] = codes
    with pytest.raises(ValueError, match=r"obs\['bulk_labels'\] is corrupt: 1 category codes lie outside -1"):
        load_pbmc_cells(path)


def test_cell_type_populations_map_types_to_populations():
    from setlearn.datasets import cell_type_populations

    pops = cell_type_populations(EXPECTED_CELL_TYPE, "CD14+ Monocyte", population_2="CD19+ B")
    assert pops.tolist() == [1, 0, 2, 0, 1, 0, 0]
    assert pops.dtype == np.int64
    # Several types per population; population 2 is optional.
    pops = cell_type_populations(np.array(EXPECTED_CELL_TYPE), ["CD14+ Monocyte", "CD19+ B"])
    assert pops.tolist() == [1, 0, 1, 0, 1, 0, 0]


@pytest.mark.parametrize("kwargs,match", [
    (dict(population_1="Monocyte"), r"Unknown cell type 'Monocyte' for population 1\. Known cell types: "
                                    r"'', 'CD14\+ Monocyte', 'CD19\+ B', 'Dendritic'\."),
    (dict(population_1="CD19+ B", population_2=["Dendritic", "NK"]), r"Unknown cell type 'NK' for population 2"),
    (dict(population_1="CD19+ B", population_2="CD19+ B"), r"'CD19\+ B' is given for population 1 and population 2"),
    (dict(population_1=[]), r"population_1 must name at least one cell type"),
    (dict(population_1=None), r"population_1 must name at least one cell type"),
])
def test_cell_type_populations_errors(kwargs, match):
    from setlearn.datasets import cell_type_populations

    with pytest.raises(ValueError, match=match):
        cell_type_populations(EXPECTED_CELL_TYPE, **kwargs)


def test_make_bags_from_loaded_cells(tmp_path):
    from setlearn.datasets import cell_type_populations, load_pbmc_cells

    _write_h5ad(tmp_path / "cells.h5ad")
    cells = load_pbmc_cells(tmp_path / "cells.h5ad")
    pops = cell_type_populations(cells.cell_type, "CD14+ Monocyte", population_2="CD19+ B")
    X, y, imp, bag_pops = make_bags_from(cells.data, pops, "xor", n_bags=20, bag_size=6, random_state=0,
                                         return_populations=True)
    assert len(X) == 20 and X[0].shape[1:] == (3,) and X[0].dtype == np.float32
    for bag, pop in zip(X, bag_pops):
        # Every instance is a cell of the population it is labelled with.
        rows = [np.flatnonzero((cells.data == x).all(axis=1))[0] for x in bag]
        assert np.array_equal(pops[rows], pop)
    assert all(RULES["xor"](_counts(p), None) == bool(label) for p, label in zip(bag_pops, y))


def test_load_pbmc_cells_without_scanpy_names_the_extra_and_path(monkeypatch):
    import importlib.util

    from setlearn.datasets import load_pbmc_cells

    pytest.importorskip("h5py")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "scanpy" else real_find_spec(name, *a))
    with pytest.raises(ImportError, match=r'scanpy.*not installed.*path=.*pip download scanpy.*--no-deps.*'
                                          r'pip install -c constraints.txt "\.\[cells\]"'):
        load_pbmc_cells()


def test_load_pbmc_cells_finds_the_file_in_scanpy_without_importing_it(tmp_path, monkeypatch):
    import importlib.machinery
    import importlib.util
    import sys

    from setlearn.datasets import load_pbmc_cells

    package = tmp_path / "scanpy"
    (package / "datasets").mkdir(parents=True)
    _write_h5ad(package / "datasets" / "10x_pbmc68k_reduced.h5ad")
    spec = importlib.machinery.ModuleSpec("scanpy", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: spec if name == "scanpy" else real_find_spec(name, *a))
    imported_before = "scanpy" in sys.modules
    assert load_pbmc_cells().data.shape == (7, 3)
    assert ("scanpy" in sys.modules) == imported_before  # found, not imported
    # A scanpy without the file: say where it was looked for.
    (package / "datasets" / "10x_pbmc68k_reduced.h5ad").unlink()
    with pytest.raises(FileNotFoundError, match=r"scanpy is installed.*10x_pbmc68k_reduced.h5ad.*path="):
        load_pbmc_cells()


def test_load_pbmc_cells_without_h5py_names_the_extra(tmp_path, monkeypatch):
    import sys

    from setlearn.datasets import load_pbmc_cells

    monkeypatch.setitem(sys.modules, "h5py", None)  # makes "import h5py" raise ImportError
    with pytest.raises(ImportError, match=r'h5py.*pip install -c constraints.txt "\.\[cells\]"'):
        load_pbmc_cells(tmp_path / "cells.h5ad")


def test_load_pbmc_cells_bad_input(tmp_path):
    from setlearn.datasets import load_pbmc_cells

    h5py = pytest.importorskip("h5py")
    with pytest.raises(ValueError, match=r"'representation' parameter of load_pbmc_cells must be a str among .*'pca'"):
        load_pbmc_cells(tmp_path / "cells.h5ad", representation="umap")
    with pytest.raises(FileNotFoundError, match=r"No such \.h5ad file"):
        load_pbmc_cells(tmp_path / "missing.h5ad")
    with h5py.File(tmp_path / "no_labels.h5ad", "w") as f:
        f["obs"] = np.zeros(3, dtype=[("index", "S4"), ("louvain", "i1")])
    with pytest.raises(ValueError, match=r"no cell-type column 'bulk_labels'"):
        load_pbmc_cells(tmp_path / "no_labels.h5ad")
    with h5py.File(tmp_path / "no_categories.h5ad", "w") as f:
        f["obs"] = np.zeros(3, dtype=[("index", "S4"), ("bulk_labels", "i1")])
    with pytest.raises(ValueError, match=r"no uns/bulk_labels_categories"):
        load_pbmc_cells(tmp_path / "no_categories.h5ad")


def test_load_pbmc_cells_real_file_from_scanpy():
    import importlib.util

    if importlib.util.find_spec("scanpy") is None:
        pytest.skip("scanpy (which bundles the data file) is not installed")
    pytest.importorskip("h5py")
    from setlearn.datasets import cell_type_populations, load_pbmc_cells

    cells = load_pbmc_cells()
    assert cells.data.shape == (700, 50) and cells.data.dtype == np.float32
    types, counts = np.unique(cells.cell_type, return_counts=True)
    assert dict(zip(types.tolist(), counts.tolist())) == {
        "Dendritic": 240, "CD14+ Monocyte": 129, "CD19+ B": 95, "CD4+/CD25 T Reg": 68,
        "CD8+ Cytotoxic T": 54, "CD8+/CD45RA+ Naive Cytotoxic": 43, "CD56+ NK": 31,
        "CD4+/CD45RO+ Memory": 19, "CD34+": 13, "CD4+/CD45RA+/CD25- Naive T": 8,
    }
    assert load_pbmc_cells(representation="genes").data.shape == (700, 765)
    pops = cell_type_populations(cells.cell_type, "CD14+ Monocyte", population_2="CD19+ B")
    assert np.bincount(pops).tolist() == [476, 129, 95]


def test_load_pbmc_cells_names_a_text_file_that_is_not_hdf5(tmp_path):
    pytest.importorskip("h5py")
    from setlearn.datasets import load_pbmc_cells

    path = tmp_path / "cells.h5ad"
    path.write_text("cell,bulk_labels\nc1,Dendritic\n")  # a CSV export saved under the .h5ad name
    with pytest.raises(ValueError, match=r"cells.h5ad' is not a readable .h5ad \(HDF5\) file .*text export"):
        load_pbmc_cells(path)


@pytest.mark.parametrize("instances", [
    [[1.0, 2.0], [3.0]] * 10,  # ragged rows
    [np.zeros((2, 2)), np.zeros((3, 2))] * 10,  # instances of different shapes
    np.array([["a", "b"]] * 20),  # text
    np.array([{"x": 1}, {"x": 2}] * 10, dtype=object).reshape(20, 1),  # objects
], ids=["ragged", "shapes", "strings", "objects"])
def test_a_pool_that_is_not_one_numeric_array_says_what_to_fix(instances):
    from setlearn.datasets import make_bags_from

    with pytest.raises(ValueError, match=r"instances must be one numeric array of shape \(n_instances, "
                                         r"\*instance_shape\).*Pad or crop ragged instances, and encode text"):
        make_bags_from(instances, [0, 1] * 10, "mil", n_bags=4, bag_size=3, random_state=0)
