"""Bags from the tables users have (a long DataFrame, an AnnData), and the way back.

Both directions share one grouping (:func:`_group_rows`), so values computed per
bag (attention, explanations) land on the very rows their instances came from.
"""

import os

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


def bags_from_frame(frame, bag, *, label=None, labels=None, features=None):
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
        The feature columns; ``None`` uses every column except ``bag`` and
        ``label``. They must be numeric.

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

    See Also
    --------
    bags_from_anndata : The same for an AnnData.
    instance_values_to_frame : The way back: per-instance values as a column.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.bags import bags_from_frame
    >>> frame = pd.DataFrame({"patient": ["b", "a", "b"], "cd4": [1.0, 2.0, 3.0],
    ...                       "cd8": [0.5, 0.1, 0.2], "sick": [1, 0, 1]})
    >>> X, y, bag_ids = bags_from_frame(frame, "patient", label="sick")
    >>> bag_ids.tolist(), y.tolist(), [b.shape for b in X]
    (['b', 'a'], [1, 0], [(2, 2), (1, 2)])
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    _check_columns(frame.columns, "frame", bag=bag, label=label)
    if features is None:
        features = [c for c in frame.columns if c not in (bag, label)]
    else:
        features = list(features)
        unknown = [c for c in features if c not in frame.columns]
        if unknown:
            raise ValueError(f"features {unknown} are not columns of frame; its columns are {list(frame.columns)}.")
    if not features:
        raise ValueError("frame has no feature columns besides the bag and label columns.")
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(frame[c])]
    values = _numeric(frame[features].to_numpy(dtype=None if non_numeric else np.float64),
                      non_numeric, "frame")
    bag_ids, positions = _group_rows(frame[bag].to_numpy(), bag)
    y = _bag_labels(bag_ids, positions, row_labels=None if label is None else frame[label].to_numpy(),
                    labels=labels, label_name=label)
    return [values[rows] for rows in positions], y, bag_ids


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
