"""Bags from the tables users have (a long DataFrame, an AnnData), and the way back.

Both directions share one grouping (:func:`_group_rows`), so values computed per
bag (attention, explanations) land on the very rows their instances came from.
"""

import os
import re
import warnings
from collections import Counter

import numpy as np

from ._dense import densify


def _group_rows(bag_ids, name):
    """Bag ids in order of first appearance, and the row positions of every bag.

    Within a bag, rows keep their order in the input.
    """
    import pandas as pd

    bag_ids = pd.Series(bag_ids)
    if bag_ids.isna().any():
        rows = np.flatnonzero(bag_ids.isna().to_numpy())[:5].tolist()
        raise ValueError(
            f"The bag column {name!r} is missing for rows at positions {rows}; every row "
            f"(instance) must name its bag. Drop those rows or fill in their bag."
        )
    codes, uniques = pd.factorize(bag_ids, sort=False)
    order = np.argsort(codes, kind="stable")
    positions = np.split(order, np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])
    return np.asarray(uniques), positions


def _bag_labels(bag_ids, positions, *, row_labels=None, labels=None, label_name=None):
    """One label per bag: constant within a bag in ``row_labels``, or looked up in ``labels``."""
    import pandas as pd

    if row_labels is not None and labels is not None:
        raise ValueError("Pass the bag labels once: either a label column or labels, not both.")
    if row_labels is not None:
        row_labels = pd.Series(np.asarray(row_labels))
        per_bag = []
        for bag, rows in zip(bag_ids, positions):
            values = row_labels.iloc[rows].unique()
            if len(values) != 1:
                raise ValueError(
                    f"Bag {bag!r} has {len(values)} different values in the label column "
                    f"{label_name!r} ({values[:5].tolist()}); a bag has one label, so the column "
                    f"must be constant within each bag."
                )
            per_bag.append(values[0])
        return np.asarray(per_bag)
    if labels is not None:
        labels = pd.Series(labels) if not isinstance(labels, pd.Series) else labels
        missing = [bag for bag in bag_ids if bag not in labels.index]
        if missing:
            raise ValueError(
                f"labels has no entry for {len(missing)} bag(s), e.g. {missing[:5]}; pass a Series "
                f"(or dict) indexed by bag id with one label for every bag."
            )
        return labels.loc[list(bag_ids)].to_numpy()
    return None


def _check_columns(columns, where, **roles):
    """Every named role (bag=..., label=...) is a column of ``where``, or a ValueError says so."""
    for role, column in roles.items():
        if column is not None and column not in columns:
            raise ValueError(f"{role}={column!r} is not a column of {where}; its columns are {list(columns)}.")


def _numeric(values, columns, where):
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"The features in {where} must be numeric; got dtype {values.dtype}. Select numeric "
            f"columns{'' if columns is None else ' (non-numeric: ' + str(columns) + ')'}, or "
            f"encode them first."
        )
    return values


# Column names that usually hold ground truth, which must never become a feature: per-instance
# importance (the answer the explanations are scored against) and bag labels.
_IMPORTANCE_LIKE = re.compile(r"importan|witness|ground.?truth|instance.?label|key.?instance|is.?positive", re.I)
_LABEL_LIKE = re.compile(r"^(y|labels?|targets?|class(es)?|outcomes?|diagnosis|disease|response|sick)$", re.I)


def _check_unique(names, what):
    counts = Counter(names)
    duplicated = sorted(str(name) for name, n in counts.items() if n > 1)
    if duplicated:
        raise ValueError(f"{what} has duplicate column names {duplicated}; rename them so that each column "
                         f"is used once.")


def _inferred_features(frame, roles):
    """Every column but the roles; a column whose name looks like ground truth is refused."""
    features = [c for c in frame.columns if c not in roles]
    suspicious = [c for c in features if _IMPORTANCE_LIKE.search(str(c)) or _LABEL_LIKE.match(str(c))]
    if suspicious:
        raise ValueError(
            f"features were not given, and the column(s) {suspicious} look like ground truth (a label or "
            f"per-instance importance); as features they would leak the answer into the model. Pass the "
            f"feature columns explicitly (features=[...]), and importance=<column> for per-instance importance."
        )
    return features


