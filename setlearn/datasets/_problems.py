"""The registry of problems: which populations decide a bag's label."""

from dataclasses import dataclass, field

import numpy as np


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
        Non-zero populations the bag may contain. Where the rates of the
        other non-zero populations go is the ``composition`` of
        :func:`~setlearn.datasets.make_bags` (see :data:`COMPOSITIONS`).
    at_least : dict
        ``{population: minimum count}``; the minimum may be ``"k"``.
    below : dict
        ``{population: bound}``: the count must be smaller than the bound;
        the bound may be ``"k"``.

    Examples
    --------
    >>> from setlearn.datasets import PROBLEMS
    >>> [c.name for c in PROBLEMS["and"].negative]
    ['only 1', 'only 2', 'neither']
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

    Examples
    --------
    >>> from setlearn.datasets import PROBLEMS
    >>> xor = PROBLEMS["xor"]
    >>> xor.important, xor.label([[5, 1, 0], [5, 1, 1], [5, 0, 1]]).tolist()
    ((1, 2), [1, 0, 1])
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
        """Bag labels from per-population counts.

        Parameters
        ----------
        counts : array-like of int of shape (n_bags, n_populations)
            How many instances of populations 0, 1 (and 2) every bag holds.

        Returns
        -------
        labels : ndarray of int64 of shape (n_bags,)
            1 for positive bags, 0 for negative ones.
        """
        counts = np.atleast_2d(np.asarray(counts))
        if counts.shape[1] < _N_POP:
            counts = np.pad(counts, ((0, 0), (0, _N_POP - counts.shape[1])))
        return np.asarray(self.rule(counts, self.k), dtype=np.int64)

    @property
    def uses_k(self):
        """Whether the compositions of this problem depend on the threshold ``k``."""
        return any("k" in c.at_least.values() or "k" in c.below.values() for c in self.positive + self.negative)

    def _bound(self, value):
        return self.k if value == "k" else int(value)

    def min_bag_size(self):
        """Smallest bag every composition of this problem fits into.

        Returns
        -------
        size : int
            The largest sum of minimum counts over the compositions.
        """
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

MODALITIES = ("gaussian", "digits", "mnist", "cytof", "cytof-lineages")

COMPOSITIONS = {
    "independent": "every deciding population is present independently of the others, with presence "
                   "probabilities that balance the classes; the counts of the populations a bag holds are "
                   "drawn independently of each other and of the label (population 0's too), so bag sizes "
                   "vary around bag_size and no strict subset of the populations tells more about the label "
                   "than the presence of its deciding populations (the default)",
    "balanced": "a left-out deciding population's rate goes to the deciding populations the bag "
                "holds, so population 0 has the same rate in every bag that holds a deciding "
                "population; the amount of one deciding population then gives the label away",
    "renormalised": "the rates of the populations the bag holds are renormalised to sum to 1 (the "
                    "multinomial conditioned on the left-out populations being absent)",
    "study": "what the study most likely did: a bag is drawn with the problem's rates and a left-out "
             "population's rate goes to population 0 (setlearn's only behaviour before issue #11, then "
             "called 'population0'); population 0's amount then gives the label away",
}
"""Ways to compose the bags of a problem, by name (``composition`` of the makers)."""

DEPRECATED_COMPOSITIONS = {"population0": "study"}
"""Old composition names that still work, with a ``FutureWarning``: old name -> current name."""
