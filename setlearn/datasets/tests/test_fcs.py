"""FCS files as instances, bags and pools: read_fcs, bags_from_fcs, pool_from_fcs on the committed fixture."""

import sys
from pathlib import Path

import numpy as np
import pytest

flowio = pytest.importorskip("flowio")

from setlearn.datasets import bags_from_fcs, make_bags_from, pool_from_fcs, read_fcs  # noqa: E402

FIXTURE = Path(__file__).with_name("data") / "himc_cd8_naive_300.fcs"
N_CELLS, N_CHANNELS = 300, 52


def _write_fcs(path, events, pnn, pns=None):
    with open(path, "wb") as handle:
        flowio.create_fcs(handle, np.asarray(events, dtype=np.float32).ravel().tolist(), pnn, opt_channel_names=pns)
    return path


def test_reads_every_channel_named_by_marker_with_asinh_cofactor_5():
    raw = read_fcs(FIXTURE, transform=None)
    cells = read_fcs(FIXTURE)
    assert cells.shape == (N_CELLS, N_CHANNELS) and list(cells.columns) == list(raw.columns)
    assert cells.columns[0] == "209Bi_CD16" and "Time" in cells.columns  # $PnS, or $PnN when it is all there is
    np.testing.assert_allclose(cells.to_numpy(), np.arcsinh(raw.to_numpy() / 5))
    np.testing.assert_allclose(read_fcs(FIXTURE, cofactor=150).to_numpy(), np.arcsinh(raw.to_numpy() / 150))
    # The values are the file's, as flowio reads them.
    np.testing.assert_array_equal(raw.to_numpy(), flowio.FlowData(str(FIXTURE)).as_array())
    assert raw["170Er_CD3"].median() > 50  # CD8 naive T cells: CD3 bright


def test_channels_by_marker_or_channel_name_in_the_order_given():
    cells = read_fcs(FIXTURE, channels=["Nd145Di", "162Dy_CD8a", "Time"], transform=None)
    everything = read_fcs(FIXTURE, transform=None)
    assert list(cells.columns) == ["145Nd_CD4", "162Dy_CD8a", "Time"]
    np.testing.assert_array_equal(cells.to_numpy(), everything[["145Nd_CD4", "162Dy_CD8a", "Time"]].to_numpy())


def test_no_such_channel_lists_the_channels_there_are():
    with pytest.raises(ValueError, match=r"has no channel 'CD8a', 'Dy999Di'\. Its channels .*162Dy_CD8a"):
        read_fcs(FIXTURE, channels=["CD8a", "162Dy_CD8a", "Dy999Di"])
    with pytest.raises(ValueError, match="same channel twice"):
        read_fcs(FIXTURE, channels=["Dy162Di", "162Dy_CD8a"])
    with pytest.raises(TypeError, match="list of channel names"):
        read_fcs(FIXTURE, channels="162Dy_CD8a")


def test_not_an_fcs_file(tmp_path):
    text = tmp_path / "cells.csv"
    text.write_text("CD3,CD8\n1,2\n")
    with pytest.raises(ValueError, match="is not an FCS file"):
        read_fcs(text)
    empty = tmp_path / "empty.fcs"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is not an FCS file"):
        read_fcs(empty)


@pytest.mark.parametrize("keep", [0.5, 0.9, 40 / 66675])
def test_truncated_fcs_file(tmp_path, keep):
    data = FIXTURE.read_bytes()
    cut = tmp_path / "cut.fcs"
    cut.write_bytes(data[: max(4, int(len(data) * keep))])
    with pytest.raises(ValueError, match="truncated or damaged"):
        read_fcs(cut)


def test_damaged_header(tmp_path):
    data = bytearray(FIXTURE.read_bytes())
    data[10:18] = b"  xx  xx"  # the text segment's start offset
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="Cannot read FCS file"):
        read_fcs(bad)


def test_several_data_sets_in_one_file(tmp_path):
    data = FIXTURE.read_bytes()
    assert data.count(b"/$NEXTDATA/0/") == 1
    several = tmp_path / "several.fcs"
    several.write_bytes(data.replace(b"/$NEXTDATA/0/", b"/$NEXTDATA/9/"))  # points at a second data set
    with pytest.raises(ValueError, match="holds several data sets"):
        read_fcs(several)


