"""Validation of bags, bag labels and per-instance values."""


import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d


_LAYOUT_HINT = (
    "Pass bags as a list of arrays of shape (n_instances, *instance_shape), "
    "a 1-D object array of such arrays, or one array of shape "
    "(n_bags, n_instances, *instance_shape)."
)


def _as_bag_list(X, name):
    """Split ``X`` into a list of per-bag objects without copying data."""
    if X is None or isinstance(X, (str, bytes, dict)) or np.isscalar(X):
        raise ValueError(f"{name} must be a collection of bags, got {type(X).__name__}. {_LAYOUT_HINT}")
    if sp.issparse(X):
        raise TypeError(f"Sparse input is not supported: {name} must hold dense bags; convert with .toarray(). {_LAYOUT_HINT}")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim < 3:
            raise ValueError(
                f"{name} is a numeric array of shape {X.shape}; a single array must have shape "
                f"(n_bags, n_instances, *instance_shape), so at least 3 dimensions. "
                f"For one bag of vectors use [{name}]; for bags of scalars use "
                f"{name}[..., None]. {_LAYOUT_HINT}"
            )
        return list(X)
    if isinstance(X, np.ndarray) and X.ndim != 1:
        raise ValueError(f"{name} is an object array of shape {X.shape}; it must be 1-D. {_LAYOUT_HINT}")
    try:
        return list(X)
    except TypeError:
        raise ValueError(f"{name} must be a collection of bags, got {type(X).__name__}. {_LAYOUT_HINT}") from None


def check_bags(X, *, instance_shape=None, name="X", ensure_all_finite=True):
    """Validate a data set of bags and return it as a list of float32 arrays.

    Parameters
    ----------
    X : list of array-like, 1-D object array, or ndarray
        The bags; see the module docstring for the accepted layouts.
    instance_shape : tuple of int, default=None
        The instance shape every bag must have (e.g. the one seen during ``fit``).
        ``None`` only requires all bags to agree with each other.
    name : str, default="X"
        How the input is called in error messages.
    ensure_all_finite : bool, default=True
        Reject NaN and infinity. ``False`` lets them through, for
        preprocessing that imputes missing values.

    Returns
    -------
    bags : list of ndarray of dtype float32
        One C-contiguous array of shape ``(n_instances, *instance_shape)`` per bag.

    Raises
    ------
    ValueError
        If there are no bags, a bag is empty, not numeric, has fewer than 2
        dimensions, contains NaN or infinity (unless ``ensure_all_finite=False``),
        or if instance shapes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import check_bags
    >>> bags = check_bags([np.zeros((3, 4)), np.ones((5, 4))])
    >>> [b.shape for b in bags]
    [(3, 4), (5, 4)]
    """
    raw = _as_bag_list(X, name)
    if len(raw) == 0:
        raise ValueError(f"{name} contains no bags; at least one bag is required.")
    expected = None if instance_shape is None else tuple(instance_shape)
    bags = []
    for i, bag in enumerate(raw):
        try:
            arr = np.asarray(bag, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Bag {i} of {name} could not be read as a numeric array ({exc}). Every bag must be "
                f"a numeric array of shape (n_instances, *instance_shape) whose instances all have "
                f"the same shape."
            ) from None
        if arr.ndim < 2:
            raise ValueError(
                f"Bag {i} of {name} has shape {arr.shape}; a bag needs shape (n_instances, "
                f"*instance_shape). If its instances are scalars, use bag.reshape(-1, 1)."
            )
        if arr.shape[0] == 0:
            raise ValueError(
                f"Bag {i} of {name} is empty; every bag needs at least one instance. Drop the "
                f"empty bags (and their labels) before calling setlearn."
            )
        shape = arr.shape[1:]
        if expected is None:
            expected = shape
        elif shape != expected:
            if instance_shape is not None:
                raise ValueError(
                    f"Bag {i} of {name} has instances of shape {shape}, but the estimator was "
                    f"fitted on instances of shape {expected}. Pass bags with the same instance "
                    f"shape (same features, same image size) as during fit."
                )
            raise ValueError(
                f"Bag {i} of {name} has instances of shape {shape}, but bag 0 has instances of "
                f"shape {expected}. All instances must have the same shape (same number of "
                f"features, same image size)."
            )
        if ensure_all_finite and not np.isfinite(arr).all():
            raise ValueError(
                f"Bag {i} of {name} contains NaN or infinity. Impute or drop the non-finite "
                f"values first, e.g. with InstanceTransformer(SimpleImputer()) in a pipeline."
            )
        bags.append(np.ascontiguousarray(arr))
    return bags


