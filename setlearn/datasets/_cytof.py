"""Real mass-cytometry (CyTOF) cells with manual-gating labels, shipped with setlearn, as an instance pool."""

from functools import lru_cache
from pathlib import Path

import numpy as np

from ._pools import _pool_mask


# Built by tools/make_cytof_data.py from the gated FCS files; GPL-3.0, see data/PROVENANCE.md.
_DATA_FILE = Path(__file__).with_name("data") / "cytof_himc.npz"
_COFACTOR = 5  # asinh(x / 5), the usual transform of mass-cytometry counts

CYTOF_MARKERS = (
    "CD16", "CD26", "CD8a", "CD33", "CD161", "CCR10", "CCR7", "CCR9", "CD3", "ICOS", "CD45RA", "CD27", "CXCR3",
    "NKG2A", "CD14", "CD127", "CD57", "HLA-DR", "CD62L", "CD19", "IgG", "CD4", "IgD", "IgA", "CD86", "CCR6", "CD20",
    "CD56", "TCRgd", "CD123", "CD11c", "CD25", "CXCR5", "CD38", "a4b7", "PD-1", "CLA",
)
"""The 37 protein markers of :func:`load_cytof_pool`, in column order."""

_CD4 = ("CD4-Naive", "CD4-CM", "CD4-EM", "CD4-Eff", "CD4pos_Treg")
_CD8 = ("CD8-Naive", "CD8-CM", "CD8-EM", "CD8-Eff")
CYTOF_MAPPINGS = {
    # The study's shape: a bulk lineage (CD4 T cells) against two related subsets of a
    # sister lineage that differ in a few markers (CD8 effector: CD45RA+ CCR7- CD57+;
    # CD8 naive: CD45RA+ CCR7+ CD27+), as luminal cells against the basal clusters B2, B1.
    "subsets": {0: _CD4, 1: ("CD8-Eff",), 2: ("CD8-Naive",)},
    # An easier contrast: three lineages that differ in many markers.
    "lineages": {
        0: _CD4 + _CD8 + ("Tcells_TCRgd", "CD4CD8dblneg", "CD4CD8dblpos"),
        1: ("Monocytes-CD16negCD14pos", "Monocytes-CD16posCD14pos"),
        2: ("B-IgDposCD27neg", "B-IgDposCD27pos", "B-IgDnegCD27neg", "B-IgDnegCD27pos"),
    },
}
"""Gates of populations 0, 1 and 2 of :func:`load_cytof_pool`, by mapping name."""


@lru_cache(maxsize=1)
def _read_cytof():
    """Cells (float32, read-only), gate of every cell, gate names and marker names of the shipped file."""
    with np.load(_DATA_FILE, allow_pickle=False) as data:
        cells = data["cells"].astype(np.float32)
        gate = data["gate"].astype(np.int64)
        gates, markers = tuple(data["gates"].tolist()), tuple(data["markers"].tolist())
    cells.setflags(write=False)
    gate.setflags(write=False)
    return cells, gate, gates, markers


def _check_mapping(mapping, gates):
    """``{population: gate names}`` of ``mapping`` (a name of :data:`CYTOF_MAPPINGS` or such a dict)."""
    if isinstance(mapping, str):
        if mapping not in CYTOF_MAPPINGS:
            raise ValueError(
                f"mapping must be one of {', '.join(map(repr, CYTOF_MAPPINGS))} or a dict "
                f"{{population: [gate, ...]}}, got {mapping!r}."
            )
        return CYTOF_MAPPINGS[mapping]
    if not isinstance(mapping, dict) or not mapping:
        raise TypeError(f"mapping must be a mapping name or a dict {{population: [gate, ...]}}, got {mapping!r}.")
    if sorted(mapping) not in ([0, 1], [0, 1, 2]):
        raise ValueError(f"mapping must give the gates of populations 0, 1 (and 2), got populations {list(mapping)}.")
    seen = {}
    for population, names in mapping.items():
        names = (names,) if isinstance(names, str) else tuple(names)
        unknown = [g for g in names if g not in gates]
        if unknown or not names:
            what = f"unknown gates {unknown!r}" if unknown else "no gate"
            raise ValueError(f"mapping[{population}] names {what}; the gates are: {', '.join(gates)}.")
        for g in names:
            if seen.setdefault(g, population) != population:
                raise ValueError(f"Gate {g!r} is in populations {seen[g]} and {population}; give each gate one.")
    return mapping


def load_cytof_pool(pool="all", *, mapping="subsets"):
    """Real CyTOF cells with manual-gating labels as a labelled instance pool.

    80,383 peripheral blood mononuclear cells of one healthy donor (Stanford
    Human Immune Monitoring Center, FlowRepository FR-FCM-Z2YR), manually
    gated into 28 populations, 37 protein markers each as ``asinh(x / 5)``.
    The cells ship with setlearn (``setlearn/datasets/data/cytof_himc.npz``,
    3.8 MB, GPL-3.0: see ``PROVENANCE.md`` beside it); nothing is downloaded.

    Parameters
    ----------
    pool : {"train", "valid", "test", "all"}, default="all"
        Which cells. The split is fixed and stratified by gate: within each
        gate, in acquisition order, the cell at position ``p`` goes to
        ``"valid"`` when ``p % 5 == 3``, to ``"test"`` when ``p % 5 == 4``,
        and to ``"train"`` otherwise (60 / 20 / 20, the same rule as the image
        pools). No two pools share a cell, whatever the mapping.
    mapping : {"subsets", "lineages"} or dict, default="subsets"
        Which gates are populations 0, 1 and 2 (:data:`CYTOF_MAPPINGS`);
        cells of other gates are left out.

        - ``"subsets"`` (the study's shape): 0 = CD4 T cells (the five CD4
          gates, a bulk lineage), 1 = CD8 effector, 2 = CD8 naive T cells,
          two related subsets of the sister lineage.
        - ``"lineages"`` (an easier contrast): 0 = T cells, 1 = CD14+
          monocytes, 2 = B cells.
        - a dict ``{0: [gate, ...], 1: [...], 2: [...]}`` of gate names.

    Returns
    -------
    cells : ndarray of float32 of shape (n_cells, 37)
        Marker values, columns in the order of :data:`CYTOF_MARKERS`.
    populations : ndarray of int of shape (n_cells,)
        The population of every cell.

    Raises
    ------
    ValueError
        On an unknown pool or mapping, or a mapping with unknown gates.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.datasets import load_cytof_pool
    >>> cells, populations = load_cytof_pool("test")
    >>> cells.shape, np.bincount(populations).tolist()
    ((7720, 37), [4378, 2386, 956])
    """
    cells, gate, gates, _ = _read_cytof()
    mapping = _check_mapping(mapping, gates)
    populations = np.full(len(gate), -1, dtype=np.int64)
    for population, names in mapping.items():
        names = (names,) if isinstance(names, str) else names
        populations[np.isin(gate, [gates.index(g) for g in names])] = population
    keep = _pool_mask(gate, pool) & (populations >= 0)
    return cells[keep], populations[keep]