def _warn_label_like(frame, features, bag):
    """Warn about an inferred two-valued feature that is constant within every bag: it reads like a bag label."""
    if frame[bag].nunique() < 3:  # with one or two bags every column might look so
        return
    per_bag = frame.groupby(bag, sort=False)
    for column in features:
        if frame[column].nunique() == 2 and per_bag[column].nunique().max() == 1:
            warnings.warn(
                f"features were inferred, and the column {column!r} takes two values and is constant within "
                f"every bag: it looks like a bag label. If it is one, pass label={column!r} (or leave it out "
                f"with features=[...]).", UserWarning, stacklevel=3)


def bags_from_frame(frame, bag, *, label=None, labels=None, features=None, importance=None):
    """Bags from a long DataFrame: one row per instance, a column naming its bag.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per instance.
    bag : str
        The column holding the bag id of each row (patient, sample, slide...).
    label : str, default=None
        A column holding the bag label, repeated on every row of a bag (it
        must be constant within a bag).
    labels : pandas.Series or dict, default=None
        Bag labels indexed by bag id, instead of a ``label`` column.
    features : list of str, default=None
        The feature columns, numeric. Name them: ``None`` uses every column
        except ``bag``, ``label`` and ``importance``, and refuses a column
        whose name looks like ground truth (``"importance"``, ``"witness"``,
        ``"label"``, ``"target"``...), which would leak the answer into the
        model; a 0/1 column constant within every bag gets a warning (it looks
        like a bag label).
    importance : str, default=None
        A column of per-instance importance (ground truth: which instances
        matter), returned per bag for the importance scorers and never used
        as a feature.

    Returns
    -------
    X : list of ndarray
        One array of shape ``(n_instances, n_features)`` per bag. Bags are in
        order of first appearance of their id in ``frame``; instances keep
        their row order.
    y : ndarray of shape (n_bags,) or None
        The bag labels, or ``None`` when neither ``label`` nor ``labels`` is
        given.
    bag_ids : ndarray of shape (n_bags,)
        The id of every bag of ``X``.
    importance : list of ndarray
        Only when ``importance`` is given: one array of shape
        ``(n_instances,)`` per bag, aligned with ``X``, as
        :func:`setlearn.importance_auroc` and the importance scorers take it.

    Raises
    ------
    ValueError
        If the frame has no rows, a column is used twice (duplicate names,
        or the bag, label or importance column among ``features``), a
        feature is not numeric, or an inferred feature looks like ground truth.

    See Also
    --------
    bags_from_anndata : The same for an AnnData.
    instance_values_to_frame : The way back: per-instance values as a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.bags import bags_from_frame
    >>> frame = pd.DataFrame({"patient": ["b", "a", "b"], "cd4": [1.0, 2.0, 3.0],
    ...                       "cd8": [0.5, 0.1, 0.2], "sick": [1, 0, 1], "witness": [1, 0, 0]})
    >>> X, y, bag_ids, importance = bags_from_frame(frame, "patient", label="sick",
    ...                                             features=["cd4", "cd8"], importance="witness")
    >>> bag_ids.tolist(), y.tolist(), [b.shape for b in X], [i.tolist() for i in importance]
    (['b', 'a'], [1, 0], [(2, 2), (1, 2)], [[1.0, 0.0], [0.0]])
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    _check_columns(frame.columns, "frame", bag=bag, label=label, importance=importance)
    roles = {name: column for name, column in (("bag", bag), ("label", label), ("importance", importance))
             if column is not None}
    if len(set(roles.values())) < len(roles):
        raise ValueError(f"The bag, label and importance columns must be different columns, got {roles}.")
    inferred = features is None
    if inferred:
        _check_unique(frame.columns, "frame")
        features = _inferred_features(frame, set(roles.values()))
    else:
        features = [features] if isinstance(features, str) else list(features)
        unknown = [c for c in features if c not in frame.columns]
        if unknown:
            raise ValueError(f"features {unknown} are not columns of frame; its columns are {list(frame.columns)}.")
        _check_unique(features, "features")
        _check_unique([c for c in frame.columns if c in set(features) | set(roles.values())], "frame")
        reused = {role: column for role, column in roles.items() if column in features}
        if reused:
            raise ValueError(
                f"features include the {' and '.join(reused)} column(s) {list(reused.values())}: a bag's id, "
                f"label or ground truth must not be a feature of its instances. Leave them out of features."
            )
    if not features:
        raise ValueError("frame has no feature columns besides the bag, label and importance columns.")
    if not len(frame):
        raise ValueError("frame has no rows; bags need at least one instance (row) each.")
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    values = _numeric(frame[features].to_numpy(dtype=None if non_numeric else np.float64),
                      non_numeric, "frame")
    if inferred:
        _warn_label_like(frame, features, bag)
    bag_ids, positions = _group_rows(frame[bag].to_numpy(), bag)
    y = _bag_labels(bag_ids, positions, row_labels=None if label is None else frame[label].to_numpy(),
                    labels=labels, label_name=label)
    X = [values[rows] for rows in positions]
    if importance is None:
        return X, y, bag_ids
    from ._validation import check_instance_values

    column = frame[importance]
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise ValueError(f"The importance column {importance!r} must be numeric or boolean; got dtype "
                         f"{column.dtype}.")
    per_bag = [column.to_numpy(dtype=np.float64)[rows] for rows in positions]
    return X, y, bag_ids, check_instance_values(per_bag, [len(rows) for rows in positions], name="importance")


def bags_from_anndata(adata, bag, *, label=None, labels=None, use_rep=None, layer=None):
    """Bags from an AnnData: an ``obs`` column names the bag (sample, patient) of every cell.

    ``anndata`` itself is not imported: any object with ``obs``, ``X``,
    ``obsm`` and ``layers`` like an AnnData works.

    Parameters
    ----------
    adata : anndata.AnnData
        One observation (cell) per instance.
    bag : str
        The ``obs`` column holding the bag id of every cell.
    label : str, default=None
        An ``obs`` column holding the bag label, constant within a bag.
    labels : pandas.Series or dict, default=None
        Bag labels indexed by bag id, instead of a ``label`` column.
    use_rep : str, default=None
        Key of ``adata.obsm`` to use as features (e.g. ``"X_pca"``), as in
        scanpy; ``None`` uses ``adata.X`` (or ``layer``).
    layer : str, default=None
        Key of ``adata.layers`` to use instead of ``adata.X``.

    Returns
    -------
    X : list of ndarray
        One dense array of shape ``(n_cells, n_features)`` per bag, bags in
        order of first appearance in ``adata.obs``, cells in their order.
    y : ndarray of shape (n_bags,) or None
        The bag labels, or ``None`` when neither ``label`` nor ``labels`` is
        given.
    bag_ids : ndarray of shape (n_bags,)
        The id of every bag of ``X``.

    See Also
    --------
    bags_from_frame : The same for a long DataFrame.
    instance_values_to_frame : The way back: write attention into ``adata.obs``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import anndata
    >>> from setlearn.bags import bags_from_anndata
    >>> obs = pd.DataFrame({"donor": ["d1", "d1", "d2"], "sick": [True, True, False]},
    ...                    index=["c1", "c2", "c3"])
    >>> adata = anndata.AnnData(np.eye(3, dtype=np.float32), obs=obs)
    >>> X, y, bag_ids = bags_from_anndata(adata, "donor", label="sick")
    >>> bag_ids.tolist(), y.tolist(), [b.shape for b in X]
    (['d1', 'd2'], [True, False], [(2, 3), (1, 3)])
    """
    obs = getattr(adata, "obs", None)
    if obs is None or not hasattr(adata, "X"):
        hint = " Read the file first: adata = anndata.read_h5ad(path)." if isinstance(adata, (str, bytes, os.PathLike)) else ""
        raise TypeError(f"adata must be an AnnData (with obs and X), got {type(adata).__name__}.{hint}")
    _check_columns(obs.columns, "adata.obs", bag=bag, label=label)
    if use_rep is not None and layer is not None:
        raise ValueError("Pass use_rep (a key of adata.obsm) or layer (a key of adata.layers), not both.")
    if use_rep is not None:
        matrix, where = _lookup(adata.obsm, use_rep, "obsm"), f"adata.obsm[{use_rep!r}]"
    elif layer is not None:
        matrix, where = _lookup(adata.layers, layer, "layers"), f"adata.layers[{layer!r}]"
    else:
        matrix, where = adata.X, "adata.X"
    if matrix is None:
        raise ValueError(f"{where} is empty; pass use_rep= or layer= to choose the features.")
    matrix = _numeric(densify(matrix, where), None, where)
    bag_ids, positions = _group_rows(obs[bag].to_numpy(), bag)
    y = _bag_labels(bag_ids, positions, row_labels=None if label is None else obs[label].to_numpy(),
                    labels=labels, label_name=label)
    return [matrix[rows] for rows in positions], y, bag_ids


def _lookup(mapping, key, name):
    if key not in mapping:
        raise ValueError(f"{key!r} is not in adata.{name}; its keys are {list(mapping.keys())}.")
    return mapping[key]


def instance_values_to_frame(values, frame, bag, *, bag_ids=None, name="attention"):
    """Per-instance values of bags (attention, explanations) as a column aligned with the rows.

    The way back from :func:`bags_from_frame` and :func:`bags_from_anndata`:
    ``frame`` and ``bag`` are the ones the bags were made from (for an
    AnnData, ``adata.obs``), so every value lands on the row of its instance.

    Parameters
    ----------
    values : list of array-like
        One 1-D array per bag, e.g. ``clf.explain(X)``.
    frame : pandas.DataFrame
        The table the bags came from (``adata.obs`` for an AnnData).
    bag : str
        Its bag column.
    bag_ids : array-like, default=None
        The ids of the bags ``values`` belong to, when they are a subset (a
        test split) or in another order; rows of other bags get NaN. ``None``
        means every bag, in the order the bag makers return them.
    name : str, default="attention"
        Name of the returned Series.

    Returns
    -------
    column : pandas.Series
        One value per row of ``frame``, with its index.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.bags import bags_from_frame, instance_values_to_frame
    >>> frame = pd.DataFrame({"patient": ["b", "a", "b"], "cd4": [1.0, 2.0, 3.0]})
    >>> X, _, bag_ids = bags_from_frame(frame, "patient")
    >>> weights = [[0.25, 0.75], [1.0]]  # e.g. clf.explain(X)
    >>> frame["attention"] = instance_values_to_frame(weights, frame, "patient")
    >>> frame["attention"].tolist()
    [0.25, 1.0, 0.75]
    """
    import pandas as pd

    from ._validation import check_instance_values

    _check_columns(frame.columns, "frame", bag=bag)
    all_ids, positions = _group_rows(frame[bag].to_numpy(), bag)
    if bag_ids is not None:
        bag_ids = list(bag_ids)
        repeated = sorted({str(b) for b in bag_ids if bag_ids.count(b) > 1})
        if repeated:
            raise ValueError(
                f"bag_ids names the bag(s) {repeated[:5]} more than once; the values of one bag would "
                f"overwrite another's. Pass each bag's id once, in the order of values."
            )
        where = {bag_id: i for i, bag_id in enumerate(all_ids)}
        unknown = [b for b in bag_ids if b not in where]
        if unknown:
            raise ValueError(f"bag_ids {unknown[:5]} are not in the column {bag!r} of frame.")
        positions = [positions[where[b]] for b in bag_ids]
    elif len(values) != len(positions):
        raise ValueError(
            f"values has {len(values)} entries but frame has {len(positions)} bags; pass bag_ids= "
            f"when the values belong to some of the bags only (a test split)."
        )
    values = check_instance_values(values, [len(rows) for rows in positions], name="values")
    column = np.full(len(frame), np.nan)
    for rows, bag_values in zip(positions, values):
        column[rows] = bag_values
    return pd.Series(column, index=frame.index, name=name)
