"""Real single cells: scanpy's bundled PBMC file, read with h5py."""


import os

import numpy as np
from sklearn.utils._param_validation import StrOptions, validate_params

from ._files import _file_in_package


# --------------------------------------------------------------------------- single cells

# scanpy ships this file as scanpy.datasets.pbmc68k_reduced(); it is read here
# with h5py alone, so that neither scanpy nor anndata has to be imported.
_PBMC_FILE = ("datasets", "10x_pbmc68k_reduced.h5ad")
_PBMC_LABELS = "bulk_labels"
_PBMC_REPRESENTATIONS = ("pca", "genes")
# From a checkout: setlearn is not on PyPI.
_CELLS_EXTRA = 'pip install -c constraints.txt ".[cells]"'


def _pbmc_path_in_scanpy():
    """Path of scanpy's bundled PBMC file, found without importing scanpy."""
    return _file_in_package(
        "scanpy", _PBMC_FILE,
        missing=("load_pbmc_cells() without a path reads the data file bundled with scanpy, which is "
                 "not installed. Pass path= to a copy of 10x_pbmc68k_reduced.h5ad: it is inside "
                 "scanpy's wheel, which 'pip download scanpy==1.11.5 --no-deps' fetches without "
                 "scanpy's dependencies (docs/datasets.md shows the commands). Reading it needs h5py: "
                 f"{_CELLS_EXTRA}."),
        misplaced=("Pass path= to a copy of 10x_pbmc68k_reduced.h5ad (it is inside the scanpy wheel, "
                   "at scanpy/datasets/)."),
    )


def _h5_strings(values):
    """Decode an array of HDF5 strings (fixed-length or variable-length) to str."""
    values = np.asarray(values)
    if values.dtype.kind == "S":
        return np.char.decode(values, "utf-8")
    if values.dtype.kind == "O":
        return np.array([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values.ravel()], dtype=str)
    return values.astype(str)


def _h5ad_index(f, name):
    """Row names of ``obs`` or ``var``, or None when the file has none."""
    node = f.get(name)
    if node is None:
        return None
    if hasattr(node, "keys"):  # a group (anndata >= 0.7)
        key = node.attrs.get("_index", "_index")
        key = key.decode() if isinstance(key, bytes) else key
        return _h5_strings(node[key][()]) if key in node else None
    fields = node.dtype.names or ()  # a compound dataset (anndata < 0.7)
    return _h5_strings(node["index"]) if "index" in fields else None


def _h5ad_categorical(f, column):
    """A categorical ``obs`` column as str (missing values, code -1, as "")."""
    obs = f["obs"]
    if hasattr(obs, "keys"):  # a group (anndata >= 0.7)
        if column not in obs:
            return None
        node = obs[column]
        if hasattr(node, "keys"):  # anndata >= 0.8: a group of codes and categories
            codes, categories = node["codes"][()], node["categories"][()]
        elif "categories" in node.attrs:  # anndata 0.7: a reference to the categories
            codes, categories = node[()], f[node.attrs["categories"]][()]
        else:  # a plain string column
            return _h5_strings(node[()])
    else:  # anndata < 0.7: codes in the compound obs, categories in uns
        if column not in (obs.dtype.names or ()):
            return None
        codes = obs[column]
        if np.asarray(codes).dtype.kind in "SO":
            return _h5_strings(codes)
        if f"uns/{column}_categories" not in f:
            raise ValueError(f"obs[{column!r}] holds category codes, but the file has no uns/{column}_categories.")
        categories = f[f"uns/{column}_categories"][()]
    labels = np.append(_h5_strings(categories), "")
    codes = np.asarray(codes, dtype=np.int64)
    n_categories = len(labels) - 1
    bad = (codes < -1) | (codes >= n_categories)
    if bad.any():
        raise ValueError(
            f"obs[{column!r}] is corrupt: {int(bad.sum())} category codes lie outside -1 (missing) .. "
            f"{n_categories - 1} (the {n_categories} categories), e.g. {codes[bad][:3].tolist()}. "
            f"Re-export the file, or replace it with a fresh copy."
        )
    return labels[np.where(codes < 0, n_categories, codes)]


def _h5ad_matrix(node):
    """A dense or CSR-sparse matrix stored in an .h5ad file, as a dense array."""
    if not hasattr(node, "keys"):
        return node[()]
    attrs = node.attrs
    fmt = attrs.get("encoding-type", attrs.get("h5sparse_format", ""))
    fmt = fmt.decode() if isinstance(fmt, bytes) else str(fmt)
    shape = tuple(int(n) for n in attrs.get("shape", attrs.get("h5sparse_shape", ())))
    if not fmt.startswith("csr") or len(shape) != 2:
        raise ValueError(f"Cannot read the matrix {node.name!r}: expected a dense or CSR matrix, got {fmt!r}.")
    from scipy.sparse import csr_matrix

    from ..bags._dense import corrupt_sparse_error, densify

    where = repr(node.name)
    try:
        matrix = csr_matrix((node["data"][()], node["indices"][()], node["indptr"][()]), shape=shape)
    except ValueError as exc:  # scipy's constructor checks the array lengths
        raise corrupt_sparse_error(where, exc) from None
    return densify(matrix, where)


