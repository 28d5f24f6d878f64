"""
Multiple-instance learning on real single cells: is a cell type present in a sample?
====================================================================================

Loads 700 blood cells (PBMCs) with their cell-type annotations from the file
that scanpy bundles (``setlearn.datasets.load_pbmc_cells``, read with h5py
only; 50 principal components per cell). The cells are split into disjoint
train and test halves, stratified by cell type, and bags ("samples" of 20-40
cells) are composed from each half with ``make_bags_from``:

* ``mil``, B cells: positive when the bag holds CD19+ B cells (10 % of it);
* ``mil``, monocytes: the same with CD14+ monocytes, which are harder to tell
  from the cells annotated "Dendritic" (240 of the 700);
* ``and``: positive when the bag holds both (5 % each).

An AttentionMILClassifier (default settings) is trained on 200 train bags and
scored on 200 test bags: bag accuracy, and iAUC-ROC (does the attention point
at the cells that decide the label?). Mean and standard deviation over three
seeds (bags, split of the cells and model).

Run from a checkout (about 5 seconds on 2 CPU cores)::

    pip install -c constraints.txt ".[cells]"
    pip download scanpy==1.11.5 --no-deps -d scanpy-wheel
    python -m zipfile -e scanpy-wheel/scanpy-1.11.5-py3-none-any.whl scanpy-wheel
    python examples/cells_mil.py scanpy-wheel/scanpy/datasets/10x_pbmc68k_reduced.h5ad

With scanpy installed, the path can be left out.
"""

import sys
import time

import numpy as np
from sklearn.model_selection import train_test_split

from setlearn import AttentionMILClassifier, importance_auroc_score
from setlearn.datasets import cell_type_populations, load_pbmc_cells, make_bags_from

TASKS = [  # name, problem, population 1, population 2
    ("mil, B cells", "mil", "CD19+ B", None),
    ("mil, monocytes", "mil", "CD14+ Monocyte", None),
    ("and, both", "and", "CD19+ B", "CD14+ Monocyte"),
]
SEEDS = (0, 1, 2)

start = time.perf_counter()
cells = load_pbmc_cells(sys.argv[1] if len(sys.argv) > 1 else None, representation="pca")
print(f"{cells.data.shape[0]} cells x {cells.data.shape[1]} principal components; "
      f"200 train / 200 test bags of 20-40 cells, half positive; mean (sd) over seeds {SEEDS}")
for name, problem, type_1, type_2 in TASKS:
    populations = cell_type_populations(cells.cell_type, type_1, population_2=type_2)
    accuracy, iauc = [], []
    for seed in SEEDS:
        # Split the cells, not the bags: no test bag holds a cell seen in training.
        train, test = train_test_split(np.arange(len(cells.data)), test_size=0.5,
                                       stratify=cells.cell_type, random_state=seed)
        bags = dict(problem=problem, n_bags=200, bag_size=(20, 40), witness_rate=0.1)
        Xtr, ytr, _ = make_bags_from(cells.data[train], populations[train], random_state=seed, **bags)
        Xte, yte, ite = make_bags_from(cells.data[test], populations[test], random_state=seed + 100, **bags)
        clf = AttentionMILClassifier(random_state=seed).fit(Xtr, ytr)
        accuracy.append(clf.score(Xte, yte))
        iauc.append(importance_auroc_score(ite, clf.explain(Xte), y=yte))
    print(f"{name:15s} test bag accuracy {np.mean(accuracy):.2f} ({np.std(accuracy):.2f})   "
          f"iAUC-ROC {np.mean(iauc):.2f} ({np.std(iauc):.2f})")
print(f"{time.perf_counter() - start:.0f} s")