def check_bag_labels(y, n_bags, *, name="y"):
    """Validate one classification label per bag.

    Parameters
    ----------
    y : array-like of shape (n_bags,)
        Bag labels of any type scikit-learn accepts for classification.
    n_bags : int
        The number of bags the labels must match.
    name : str, default="y"
        How the labels are called in error messages.

    Returns
    -------
    y : ndarray of shape (n_bags,)
        The labels as a 1-D array.

    Examples
    --------
    >>> from setlearn.bags import check_bag_labels
    >>> check_bag_labels(["a", "b", "a"], 3)
    array(['a', 'b', 'a'], dtype='<U1')
    """
    if y is None:
        raise ValueError(f"{name} is None; a classifier needs one label per bag.")
    y = column_or_1d(np.asarray(y), warn=True)
    if len(y) != n_bags:
        raise ValueError(
            f"{name} has {len(y)} labels but X has {n_bags} bags; pass exactly one label per bag."
        )
    check_classification_targets(y)
    return y


def bag_sizes(bags):
    """Number of instances of every bag.

    Parameters
    ----------
    bags : sequence of array-like
        The bags (anything with a length per bag).

    Returns
    -------
    sizes : ndarray of int64 of shape (n_bags,)
        ``len(bag)`` for every bag.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.bags import bag_sizes
    >>> bag_sizes([np.zeros((3, 2)), np.zeros((1, 2))]).tolist()
    [3, 1]
    """
    return np.fromiter((len(b) for b in bags), dtype=np.int64, count=len(bags))


def check_instance_values(values, sizes, *, name="values"):
    """Validate one 1-D array of per-instance values for every bag.

    Used for per-instance ground truth (importance labels) and per-instance
    scores (attention weights).

    Parameters
    ----------
    values : sequence of array-like
        One 1-D array per bag.
    sizes : array-like of int or None
        The number of instances of every bag, or ``None`` to accept any lengths.
    name : str, default="values"
        How the values are called in error messages.

    Returns
    -------
    values : list of ndarray of dtype float64
        One validated 1-D array per bag.

    Examples
    --------
    >>> from setlearn.bags import check_instance_values
    >>> check_instance_values([[0, 1], [1]], [2, 1], name="importance")
    [array([0., 1.]), array([1.])]
    """
    if values is None or isinstance(values, (str, bytes, dict)) or np.isscalar(values):
        raise ValueError(f"{name} must hold one 1-D array per bag, got {type(values).__name__}.")
    if isinstance(values, np.ndarray) and values.dtype != object and values.ndim == 2:
        values = list(values)
    values = list(values)
    if sizes is not None:
        sizes = np.asarray(sizes)
        if len(values) != len(sizes):
            raise ValueError(
                f"{name} has {len(values)} entries but there are {len(sizes)} bags; pass one "
                f"1-D array per bag."
            )
    out = []
    for i, v in enumerate(values):
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Entry {i} of {name} is not numeric.") from None
        if arr.ndim != 1:
            raise ValueError(f"Entry {i} of {name} has shape {arr.shape}; it must be 1-D (one value per instance).")
        if sizes is not None and len(arr) != sizes[i]:
            raise ValueError(
                f"Entry {i} of {name} has {len(arr)} values but bag {i} has {sizes[i]} instances; "
                f"pass one value per instance."
            )
        if not np.isfinite(arr).all():
            raise ValueError(f"Entry {i} of {name} contains NaN or infinity.")
        out.append(arr)
    return out