def test_missing_file_and_bad_transform(tmp_path):
    with pytest.raises(FileNotFoundError, match="No FCS file at"):
        read_fcs(tmp_path / "nowhere.fcs")
    with pytest.raises(ValueError, match="transform must be 'asinh' or None"):
        read_fcs(FIXTURE, transform="log")
    for cofactor in (0, -5, float("nan"), "5", True):
        with pytest.raises(ValueError, match="cofactor must be a positive number"):
            read_fcs(FIXTURE, cofactor=cofactor)


def test_without_flowio_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "flowio", None)
    with pytest.raises(ImportError, match=r"\.\[cytof\]"):
        read_fcs(FIXTURE)


def test_bags_from_fcs_one_bag_per_file(tmp_path):
    small = _write_fcs(tmp_path / "small.fcs", [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]], ["Ch1", "Ch2"], ["CD3", "CD8a"])
    wide = read_fcs(FIXTURE, channels=["170Er_CD3", "162Dy_CD8a"], transform=None).to_numpy()
    other = _write_fcs(tmp_path / "other.fcs", wide[:7], ["Ch1", "Ch2"], ["CD3", "CD8a"])
    X, y, markers = bags_from_fcs([small, other], labels=["healthy", "sick"])
    assert markers == ["CD3", "CD8a"] and y.tolist() == ["healthy", "sick"]
    assert [b.shape for b in X] == [(3, 2), (7, 2)] and X[0].dtype == np.float32
    np.testing.assert_allclose(X[0], np.arcsinh(np.array([[1, 10], [2, 20], [3, 30]]) / 5), rtol=1e-6)
    np.testing.assert_allclose(X[1], np.arcsinh(wide[:7] / 5), rtol=1e-6)
    X, y, _ = bags_from_fcs([str(FIXTURE)], channels=["170Er_CD3"], transform=None)
    assert y is None and X[0].shape == (N_CELLS, 1)


def test_bags_from_fcs_rejects_mismatched_input(tmp_path):
    small = _write_fcs(tmp_path / "small.fcs", [[1.0, 10.0]], ["Ch1", "Ch2"], ["CD3", "CD8a"])
    with pytest.raises(ValueError, match="have different channels"):
        bags_from_fcs([FIXTURE, small])
    with pytest.raises(ValueError, match="one label per file: 2 files"):
        bags_from_fcs([small, small], labels=[1, 0, 1])
    with pytest.raises(ValueError, match="paths is empty"):
        bags_from_fcs([])
    with pytest.raises(TypeError, match="list of FCS paths"):
        bags_from_fcs(small)
    with pytest.raises(ValueError, match="has no channel 'CD4'"):
        bags_from_fcs([small, FIXTURE], channels=["CD4"])


def test_pool_from_fcs_labels_cells_by_the_file_they_come_from(tmp_path):
    background = _write_fcs(tmp_path / "b.fcs", np.zeros((40, 2)), ["Ch1", "Ch2"], ["CD3", "CD8a"])
    planted = _write_fcs(tmp_path / "p.fcs", np.full((10, 2), 100.0), ["Ch1", "Ch2"], ["CD3", "CD8a"])
    instances, populations, markers = pool_from_fcs({1: planted, 0: [background, background]})
    assert markers == ["CD3", "CD8a"] and instances.shape == (90, 2)
    assert np.bincount(populations).tolist() == [80, 10]
    np.testing.assert_array_equal(instances[populations == 1], np.float32(np.arcsinh(20.0)))
    np.testing.assert_array_equal(instances[populations == 0], 0.0)
    X, y, importance, pops = make_bags_from(instances, populations, "mil", n_bags=10, bag_size=20,
                                            random_state=0, return_populations=True)
    for bag, imp in zip(X, importance):  # the planted cells are the important ones
        np.testing.assert_array_equal(imp == 1, bag[:, 0] > 0)
    assert y.sum() == 5


@pytest.mark.parametrize("given, error, match", [
    ({3: [FIXTURE]}, ValueError, "Populations are 0 \\(background\\), 1 and 2"),
    ({True: [FIXTURE]}, ValueError, "Populations are 0"),
    ({0: [FIXTURE], 1: []}, ValueError, "Population 1 has no FCS files"),
    ([FIXTURE], TypeError, "paths_by_population must be a dict"),
    ({}, TypeError, "paths_by_population must be a dict"),
])
def test_pool_from_fcs_rejects_bad_populations(given, error, match):
    with pytest.raises(error, match=match):
        pool_from_fcs(given)
