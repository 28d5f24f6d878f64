"""Algorithmic unit tests for MIL models (Raff & Holt, NeurIPS 2023), as seeded bag makers.

Each test comes as a training split and a test split whose shortcut is turned
around: a model that learned the shortcut instead of the MIL rule does well on
``split="train"`` data and fails on ``split="test"`` data.

* :func:`make_single_concept_bags` (their Algorithm 1): a bag is positive when
  it holds a concept instance. In training, every *negative* bag also holds a
  far-away "poison" instance; at test time the poison moves to the *positive*
  bags. A model that respects the standard MIL assumption (only positive
  evidence makes a bag positive) ignores the poison; one that learned "poison
  means negative" inverts its test predictions.
* :func:`make_multi_concept_bags` (Algorithm 2): positive bags hold instances of
  both concepts A and B, negative bags only one of them; the same poison
  shortcut as above.
* :func:`make_false_frequency_bags` (Algorithm 3): positive bags hold one A and
  one B; negative bags hold only one concept, once in training and 35 to 44
  times at test time. A model that counts concept instances instead of asking
  for both concepts calls the test negatives positive.

Unlike the reference implementations in torchmil, every draw here comes from
one numpy Generator seeded by ``random_state`` (the same seed gives the same
bags, different seeds differ), exactly ``round(positive_fraction * n_bags)``
bags are positive at random positions, and the instances of every bag are
shuffled (never sorted by kind). ``importance`` marks the concept instances
(in negative bags too); poison and background instances are 0.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._generators import _MAKER_CONSTRAINTS
from ._validation import _check_rng


# Distributions of Raff & Holt's tests: (mean, standard deviation), per feature.
_BACKGROUND = (0.0, 1.0)
_POISON = (-10.0, 0.1)
_SINGLE_CONCEPT = ((0.0, 3.0), (1.0, 1.0))  # a concept instance comes from either
_CONCEPT_A = (2.0, 0.1)
_CONCEPT_B = (3.0, 0.1)
_SPLITS = ("train", "test")

# Checked by scikit-learn's validate_params, like the other makers; count ranges
# (an int or an inclusive (low, high) pair) by _check_range.
_SHARED_CONSTRAINTS = {
    "n_bags": _MAKER_CONSTRAINTS["n_bags"],
    "split": [StrOptions(set(_SPLITS))],
    "n_features": [Interval(Integral, 1, None, closed="left")],
    "positive_fraction": _MAKER_CONSTRAINTS["positive_fraction"],
    "random_state": _MAKER_CONSTRAINTS["random_state"],
}
_COUNT_RANGE = [Interval(Integral, 0, None, closed="left"), tuple, list]


def _check_range(value, name, minimum):
    """An int or an inclusive (low, high) pair of ints, as a pair."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, Integral) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{name} must be an int or an inclusive (low, high) pair of ints, got {value!r}.")
    low, high = int(value[0]), int(value[1])
    if low < minimum or low > high:
        raise ValueError(f"{name} must satisfy {minimum} <= low <= high, got {value!r}.")
    return low, high


def _draw(rng, count_range):
    low, high = count_range
    return int(rng.integers(low, high + 1))


class _Bag:
    """Instances of one bag, collected part by part, with their importance."""

    def __init__(self, rng, n_features):
        self.rng, self.n_features = rng, n_features
        self.parts, self.flags = [], []

    def add(self, n, distribution, important=False):
        mean, sd = distribution
        self.parts.append(self.rng.normal(mean, sd, size=(n, self.n_features)))
        self.flags.append(np.full(n, int(important), dtype=np.int8))

    def done(self):
        instances, flags = np.concatenate(self.parts), np.concatenate(self.flags)
        order = self.rng.permutation(len(flags))
        return instances[order].astype(np.float32), flags[order]


def _make(n_bags, split, n_features, positive_fraction, random_state, fill):
    """Labels, then one bag per label filled by ``fill(bag, label, train)``."""
    rng = _check_rng(random_state)
    y = np.zeros(n_bags, dtype=np.int64)
    y[rng.permutation(n_bags)[: int(np.floor(positive_fraction * n_bags + 0.5))]] = 1
    X, importance = [], []
    for label in y:
        bag = _Bag(rng, n_features)
        fill(bag, label, split == "train")
        instances, flags = bag.done()
        X.append(instances)
        importance.append(flags)
    return X, y, importance


_SHARED_DOC = """n_bags : int, default=200
        Number of bags.
    split : {"train", "test"}, default="train"
        Which side of the test: the shortcut of ``"train"`` is reversed in
        ``"test"``. Train on one, evaluate on the other.
    n_features : int, default=4
        Features per instance."""

_SHARED_DOC_END = """positive_fraction : float, default=0.5
        Exact share of positive bags (rounded to a whole bag).
    random_state : int, numpy Generator or RandomState, or None, default=None
        Seeds every draw: the same seed gives the same bags."""

_RETURNS_DOC = """X : list of ndarray of float32, each of shape (n_instances, n_features)
        The bags, instances shuffled.
    y : ndarray of int64 of shape (n_bags,)
        1 for positive bags.
    importance : list of ndarray of int8
        1 for the concept instances, 0 for background and poison."""


@validate_params({**_SHARED_CONSTRAINTS, "n_background": [Interval(Integral, 1, None, closed="left")]},
                 prefer_skip_nested_validation=True)