def _h5ad_pca(f):
    obsm = f.get("obsm")
    if obsm is None:
        return None
    if hasattr(obsm, "keys"):  # anndata >= 0.7: one dataset per key
        return obsm["X_pca"][()] if "X_pca" in obsm else None
    return obsm["X_pca"] if "X_pca" in (obsm.dtype.names or ()) else None  # compound dataset


@validate_params(
    {"path": [str, os.PathLike, None], "representation": [StrOptions(set(_PBMC_REPRESENTATIONS))]},
    prefer_skip_nested_validation=True,
)
def load_pbmc_cells(path=None, *, representation="pca"):
    """700 human blood cells (PBMCs) with their cell types, as a pool for :func:`make_bags_from`.

    The 700-cell subset of 10x Genomics' PBMC 68k data set (Zheng et al.,
    2017) that scanpy bundles as ``scanpy.datasets.pbmc68k_reduced()``,
    processed by scanpy's authors (normalised, log-transformed, 765 highly
    variable genes, scaled; 50 principal components). Each cell carries one
    of 10 cell-type annotations (``bulk_labels``): Dendritic 240,
    CD14+ Monocyte 129, CD19+ B 95, CD4+/CD25 T Reg 68, CD8+ Cytotoxic T 54,
    CD8+/CD45RA+ Naive Cytotoxic 43, CD56+ NK 31, CD4+/CD45RO+ Memory 19,
    CD34+ 13, CD4+/CD45RA+/CD25- Naive T 8. The annotations were assigned by
    correlating each cell's expression with purified reference populations;
    they are labels, not measurements, and some cells are mislabelled.

    The file is read with h5py alone (neither scanpy nor anndata is
    imported), which works offline. From a checkout, install h5py with
    ``pip install -c constraints.txt ".[cells]"``; the file itself is in
    scanpy's wheel, which ``pip download scanpy==1.11.5 --no-deps`` fetches
    without scanpy's dependencies (see the datasets guide).

    Parameters
    ----------
    path : str or path-like, default=None
        The ``.h5ad`` file. ``None`` uses the copy inside the installed scanpy
        package (``scanpy/datasets/10x_pbmc68k_reduced.h5ad``), located
        without importing scanpy. The file may also be taken from the scanpy
        wheel and passed here, without installing scanpy.
    representation : {"pca", "genes"}, default="pca"
        ``"pca"``: the 50 principal components stored with the data
        (``obsm["X_pca"]``). ``"genes"``: the processed expression of the 765
        genes as stored (``X``: normalised, log-transformed and scaled per
        gene, mean about 0 and standard deviation about 1).

    Returns
    -------
    cells : sklearn.utils.Bunch
        With the attributes:

        data : ndarray of float32 of shape (n_cells, n_features)
            One row per cell (700 x 50 for ``"pca"``, 700 x 765 for ``"genes"``).
        cell_type : ndarray of str of shape (n_cells,)
            The cell-type annotation of every cell ("" where missing).
            Map two of them to populations 1 and 2 with
            :func:`cell_type_populations`.
        feature_names : ndarray of str of shape (n_features,)
            ``"PC1"``, ``"PC2"``, ... or the gene symbols.
        cell_names : ndarray of str of shape (n_cells,) or None
            The cell barcodes.
        representation : str
            ``"pca"`` or ``"genes"``, as asked.
        DESCR : str
            A description, with the number of cells of every type.

    Raises
    ------
    ImportError
        If h5py is not installed, or if ``path=None`` and scanpy is not
        installed.
    FileNotFoundError
        If ``path`` (or scanpy's copy of the file) does not exist.
    ValueError
        If ``representation`` is unknown, or the file lacks the cell types or
        the requested representation.

    See Also
    --------
    cell_type_populations : Cell types to populations 0/1/2.
    make_bags_from : Bags from a labelled pool of instances.

    Examples
    --------
    >>> from setlearn.datasets import cell_type_populations, load_pbmc_cells, make_bags_from
    >>> cells = load_pbmc_cells()  # doctest: +SKIP
    >>> cells.data.shape  # doctest: +SKIP
    (700, 50)
    >>> populations = cell_type_populations(cells.cell_type, "CD14+ Monocyte")  # doctest: +SKIP
    >>> X, y, importance = make_bags_from(cells.data, populations, "mil", n_bags=100,
    ...                                   bag_size=20, random_state=0)  # doctest: +SKIP
    """
    try:
        import h5py
    except ImportError as error:
        raise ImportError(
            f"load_pbmc_cells() reads the .h5ad file with h5py, which is not installed. "
            f"Install it with {_CELLS_EXTRA}."
        ) from error
    path = _pbmc_path_in_scanpy() if path is None else os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such .h5ad file: {path!r}.")

    try:
        f = h5py.File(path, "r")
    except OSError as exc:  # a text file, a truncated download, another format
        raise ValueError(
            f"{path!r} is not a readable .h5ad (HDF5) file ({exc}). Pass the 10x_pbmc68k_reduced.h5ad "
            f"file itself, not a text export of it, or replace it with a fresh copy."
        ) from None
    with f:
        if "obs" not in f:
            raise ValueError(f"{path!r} is not an .h5ad file of cells: it has no 'obs' table.")
        cell_type = _h5ad_categorical(f, _PBMC_LABELS)
        if cell_type is None:
            raise ValueError(f"{path!r} has no cell-type column {_PBMC_LABELS!r} in 'obs'.")
        if representation == "pca":
            data = _h5ad_pca(f)
            if data is None:
                raise ValueError(f"{path!r} has no principal components (obsm['X_pca']); use representation='genes'.")
            feature_names = np.array([f"PC{i + 1}" for i in range(data.shape[1])])
        else:
            if "X" not in f:
                raise ValueError(f"{path!r} has no expression matrix 'X'; use representation='pca'.")
            data = _h5ad_matrix(f["X"])
            feature_names = _h5ad_index(f, "var")
        cell_names = _h5ad_index(f, "obs")

    data = np.ascontiguousarray(data, dtype=np.float32)
    if data.ndim != 2 or len(data) != len(cell_type):
        raise ValueError(
            f"{path!r}: the {representation!r} matrix has shape {data.shape}, but there are "
            f"{len(cell_type)} cell types."
        )
    if feature_names is None or len(feature_names) != data.shape[1]:
        feature_names = np.array([f"x{i}" for i in range(data.shape[1])])

    from sklearn.utils import Bunch

    types, counts = np.unique(cell_type, return_counts=True)
    order = np.lexsort((types, -counts))
    descr = (
        "PBMC 68k, reduced (10x Genomics; Zheng et al., 2017), as bundled with scanpy "
        "(scanpy.datasets.pbmc68k_reduced).\n"
        f"{len(data)} cells x {data.shape[1]} features ({representation}); read from {path}.\n"
        f"Cell types ({_PBMC_LABELS}, assigned by correlation with purified populations): "
        + ", ".join(f"{types[i] or '(missing)'} {counts[i]}" for i in order)
        + "."
    )
    return Bunch(data=data, cell_type=cell_type, feature_names=feature_names, cell_names=cell_names,
                 representation=representation, DESCR=descr)


