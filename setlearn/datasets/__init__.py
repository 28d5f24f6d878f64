"""Bags with instance-level ground truth: which instances decide the label.

Every bag is a set of instances drawn from *populations* 0, 1 and 2. A
*problem* (:data:`PROBLEMS`) turns the populations present in a bag into its
label, and names the populations that matter; those instances are marked in the
returned ``importance``, so attention weights can be scored against them.

Two makers share one sampling code path:

* :func:`make_bags_from` composes bags from any labelled pool of instances
  (``instances`` plus one population label 0/1/2 per instance);
* :func:`make_bags` builds such a pool for a built-in modality (Gaussian
  vectors, real 28x28 MNIST digits, scikit-learn's bundled 8x8 digits, or
  real CyTOF cells)
  and calls :func:`make_bags_from`.

The image modalities split their images into fixed, disjoint ``"train"``,
``"valid"`` and ``"test"`` pools (:func:`load_mnist_pool`,
:func:`load_digits_pool`; MNIST needs the optional ``mnist`` extra, or full
MNIST on disk: ``load_mnist_pool(path=...)``, ``make_bags(..., mnist_path=...)``).

:func:`make_single_concept_bags`, :func:`make_multi_concept_bags` and
:func:`make_false_frequency_bags` are Raff & Holt's (2023) algorithmic unit
tests for MIL models: train/test splits whose shortcut is reversed.

:func:`load_pbmc_cells` loads a real pool, 700 single cells with cell types
(optional extra ``cells``: ``pip install -c constraints.txt ".[cells]"``); :func:`cell_type_populations` maps two
cell types to populations 1 and 2. It is an RNA example, not the study's CyTOF.

:func:`load_cytof_pool` loads the ``"cytof"`` modality: 80,383 real mass-cytometry
cells (37 markers) gated into 28 populations, shipped with setlearn (GPL-3.0 data,
see ``setlearn/datasets/data/PROVENANCE.md``), split into fixed, disjoint pools like
the images. Your own cytometry: :func:`read_fcs` reads an FCS file (with flowio,
extra ``cytof``), :func:`bags_from_fcs` makes one bag per file, and
:func:`pool_from_fcs` turns gated files into a pool for :func:`make_bags_from`.

How a bag is made (see ``docs/datasets.md``):

1. Bag sizes are drawn, independently of the labels: a fixed int, or uniform
   on an inclusive ``(low, high)`` range (under the default composition,
   ``"independent"``, this is the mean size of the bag).
2. Exactly ``round(positive_fraction * n_bags)`` bags are positive, at random
   positions. Each bag gets a *composition* of its class (e.g. for AND: "only
   population 1", "only population 2" or "neither" for a negative bag), in
   exact proportions.
3. Per-bag population counts are drawn as ``composition`` (:data:`COMPOSITIONS`)
   says. By default ("independent") every deciding population is present
   independently (with a probability that balances the classes) and every
   population a bag holds gets a Poisson count independent of the label and of
   the other counts, so no strict subset of the populations tells more about the
   label than the rule allows (:func:`setlearn.inspection.audit_ground_truth`).
   The fixed-size compositions ("balanced", "renormalised", "study") draw
   multinomial counts (or exact ones under ``witness_rate``) and say where the
   rates of the populations a bag leaves out go.
4. The bag is filled with that many instances of each population, drawn from
   the pool, and shuffled: instances are never sorted by population.
"""

from ._problems import COMPOSITIONS, DEPRECATED_COMPOSITIONS, Composition, MODALITIES, PROBLEMS, Problem
from ._generators import make_bags, make_bags_from
from ._digits import load_digits_pool
from ._mnist import load_mnist_pool
from ._pbmc import cell_type_populations, load_pbmc_cells
from ._cytof import CYTOF_MAPPINGS, CYTOF_MARKERS, load_cytof_pool
from ._fcs import bags_from_fcs, pool_from_fcs, read_fcs
from ._algorithmic import make_false_frequency_bags, make_multi_concept_bags, make_single_concept_bags

__all__ = [
    "Composition",
    "Problem",
    "PROBLEMS",
    "COMPOSITIONS",
    "DEPRECATED_COMPOSITIONS",
    "MODALITIES",
    "make_bags",
    "make_bags_from",
    "load_digits_pool",
    "load_mnist_pool",
    "load_pbmc_cells",
    "load_cytof_pool",
    "CYTOF_MAPPINGS",
    "CYTOF_MARKERS",
    "read_fcs",
    "bags_from_fcs",
    "pool_from_fcs",
    "cell_type_populations",
    "make_single_concept_bags",
    "make_multi_concept_bags",
    "make_false_frequency_bags",
]
