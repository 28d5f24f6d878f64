"""Raff & Holt's algorithmic MIL tests: seeded, shuffled, and with the shortcut reversed at test time."""

import numpy as np
import pytest

from setlearn.datasets import make_false_frequency_bags, make_multi_concept_bags, make_single_concept_bags

MAKERS = (make_single_concept_bags, make_multi_concept_bags, make_false_frequency_bags)


def _same(a, b):
    return all(len(x) == len(z) and np.array_equal(x, z) for x, z in zip(a, b))


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("split", ["train", "test"])
def test_same_seed_same_bags_different_seeds_differ(maker, split):
    X1, y1, imp1 = maker(30, split=split, random_state=3)
    X2, y2, imp2 = maker(30, split=split, random_state=3)
    assert _same(X1, X2) and np.array_equal(y1, y2) and _same(imp1, imp2)
    X3, y3, _ = maker(30, split=split, random_state=4)
    assert not _same(X1, X3) or not np.array_equal(y1, y3)
    assert y1.sum() == 15 and len(X1) == 30 and all(x.dtype == np.float32 for x in X1)
    # Bags are in random order, not positives first.
    assert not np.array_equal(y1, np.sort(y1)[::-1])


def _poisoned(bag):
    return bool((bag < -5).all(axis=1).any())


@pytest.mark.parametrize("maker", MAKERS[:2])
def test_poison_moves_from_negative_training_bags_to_positive_test_bags(maker):
    X, y, imp = maker(40, split="train", random_state=0)
    assert [_poisoned(b) for b in X] == [not label for label in y]
    X, y, imp = maker(40, split="test", random_state=0)
    assert [_poisoned(b) for b in X] == [bool(label) for label in y]
    # Poison instances are never marked important; concept instances sit in every positive bag.
    for bag, flags, label in zip(X, imp, y):
        assert not flags[(bag < -5).all(axis=1)].any()
        if label:
            assert flags.sum() >= (2 if maker is make_multi_concept_bags else 1)


def test_concepts_of_multi_concept_and_false_frequency_bags():
    def concepts(bag):
        a = (np.abs(bag - 2) < 0.6).all(axis=1).sum()
        b = (np.abs(bag - 3) < 0.6).all(axis=1).sum()
        return a, b

    X, y, imp = make_multi_concept_bags(40, random_state=1)
    for bag, label, flags in zip(X, y, imp):
        a, b = concepts(bag)
        assert (a > 0 and b > 0) == bool(label) and a + b == flags.sum()
    for split, counts in (("train", {1}), ("test", set(range(35, 45)))):
        X, y, imp = make_false_frequency_bags(40, split=split, random_state=2)
        for bag, label, flags in zip(X, y, imp):
            a, b = concepts(bag)
            if label:
                assert (a, b) == (1, 1)
            else:
                assert min(a, b) == 0 and max(a, b) in counts
    # Instances are shuffled inside a bag, not concept instances first.
    assert any(flags[0] == 0 for flags, label in zip(imp, y) if label)


def test_bad_arguments():
    with pytest.raises(ValueError, match="'split' parameter of make_single_concept_bags must be a str among"):
        make_single_concept_bags(10, split="valid")
    with pytest.raises(ValueError, match="'n_bags' parameter of make_multi_concept_bags must be an int"):
        make_multi_concept_bags(0)
    with pytest.raises(ValueError, match="n_background must be an int or an inclusive"):
        make_false_frequency_bags(10, n_background=(1, 2, 3))
    with pytest.raises(ValueError, match="low <= high"):
        make_false_frequency_bags(10, test_concept_count=(5, 2))
    with pytest.raises(ValueError, match="positive_fraction"):
        make_single_concept_bags(10, positive_fraction=1.5)