def cell_type_populations(cell_type, population_1, population_2=None):
    """Populations 0/1/2 from cell types, for :func:`make_bags_from`.

    Parameters
    ----------
    cell_type : array-like of str of shape (n_cells,)
        The cell type of every cell, e.g. ``load_pbmc_cells().cell_type``.
    population_1 : str or sequence of str
        The cell type(s) of population 1, the one every problem decides on.
    population_2 : str or sequence of str, default=None
        The cell type(s) of population 2, needed by ``"and"`` and ``"xor"``.
        Every other cell is population 0.

    Returns
    -------
    populations : ndarray of int of shape (n_cells,)
        The population (0, 1 or 2) of every cell.

    Raises
    ------
    ValueError
        If a cell type is not in ``cell_type`` (the message lists the known
        ones), or is given for both populations.

    Examples
    --------
    >>> from setlearn.datasets import cell_type_populations
    >>> cell_type = ["B", "T", "NK", "B", "Monocyte"]
    >>> cell_type_populations(cell_type, "B", population_2=["NK", "Monocyte"]).tolist()
    [1, 0, 2, 1, 2]
    """
    cell_type = np.asarray(cell_type)
    if cell_type.ndim != 1:
        raise ValueError(f"cell_type must be a 1-D array with one cell type per cell, got shape {cell_type.shape}.")
    cell_type = cell_type.astype(str)
    known = np.unique(cell_type).tolist()
    populations = np.zeros(len(cell_type), dtype=np.int64)
    seen = {}
    for pop, chosen in ((1, population_1), (2, population_2)):
        if chosen is None:
            if pop == 1:
                raise ValueError("population_1 must name at least one cell type.")
            continue
        chosen = [chosen] if isinstance(chosen, str) else list(chosen)
        if not chosen:
            raise ValueError(f"population_{pop} must name at least one cell type, got an empty list.")
        for name in chosen:
            if not isinstance(name, str) or name not in known:
                raise ValueError(
                    f"Unknown cell type {name!r} for population {pop}. Known cell types: "
                    f"{', '.join(map(repr, known))}."
                )
            if name in seen:
                raise ValueError(
                    f"Cell type {name!r} is given for population {seen[name]} and population {pop}; "
                    f"each cell type may belong to one population."
                )
            seen[name] = pop
        populations[np.isin(cell_type, chosen)] = pop
    return populations
