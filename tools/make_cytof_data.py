"""Build the CyTOF cells that setlearn ships, and the FCS fixture of its tests, from the gated FCS files.

Reads the 28 manually gated populations of the HIMC control PBMC sample (one FCS file per
gate; see setlearn/datasets/data/PROVENANCE.md) with setlearn.datasets.read_fcs (flowio) and
writes

* setlearn/datasets/data/cytof_himc.npz: the 37 protein markers of every distinct cell,
  asinh(x / 5) as float16, with its gate; what modality "cytof" draws from;
* setlearn/datasets/tests/data/himc_cd8_naive_300.fcs: 300 cells of the CD8-Naive gate, every
  channel, raw values, written with flowio: the fixture of the FCS reader's tests.

Run from the repository root (needs the cytof extra):

    python tools/make_cytof_data.py /path/to/cytof-himc

The output is deterministic: running it again writes the same arrays.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from setlearn.datasets._cytof import _COFACTOR, _DATA_FILE
from setlearn.datasets._fcs import _asinh, read_fcs

_PREFIX = "02Feb18_Helios2_Plate3_Sample1_HIMCctrl_"
# Channels that are not protein markers: acquisition, normalisation beads, DNA, viability.
_TECHNICAL = ("Time", "Event_length", "Center", "Offset", "Residual", "beadDist",
              "140Ce_Beads", "191Ir_DNA1", "193Ir_DNA2", "195Pt_Live")
_BARCODE = "CD45-BC"  # the five palladium / yttrium CD45 barcodes of the plate
_FIXTURE = Path("setlearn", "datasets", "tests", "data", "himc_cd8_naive_300.fcs")
_FIXTURE_GATE, _FIXTURE_CELLS = "CD8-Naive", 300


def _gate_files(folder):
    files = sorted(Path(folder).glob(f"{_PREFIX}*.fcs"))
    if len(files) != 28:
        sys.exit(f"expected the 28 gated FCS files {_PREFIX}<GATE>.fcs in {folder}, found {len(files)}")
    return {f.name[len(_PREFIX):-len(".fcs")]: f for f in files}


def _marker(channel):
    """'162Dy_CD8a' -> 'CD8a': the marker without its metal tag."""
    return channel.split("_", 1)[1]


def build_cells(folder):
    gates = _gate_files(folder)
    tables = {gate: read_fcs(path, transform=None) for gate, path in gates.items()}
    columns = list(next(iter(tables.values())).columns)
    if any(list(t.columns) != columns for t in tables.values()):
        sys.exit("the gated files do not share one channel layout")
    markers = [c for c in columns if c not in _TECHNICAL and _BARCODE not in c]
    names = list(gates)
    raw = np.concatenate([tables[g].to_numpy() for g in names])
    gate = np.repeat(np.arange(len(names), dtype=np.uint8), [len(tables[g]) for g in names])
    # A cell in two gates (every channel equal, Time included) has no single label:
    # both copies go, so no cell can sit in two populations or two splits.
    _, inverse, counts = np.unique(raw, axis=0, return_inverse=True, return_counts=True)
    keep = counts[inverse.ravel()] == 1
    dropped = Counter(names[g] for g in gate[~keep])
    cells = _asinh(raw[keep][:, [columns.index(m) for m in markers]], _COFACTOR).astype(np.float16)
    return cells, gate[keep], names, [_marker(m) for m in markers], dropped


def write_fixture(folder):
    import flowio

    path = _gate_files(folder)[_FIXTURE_GATE]
    source = flowio.FlowData(str(path))
    events = source.as_array(preprocess=True)
    # Every 15th cell (4,784 // 300): a sample spread over the acquisition, not its first seconds.
    picked = events[:: len(events) // _FIXTURE_CELLS][:_FIXTURE_CELLS].astype(np.float32)
    with open(_FIXTURE, "wb") as handle:
        flowio.create_fcs(handle, picked.ravel().tolist(), source.pnn_labels, opt_channel_names=source.pns_labels,
                          metadata_dict={"$CYT": source.text.get("cyt", ""), "$DATE": source.text.get("date", ""),
                                         "SOURCE": path.name})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of the 28 gated HIMC FCS files")
    args = parser.parse_args(argv)
    cells, gate, names, markers, dropped = build_cells(args.folder)
    np.savez_compressed(_DATA_FILE, cells=cells, gate=gate, gates=np.array(names), markers=np.array(markers))
    write_fixture(args.folder)
    print(f"{_DATA_FILE}: {len(cells)} cells x {len(markers)} markers, {_DATA_FILE.stat().st_size} bytes; "
          f"dropped (in two gates): {dict(dropped)}")
    for i, name in enumerate(names):
        print(f"  {name}: {int((gate == i).sum())}")
    print(f"{_FIXTURE}: {_FIXTURE_CELLS} cells of {_FIXTURE_GATE}, {_FIXTURE.stat().st_size} bytes")


if __name__ == "__main__":
    main()
