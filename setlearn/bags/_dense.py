"""Dense arrays from the matrices users hold: sparse, backed or DataFrame, checked before densifying.

Bags are dense arrays throughout setlearn, so every matrix that may be sparse
goes through :func:`densify`. scipy checks only the lengths of a sparse
matrix's arrays when it is built; a column index beyond the matrix (a corrupt
or crafted file) makes ``toarray()`` write outside its buffer, a segfault or a
silently wrong array. :func:`densify` checks every index first.
"""

import numpy as np
import scipy.sparse as sp


def corrupt_sparse_error(where, reason):
    """The ValueError for a sparse matrix whose structure is broken (one message everywhere)."""
    return ValueError(
        f"The sparse matrix {where} is corrupt ({reason}). Re-export the file it came from, or "
        f"replace it with a fresh copy."
    )


def _check_sparse_structure(matrix, where):
    """Raise a ValueError unless every stored index of ``matrix`` lies inside its shape."""
    if matrix.format in ("csr", "csc", "bsr"):
        try:
            # full_check: indices in bounds and indptr monotone, not only array lengths.
            matrix.check_format(full_check=True)
        except (ValueError, TypeError, IndexError) as exc:
            raise corrupt_sparse_error(where, exc) from None
        return matrix
    if matrix.format != "coo":
        # dok, lil, dia keep their entries in Python or numpy structures that
        # scipy converts with bounds-checked numpy code; check the result anyway.
        matrix = matrix.tocoo()
    coords = getattr(matrix, "coords", None) or (matrix.row, matrix.col)
    for axis, (index, n) in enumerate(zip(coords, matrix.shape)):
        index = np.asarray(index)
        if len(index) != len(matrix.data):
            raise corrupt_sparse_error(where, f"{len(index)} indices along axis {axis} for "
                                              f"{len(matrix.data)} values")
        if len(index) and (index.min() < 0 or index.max() >= n):
            raise corrupt_sparse_error(where, f"an index along axis {axis} lies outside 0..{n - 1}")
    return matrix


def densify(matrix, where):
    """A dense ndarray from a dense array, a scipy sparse matrix, a backed AnnData matrix or a DataFrame.

    Parameters
    ----------
    matrix : array-like, scipy.sparse matrix or array, anndata backed sparse dataset or DataFrame
        The matrix. A sparse one has the indices of its entries checked
        before it is densified.
    where : str
        How the matrix is called in error messages (e.g. ``"adata.X"``).

    Returns
    -------
    dense : ndarray

    Raises
    ------
    ValueError
        If a sparse matrix is corrupt: an index outside its shape, index
        pointers that decrease, or arrays of mismatched lengths.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from setlearn.bags._dense import densify
    >>> densify(sp.csr_matrix([[0, 1], [2, 0]]), "counts").tolist()
    [[0, 1], [2, 0]]
    """
    if not sp.issparse(matrix) and hasattr(matrix, "to_memory"):
        # A backed AnnData's sparse X (anndata's CSRDataset/CSCDataset): read it first.
        matrix = matrix.to_memory()
    if sp.issparse(matrix):
        return _check_sparse_structure(matrix, where).toarray()
    if hasattr(matrix, "to_numpy"):  # a DataFrame in obsm
        return matrix.to_numpy()
    return np.asarray(matrix)