def make_single_concept_bags(n_bags=200, *, split="train", n_features=4, n_background=10,
                             positive_fraction=0.5, random_state=None):
    def fill(bag, label, train):
        bag.add(n_background, _BACKGROUND)
        if label:
            for _ in range(int(bag.rng.integers(1, 4))):
                bag.add(1, _SINGLE_CONCEPT[int(bag.rng.integers(2))], important=True)
        if bool(label) != train:  # poison: negative bags in training, positive ones at test
            bag.add(1, _POISON)

    return _make(n_bags, split, n_features, positive_fraction, random_state, fill)


make_single_concept_bags.__doc__ = f"""Single-concept standard MIL test (Raff & Holt 2023, Algorithm 1).

    A bag is positive when it holds 1 to 3 concept instances (each drawn from
    N(0, 3^2) or N(1, 1) per feature) among ``n_background`` N(0, 1)
    instances. One poison instance (N(-10, 0.1^2)) sits in every negative
    training bag and in every positive test bag.

    Parameters
    ----------
    {_SHARED_DOC}
    n_background : int, default=10
        Background instances per bag.
    {_SHARED_DOC_END}

    Returns
    -------
    {_RETURNS_DOC}

    Examples
    --------
    >>> from setlearn.datasets import make_single_concept_bags
    >>> X, y, importance = make_single_concept_bags(20, split="test", random_state=0)
    >>> len(X), int(y.sum()), X[0].shape[1]
    (20, 10, 4)
    """


@validate_params({**_SHARED_CONSTRAINTS, "n_background": _COUNT_RANGE}, prefer_skip_nested_validation=True)
def make_multi_concept_bags(n_bags=200, *, split="train", n_features=4, n_background=(1, 9),
                            positive_fraction=0.5, random_state=None):
    background = _check_range(n_background, "n_background", 0)

    def fill(bag, label, train):
        bag.add(_draw(bag.rng, background), _BACKGROUND)
        if label:
            k = int(bag.rng.integers(1, 4))
            bag.add(k, _CONCEPT_A, important=True)
            bag.add(k, _CONCEPT_B, important=True)
        else:
            bag.add(1, (_CONCEPT_A, _CONCEPT_B)[int(bag.rng.integers(2))], important=True)
        if bool(label) != train:
            bag.add(1, _POISON)

    return _make(n_bags, split, n_features, positive_fraction, random_state, fill)


make_multi_concept_bags.__doc__ = f"""Multi-concept standard MIL test (Raff & Holt 2023, Algorithm 2).

    Positive bags hold ``k`` instances of concept A (N(2, 0.1^2)) and ``k`` of
    concept B (N(3, 0.1^2)), ``k`` in 1..3; negative bags hold one instance of
    A or of B. Both have ``n_background`` N(0, 1) instances, and one poison
    instance (N(-10, 0.1^2)) sits in every negative training bag and every
    positive test bag.

    Parameters
    ----------
    {_SHARED_DOC}
    n_background : int or (int, int), default=(1, 9)
        Background instances per bag: a count, or an inclusive range drawn
        uniformly per bag.
    {_SHARED_DOC_END}

    Returns
    -------
    {_RETURNS_DOC}

    Examples
    --------
    >>> from setlearn.datasets import make_multi_concept_bags
    >>> X, y, importance = make_multi_concept_bags(10, random_state=0)
    >>> all(imp.sum() >= 2 for imp, label in zip(importance, y) if label)
    True
    """


@validate_params({**_SHARED_CONSTRAINTS, "n_background": _COUNT_RANGE, "test_concept_count": _COUNT_RANGE},
                 prefer_skip_nested_validation=True)
def make_false_frequency_bags(n_bags=200, *, split="train", n_features=4, n_background=(1, 9),
                              test_concept_count=(35, 44), positive_fraction=0.5, random_state=None):
    background = _check_range(n_background, "n_background", 0)
    frequent = _check_range(test_concept_count, "test_concept_count", 1)

    def fill(bag, label, train):
        bag.add(_draw(bag.rng, background), _BACKGROUND)
        if label:
            bag.add(1, _CONCEPT_A, important=True)
            bag.add(1, _CONCEPT_B, important=True)
        else:
            count = 1 if train else _draw(bag.rng, frequent)
            bag.add(count, (_CONCEPT_A, _CONCEPT_B)[int(bag.rng.integers(2))], important=True)

    return _make(n_bags, split, n_features, positive_fraction, random_state, fill)


make_false_frequency_bags.__doc__ = f"""False-frequency MIL test (Raff & Holt 2023, Algorithm 3).

    Positive bags hold one instance of concept A (N(2, 0.1^2)) and one of B
    (N(3, 0.1^2)); negative bags hold only one of the two concepts (chosen at
    random per bag): once in training, ``test_concept_count`` times at test
    time. Both have ``n_background`` N(0, 1) instances. A model that counts
    concept instances, rather than asking for both concepts, calls the test
    negatives positive.

    Parameters
    ----------
    {_SHARED_DOC}
    n_background : int or (int, int), default=(1, 9)
        Background instances per bag: a count, or an inclusive range.
    test_concept_count : int or (int, int), default=(35, 44)
        How often the single concept repeats in a negative test bag.
    {_SHARED_DOC_END}

    Returns
    -------
    {_RETURNS_DOC}

    Examples
    --------
    >>> from setlearn.datasets import make_false_frequency_bags
    >>> X, y, importance = make_false_frequency_bags(10, split="test", random_state=0)
    >>> min(int(imp.sum()) for imp, label in zip(importance, y) if not label) >= 35
    True
    """
