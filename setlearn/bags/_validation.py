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
    # Sparse first: scipy's DOK matrix is a dict subclass.
    if sp.issparse(X):
        raise TypeError(f"Sparse input is not supported: {name} must hold dense bags; convert with .toarray(). {_LAYOUT_HINT}")
    if X is None or isinstance(X, (str, bytes, dict)) or np.isscalar(X):
        raise ValueError(f"{name} must be a collection of bags, got {type(X).__name__}. {_LAYOUT_HINT}")
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim < 3:
            raise ValueError(
                f"{name} is a numeric array of shape {X.shape}; a single array must have shape "
                f"(n_bags, n_instances, *instance_shape), so at least 3 dimensions. "
                f"Reshape your data: for one bag of vectors use [{name}]; for bags of scalars use "
                f"{name}[..., None]. {_LAYOUT_HINT}"
            )
        return list(X)
    if isinstance(X, np.ndarray) and X.ndim == 2:
        raise ValueError(
            f"{name} is an object array of shape {X.shape}; it must be 1-D (one bag per entry) or "
            f"have at least 3 dimensions. {_LAYOUT_HINT}"
        )
    if isinstance(X, np.ndarray) and X.ndim > 2:
        return list(X)  # an object array of numbers, shaped (n_bags, n_instances, ...)
    try:
        return list(X)
    except TypeError:
        raise ValueError(f"{name} must be a collection of bags, got {type(X).__name__}. {_LAYOUT_HINT}") from None


def check_bags(X, *, instance_shape=None, name="X", estimator_name="the estimator", ensure_all_finite=True):
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
    estimator_name : str, default="the estimator"
        How the estimator that fixed ``instance_shape`` is called in error messages.
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
    # One errstate for all bags (it costs microseconds per entry): a float64 value beyond
    # float32's range gets its own error from _as_float32_bag, not a RuntimeWarning.
    with np.errstate(over="ignore"):
        for i, bag in enumerate(raw):
            bags.append(_checked_bag(bag, i, name, instance_shape, expected, estimator_name, ensure_all_finite))
            expected = bags[-1].shape[1:] if expected is None else expected
    return bags


def _checked_bag(bag, i, name, instance_shape, expected, estimator_name, ensure_all_finite=True):
    """Bag ``i`` of ``name`` as C-contiguous float32, checked against the instance shape
    ``expected`` (that of bag 0, or ``instance_shape`` when given; None for bag 0)."""
    arr = _as_float32_bag(bag, f"Bag {i} of {name}", ensure_all_finite)
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
    if arr.size == 0:
        # scikit-learn's wording for the same mistake on 2-D data.
        raise ValueError(
            f"Bag {i} of {name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            f"required: every instance needs at least one value."
        )
    shape = arr.shape[1:]
    if expected is not None and shape != expected:
        if instance_shape is not None:
            # For vectors, scikit-learn's wording too ("X has 3 features, but ...").
            features = (
                f"{name} has {shape[0]} features, but {estimator_name} is expecting {expected[0]} "
                f"features as input: "
                if len(shape) == len(expected) == 1 else ""
            )
            raise ValueError(
                f"{features}Bag {i} of {name} has instances of shape {shape}, but {estimator_name} "
                f"was fitted on instances of shape {expected}. Pass bags with the same instance "
                f"shape (same features, same image size) as during fit."
            )
        raise ValueError(
            f"Bag {i} of {name} has instances of shape {shape}, but bag 0 has instances of "
            f"shape {expected}. All instances must have the same shape (same number of "
            f"features, same image size)."
        )
    return np.ascontiguousarray(arr)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _as_float32_bag(bag, where, ensure_all_finite=True):
    """One bag as a float32 array, refusing what a cast would silently change.

    A plain cast would drop imaginary parts, parse numeric strings, and turn
    finite values beyond float32's range into infinity. Numeric arrays, the
    common case, take the fast path: one cast and one finiteness test, as cheap
    as a cast alone.
    """
    try:
        raw = bag if isinstance(bag, np.ndarray) else np.asarray(bag)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(
            f"{where} could not be read as a numeric array ({exc}). Every bag must be a numeric "
            f"array of shape (n_instances, *instance_shape) whose instances all have the same shape."
        ) from None
    if raw.dtype.kind not in "biuf":
        raw = _numeric_values(raw, where)
    # Overflow to infinity (under check_bags' np.errstate) is reported below, with its own message.
    arr = raw if raw.dtype == np.float32 else raw.astype(np.float32)
    if not np.isfinite(arr).all():
        if raw.dtype.kind == "f" and np.isfinite(raw).all():
            magnitude = max(raw.max(), -raw.min())
            raise ValueError(
                f"{where} holds values up to {magnitude:.3g} in magnitude, beyond float32's range "
                f"(+-{_FLOAT32_MAX:.3g}), in which setlearn computes. Rescale the features "
                f"(e.g. with sklearn.preprocessing.StandardScaler on the stacked instances)."
            )
        if ensure_all_finite:
            raise ValueError(
                f"{where} contains NaN or infinity. Impute or drop the non-finite values first, "
                f"e.g. with InstanceTransformer(SimpleImputer()) in a pipeline."
            )
    return arr


def _numeric_values(raw, where):
    """The values of a bag that is not a numeric array (complex, strings, objects) as float64."""
    if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.flat)):
        raise ValueError(f"Complex data not supported: {where} holds complex numbers; pass real values "
                         f"(e.g. np.abs(bag) or np.stack([bag.real, bag.imag], axis=-1)).")
    if raw.dtype.kind in "USO" and any(isinstance(v, (str, bytes)) for v in raw.flat):
        raise ValueError(f"{where} holds strings; bags must hold numbers. Convert them first "
                         f"(e.g. bag.astype(float) for numeric strings, or encode categories).")
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        # TypeError for values of a wrong type (e.g. a dict), as numpy and scikit-learn raise.
        raise type(exc)(
            f"{where} could not be read as a numeric array ({exc}). Every bag must be a numeric "
            f"array of shape (n_instances, *instance_shape) whose instances all have the same shape."
        ) from None


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
        raise ValueError(
            f"{name} is None: this estimator requires y to be passed, but the target y is None. "
            f"A classifier needs one label per bag."
        )
    y = np.asarray(y)
    # 1-D integer and bool labels are always classes: scikit-learn's checks (~1 ms together)
    # are skipped for them, as the importance scores call this for every score of every ensemble.
    integer = y.ndim == 1 and y.dtype.kind in "biu"
    if not integer:
        y = column_or_1d(y, warn=True)
    if len(y) != n_bags:
        raise ValueError(
            f"{name} has {len(y)} labels but X has {n_bags} bags; pass exactly one label per bag."
        )
    if y.dtype.kind not in "biu":
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
        out.append(arr)
    # One check of all entries together; the first bad entry is looked for only when there is one.
    if out and not np.isfinite(np.concatenate(out)).all():
        i = next(i for i, arr in enumerate(out) if not np.isfinite(arr).all())
        raise ValueError(f"Entry {i} of {name} contains NaN or infinity.")
    return out
