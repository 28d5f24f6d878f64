"""Sparse matrices are checked before they are densified: a corrupt one is a ValueError, never a segfault."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from setlearn.bags import bags_from_anndata


def _corrupt_csr(index):
    """A 3x2 CSR matrix whose last column index is ``index`` (scipy builds it without complaint)."""
    matrix = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]], dtype=np.float32))
    matrix.indices[-1] = index
    return matrix


def _cells(X):
    # Any object with obs, X, obsm and layers works, so the test does not depend on anndata's own checks.
    obs = pd.DataFrame({"donor": ["d1", "d1", "d2"]}, index=["c1", "c2", "c3"])
    return SimpleNamespace(obs=obs, X=X, obsm={}, layers={})


@pytest.mark.parametrize("index", [2, 7, -1])
def test_bags_from_anndata_refuses_an_out_of_range_column_index(index):
    with pytest.raises(ValueError, match=r"The sparse matrix adata.X is corrupt .*fresh copy"):
        bags_from_anndata(_cells(_corrupt_csr(index)), "donor")


def test_an_index_far_outside_does_not_crash_the_interpreter():
    # Before the check, an index of 1e8 made toarray() segfault (exit 139): run it in a child.
    code = (
        "import numpy as np, pandas as pd, scipy.sparse as sp\n"
        "from types import SimpleNamespace\n"
        "from setlearn.bags import bags_from_anndata\n"
        "m = sp.csr_matrix(np.eye(3, 2, dtype=np.float32)); m.indices[-1] = 100_000_000\n"
        "cells = SimpleNamespace(obs=pd.DataFrame({'donor': ['a', 'a', 'b']}), X=m, obsm={}, layers={})\n"
        "try:\n    bags_from_anndata(cells, 'donor')\nexcept ValueError:\n    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "refused", (done.returncode, done.stderr[-500:])


@pytest.mark.parametrize("fmt", ["csc", "coo", "bsr"])
def test_every_sparse_format_is_checked(fmt):
    from setlearn.bags._dense import densify

    matrix = sp.coo_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])).asformat(fmt)
    if fmt == "coo":
        matrix.col[-1] = 7
    else:
        matrix.indices[-1] = 7
    with pytest.raises(ValueError, match="The sparse matrix counts is corrupt"):
        densify(matrix, "counts")


def test_valid_sparse_dense_and_frames_densify_unchanged():
    from setlearn.bags._dense import densify

    dense = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    for fmt in ("csr", "csc", "coo", "bsr", "lil", "dok", "dia"):
        np.testing.assert_array_equal(densify(sp.csr_matrix(dense).asformat(fmt), "X"), dense)
        np.testing.assert_array_equal(densify(sp.csr_array(dense).asformat(fmt), "X"), dense)
    np.testing.assert_array_equal(densify(pd.DataFrame(dense), "X"), dense)
    np.testing.assert_array_equal(densify(dense.tolist(), "X"), dense)


@pytest.mark.parametrize("sparse", [False, True])
def test_bags_from_a_backed_anndata(tmp_path, sparse):
    anndata = pytest.importorskip("anndata")
    pytest.importorskip("h5py")
    counts = np.arange(6, dtype=np.float32).reshape(3, 2)
    cells = anndata.AnnData(sp.csr_matrix(counts) if sparse else counts,
                            obs=pd.DataFrame({"donor": ["d1", "d2", "d1"]}, index=["c1", "c2", "c3"]))
    with anndata.settings.override(allow_write_nullable_strings=True):  # pandas' str columns
        cells.write_h5ad(tmp_path / "cells.h5ad")
    backed = anndata.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    try:
        X, _, bag_ids = bags_from_anndata(backed, "donor")
    finally:
        backed.file.close()
    assert bag_ids.tolist() == ["d1", "d2"]
    np.testing.assert_array_equal(X[0], counts[[0, 2]])
