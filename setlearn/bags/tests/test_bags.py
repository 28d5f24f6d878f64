import numpy as np
import pytest
import scipy.sparse as sp
import torch

from setlearn.bags import (
    PaddedBags,
    check_bag_labels,
    check_bags,
    check_instance_values,
    size_bucketed_batches,
    distinct_instances,
    max_padded_elements,
)


def test_check_bags_accepts_every_layout():
    rng = np.random.default_rng(0)
    ragged = [rng.normal(size=(n, 3)) for n in (2, 5, 1)]
    for X in (ragged, tuple(ragged), np.array(ragged, dtype=object)):
        bags = check_bags(X)
        assert [b.shape for b in bags] == [(2, 3), (5, 3), (1, 3)]
        assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in bags)
    cube = rng.normal(size=(4, 6, 8, 8))
    assert [b.shape for b in check_bags(cube)] == [(6, 8, 8)] * 4


@pytest.mark.parametrize(
    "X, match",
    [
        ([], "no bags"),
        ([np.zeros((0, 3))], "Bag 0 of X is empty"),
        ([np.zeros((2, 3)), np.zeros((2, 4))], r"Bag 1 .* shape \(4,\).* bag 0 .* \(3,\)"),
        ([np.zeros((2, 3)), np.array([[0, np.nan, 0]])], "Bag 1 of X contains NaN or infinity"),
        ([np.array([[np.inf, 0, 0]])], "NaN or infinity"),
        ([np.zeros(3)], r"reshape\(-1, 1\)"),
        (np.zeros((5, 3)), "at least 3 dimensions"),
        ([["a", "b"]], "Bag 0 of X holds strings"),
        ([np.array([["1.5", "2"]])], "holds strings; bags must hold numbers"),
        ([np.array([[1.5, "2"]], dtype=object)], "holds strings"),
        ([np.ones((2, 3)) + 1j], "Complex data not supported: Bag 0 of X holds complex numbers"),
        ([np.array([[1.0, 2j]], dtype=object)], "Complex data not supported"),
        ([np.zeros((2, 0))], r"Bag 0 of X has 0 feature\(s\) \(shape=\(2, 0\)\) while a minimum of 1"),
        (np.zeros((3, 2, 0)), "every instance needs at least one value"),
        ([np.array([[1e39, 0.0]])], r"values up to 1e\+39 in magnitude, beyond float32's range"),
        ([np.array([[0.0, -1e39]])], "beyond float32's range"),
        ([[[0, 1], [0, 1, 2]]], "could not be read as a numeric array"),
        (None, "collection of bags"),
        (3.0, "collection of bags"),
    ],
)
def test_check_bags_errors_say_what_to_fix(X, match):
    with pytest.raises(ValueError, match=match):
        check_bags(X)


def test_check_bags_fitted_instance_shape():
    with pytest.raises(ValueError, match=r"fitted on instances of shape \(4,\)"):
        check_bags([np.zeros((2, 3))], instance_shape=(4,))


def test_check_bags_rejects_sparse_with_a_hint():
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        check_bags(sp.csr_matrix(np.eye(3)))


def test_check_bag_labels():
    assert check_bag_labels(["a", "b"], 2).tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="y has 2 labels but X has 3 bags"):
        check_bag_labels([0, 1], 3)
    with pytest.raises(ValueError, match="Unknown label type"):
        check_bag_labels([0.5, 1.5], 2)


def test_check_instance_values():
    out = check_instance_values([[0, 1], np.array([1])], [2, 1], name="importance")
    assert [v.tolist() for v in out] == [[0.0, 1.0], [1.0]]
    with pytest.raises(ValueError, match="importance has 1 entries but there are 2 bags"):
        check_instance_values([[0, 1]], [2, 1], name="importance")
    with pytest.raises(ValueError, match="Entry 1 of importance has 2 values but bag 1 has 1"):
        check_instance_values([[0, 1], [1, 0]], [2, 1], name="importance")
    # The first entry that is not finite is named (all entries are tested at once).
    with pytest.raises(ValueError, match="Entry 2 of attention contains NaN or infinity"):
        check_instance_values([[0.5], [0.5, 0.5], [0.1, np.inf], [np.nan]], None, name="attention")


def test_size_bucketed_batches_cover_all_bags_once_and_group_sizes():
    sizes = np.random.default_rng(0).integers(1, 100, size=103)
    batches = size_bucketed_batches(sizes, 10, shuffle=True, random_state=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    # Sorted by size before cutting: batches do not overlap in size range.
    ranges = sorted((sizes[b].min(), sizes[b].max()) for b in batches)
    assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(ranges, ranges[1:]))
    again = size_bucketed_batches(sizes, 10, shuffle=True, random_state=0)
    assert all((a == b).all() for a, b in zip(batches, again))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        size_bucketed_batches(sizes, 0)


def _slots(x, index):
    """The padded bags ``(B, N, ...)`` a batch stands for, whatever its storage."""
    return x if index is None else x[index]


@pytest.mark.parametrize(
    "sizes, distinct, storage",
    [((4, 4, 4), False, "padded"), ((1, 2, 50), False, "flat"), ((1, 2, 50), True, "distinct")],
)
def test_padded_bags_batches_hold_the_bags(sizes, distinct, storage):
    rng = np.random.default_rng(0)
    bags = [rng.normal(size=(n, 3)).astype(np.float32) for n in sizes]
    data = PaddedBags(bags, distinct=distinct)
    x, mask, index = data.batch(np.array([2, 0]))
    assert (index is None) == (storage == "padded")
    assert (data.n_distinct is not None) == (storage == "distinct")
    slots = _slots(x, index)
    assert slots.shape == (2, max(sizes[2], sizes[0]), 3)
    for row, bag in zip(range(2), (bags[2], bags[0])):
        assert mask[row].sum() == len(bag)
        assert torch.equal(slots[row, : len(bag)], torch.from_numpy(bag))
        assert torch.isfinite(slots[row]).all()
    # Only real instances travel: no padding rows in the flat and table layouts.
    if storage != "padded":
        assert len(x) == sizes[2] + sizes[0]


def test_bags_from_a_pool_are_stored_once_per_distinct_instance():
    rng = np.random.default_rng(0)
    pool = rng.normal(size=(30, 5, 5)).astype(np.float32)
    draws = [rng.integers(0, 30, size=n) for n in rng.integers(20, 60, size=40)]
    bags = [pool[d] for d in draws]
    data = PaddedBags(bags)
    assert data.n_distinct == len(np.unique(np.concatenate(draws)))
    assert tuple(data.instances.shape) == (data.n_distinct, 5, 5)  # no copy per slot
    x, mask, index = data.batch(np.array([3, 7, 11]))
    # Each distinct instance of the batch comes once, and the slots still hold the bags.
    assert len(x) == len(np.unique(np.concatenate([draws[i] for i in (3, 7, 11)])))
    slots = _slots(x, index)
    for row, i in enumerate((3, 7, 11)):
        assert torch.equal(slots[row, : len(bags[i])], torch.from_numpy(bags[i]))
    # Nearly every instance distinct (Gaussian bags): no table.
    gaussian = [rng.normal(size=(n, 5)).astype(np.float32) for n in (10, 10, 12)]
    assert PaddedBags(gaussian).n_distinct is None


def test_distinct_instances_never_merges_different_rows(monkeypatch):
    """A hash collision is caught by the comparison of every bag with its table rows."""
    from setlearn.bags import _padding

    rng = np.random.default_rng(0)
    bags = [rng.integers(0, 3, size=(50, 2)).astype(np.float32) for _ in range(4)]
    codes, table = distinct_instances(bags)
    np.testing.assert_array_equal(table[codes], np.concatenate(bags))
    # Force every row onto one hash: the check must refuse the merge.
    monkeypatch.setattr(_padding, "_row_hashes", lambda bag, multipliers: np.zeros(len(bag), np.uint64))
    assert distinct_instances(bags) == (None, None)
    # -0.0 and 0.0 compare equal as numbers but are kept apart, bytes decide.
    monkeypatch.undo()
    codes, table = distinct_instances([np.array([[0.0], [-0.0], [0.0]], np.float32)], max_fraction=1.0)
    assert len(table) == 2


def test_batches_bound_padding_around_one_giant_bag():
    """One 50,000-instance bag among small ones is batched alone, not padded into 99 small bags."""
    sizes = np.array([10] * 1999 + [50_000])
    batches = size_bucketed_batches(sizes, 100, shuffle=True, random_state=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(sizes)))
    for batch in batches:
        assert len(batch) <= 100
        assert len(batch) * sizes[batch].max() <= 2 * sizes[batch].sum()
    assert max_padded_elements(sizes, 100) == 50_000
    # Bags of equal size keep full batches.
    assert [len(b) for b in size_bucketed_batches([7] * 250, 100)] == [100, 100, 50]


def test_scipy_dok_sparse_input_gets_the_sparse_error():
    # DOK is a dict subclass: it must not be reported as "a dict, not a collection of bags".
    with pytest.raises(TypeError, match="Sparse input is not supported"):
        check_bags(sp.dok_matrix((3, 4)))


def test_zero_feature_bags_are_refused_before_training():
    from setlearn import AttentionMILClassifier

    X = [np.zeros((3, 0))] * 4
    with pytest.raises(ValueError, match="while a minimum of 1 is required"):
        AttentionMILClassifier(max_epochs=1).fit(X, [0, 1, 0, 1])
