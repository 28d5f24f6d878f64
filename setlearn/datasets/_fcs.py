"""Cytometry (FCS) files as instances, bags and labelled pools, read with flowio."""

import os
from pathlib import Path

import numpy as np
import pandas as pd


_FLOWIO_EXTRA = 'pip install -c constraints.txt ".[cytof]" (from a setlearn checkout)'
_TRANSFORMS = ("asinh", None)
# An FCS file starts with "FCS" and its version ("FCS3.1"), then the segment offsets.
_MAGIC = b"FCS"


def _asinh(values, cofactor):
    """The cytometry transform ``asinh(x / cofactor)``: linear near 0, logarithmic for large counts."""
    return np.arcsinh(np.asarray(values, dtype=np.float64) / cofactor)


def _check_transform(transform, cofactor):
    if transform not in _TRANSFORMS:
        raise ValueError(f"transform must be 'asinh' or None (the raw values), got {transform!r}.")
    if (transform is not None and (isinstance(cofactor, bool) or not isinstance(cofactor, (int, float, np.number))
                                   or not np.isfinite(cofactor) or cofactor <= 0)):
        raise ValueError(
            f"cofactor must be a positive number (5 is usual for mass cytometry, 150 for flow cytometry), "
            f"got {cofactor!r}."
        )


def _flow_data(path):
    """flowio's ``FlowData`` of ``path``, with a message that says what is wrong when it is not a readable FCS file."""
    try:
        import flowio
    except ImportError:
        raise ImportError(f"Reading FCS files needs flowio, which is not installed. Install the extra: {_FLOWIO_EXTRA}.") \
            from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No FCS file at {str(path)!r}.")
    with open(path, "rb") as handle:
        magic = handle.read(len(_MAGIC))
    if magic != _MAGIC:
        raise ValueError(
            f"{str(path)!r} is not an FCS file: it does not start with 'FCS' and a version (FCS 2.0, 3.0, 3.1). "
            "Export the sample from your cytometry software as FCS."
        )
    try:
        data = flowio.FlowData(os.fspath(path))
        events = data.as_array(preprocess=True)
    except flowio.exceptions.MultipleDataSetsError:
        raise ValueError(
            f"FCS file {str(path)!r} holds several data sets; setlearn reads files with one. Split it, e.g. "
            "with flowio.read_multiple_data_sets(path) and FlowData.write_fcs for each data set."
        ) from None
    except (flowio.exceptions.FlowIOException, EOFError, ValueError, KeyError, IndexError) as exc:
        raise ValueError(
            f"Cannot read FCS file {str(path)!r}: {exc or type(exc).__name__}. The file may be truncated or "
            "damaged; export it again from the instrument's software."
        ) from None
    if events.shape != (data.event_count, data.channel_count):
        raise ValueError(
            f"FCS file {str(path)!r} declares {data.event_count} events of {data.channel_count} channels but holds "
            f"{events.size} values; it is truncated or damaged."
        )
    return data, events


def _column_names(data):
    """One name per channel: its marker ($PnS) where the file gives one, else its channel name ($PnN)."""
    return [pns.strip() or pnn for pnn, pns in zip(data.pnn_labels, data.pns_labels)]


def _select_channels(data, channels, path):
    """Indices of ``channels`` (each a $PnN or a $PnS name) in the file's order of ``channels``."""
    names = _column_names(data)
    if channels is None:
        return list(range(len(names)))
    if isinstance(channels, str) or not np.iterable(channels):
        raise TypeError(f"channels must be a list of channel names (or None for all), got {channels!r}.")
    index = {}
    for i, (pnn, pns) in enumerate(zip(data.pnn_labels, data.pns_labels)):
        index.setdefault(pnn, i)
        if pns.strip():
            index.setdefault(pns.strip(), i)
    missing = [c for c in channels if c not in index]
    if missing:
        raise ValueError(
            f"FCS file {str(path)!r} has no channel {', '.join(map(repr, missing))}. Its channels "
            f"($PnS marker, or $PnN where no marker is set): {', '.join(names)}."
        )
    picked = [index[c] for c in channels]
    if len(set(picked)) != len(picked):
        raise ValueError(f"channels names the same channel twice (by $PnN and $PnS?): {list(channels)!r}.")
    return picked


def read_fcs(path, channels=None, *, transform="asinh", cofactor=5):
    """Read the events (cells) of an FCS file as a table with marker names.

    The file is read with `flowio <https://github.com/whitews/FlowIO>`_
    (install it with the extra: ``pip install -c constraints.txt ".[cytof]"``), which
    applies the gain and log scaling the file declares.

    Parameters
    ----------
    path : str or path-like
        An FCS 2.0, 3.0 or 3.1 file with one data set.
    channels : list of str, default=None
        Channels to keep, in this order, each named by its marker (``$PnS``,
        e.g. ``"162Dy_CD8a"``) or its channel name (``$PnN``, e.g.
        ``"Dy162Di"``). ``None`` keeps every channel, technical ones (time,
        DNA, beads) included: choose the markers for learning.
    transform : {"asinh", None}, default="asinh"
        ``"asinh"`` returns ``arcsinh(x / cofactor)``, the usual transform
        of cytometry counts; ``None`` the values as stored.
    cofactor : float, default=5
        Cofactor of the asinh transform: 5 is usual for mass cytometry
        (CyTOF), 150 for fluorescence flow cytometry.

    Returns
    -------
    cells : pandas.DataFrame of shape (n_events, n_channels)
        One row per event, float64 values; the columns are the markers
        (``$PnS``), or the channel names (``$PnN``) of channels without one.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        When the file is not an FCS file, is truncated or damaged, lacks a
        requested channel, or ``transform``/``cofactor`` are invalid.
    ImportError
        When flowio is not installed.

    Examples
    --------
    >>> from importlib.resources import files
    >>> from setlearn.datasets import read_fcs
    >>> fixture = files("setlearn.datasets.tests") / "data" / "himc_cd8_naive_300.fcs"
    >>> cells = read_fcs(fixture, channels=["162Dy_CD8a", "Nd145Di"])
    >>> cells.shape, list(cells.columns)
    ((300, 2), ['162Dy_CD8a', '145Nd_CD4'])
    """
    _check_transform(transform, cofactor)
    data, events = _flow_data(path)
    picked = _select_channels(data, channels, path)
    values = events[:, picked]
    if transform == "asinh":
        values = _asinh(values, cofactor)
    names = _column_names(data)
    return pd.DataFrame(values, columns=[names[i] for i in picked])


def _read_same_channels(paths, channels, transform, cofactor, what):
    """Every file of ``paths`` as float32 cells, with one list of marker names shared by all."""
    if isinstance(paths, (str, os.PathLike)) or not np.iterable(paths):
        raise TypeError(f"{what} must be a list of FCS paths, got {paths!r}.")
    paths = list(paths)
    if not paths:
        raise ValueError(f"{what} is empty; give at least one FCS file.")
    tables, markers = [], None
    for path in paths:
        cells = read_fcs(path, channels, transform=transform, cofactor=cofactor)
        if markers is None:
            markers, first = list(cells.columns), path
        elif list(cells.columns) != markers:
            raise ValueError(
                f"FCS files {str(first)!r} and {str(path)!r} have different channels ({markers} vs "
                f"{list(cells.columns)}). Pass channels= to read the same markers from every file."
            )
        tables.append(cells.to_numpy(dtype=np.float32))
    return tables, markers


def bags_from_fcs(paths, labels=None, *, channels=None, transform="asinh", cofactor=5):
    """Bags from FCS files: one file per sample, one bag per file, its cells the instances.

    Parameters
    ----------
    paths : list of str or path-like
        One FCS file per sample (bag).
    labels : array-like of shape (n_files,), default=None
        The label of every sample, in the order of ``paths``.
    channels : list of str, default=None
        Markers to read, as in :func:`read_fcs`; every file must have them.
        ``None`` reads every channel, which then must be the same in every file.
    transform : {"asinh", None}, default="asinh"
        As in :func:`read_fcs`.
    cofactor : float, default=5
        As in :func:`read_fcs`.

    Returns
    -------
    X : list of ndarray of float32 of shape (n_cells, n_channels)
        One bag per file, cells in file order.
    y : ndarray of shape (n_files,) or None
        ``labels`` as an array, or ``None`` when not given.
    markers : list of str
        The name of every column of the bags.

    Raises
    ------
    ValueError
        When a file cannot be read (see :func:`read_fcs`), the files have
        different channels, or ``labels`` does not give one label per file.

    See Also
    --------
    pool_from_fcs : Cells gated into populations, for semi-synthetic bags with known important cells.

    Examples
    --------
    >>> from importlib.resources import files
    >>> from setlearn.datasets import bags_from_fcs
    >>> fixture = files("setlearn.datasets.tests") / "data" / "himc_cd8_naive_300.fcs"
    >>> X, y, markers = bags_from_fcs([fixture, fixture], labels=[0, 1],
    ...                               channels=["170Er_CD3", "162Dy_CD8a"])
    >>> len(X), X[0].shape, y.tolist(), markers
    (2, (300, 2), [0, 1], ['170Er_CD3', '162Dy_CD8a'])
    """
    X, markers = _read_same_channels(paths, channels, transform, cofactor, "paths")
    if labels is None:
        return X, None, markers
    y = np.asarray(labels)
    if y.shape != (len(X),):
        raise ValueError(f"labels must give one label per file: {len(X)} files, labels of shape {y.shape}.")
    return X, y, markers


def pool_from_fcs(paths_by_population, *, channels=None, transform="asinh", cofactor=5):
    """A labelled instance pool from gated FCS files: the cells of each population's files.

    Cytometry software exports a gate (a manually or automatically found cell
    population) as its own FCS file. Name the files of population 1 (and 2)
    and those of population 0, and :func:`make_bags_from` composes bags whose
    label depends on those populations, with their cells marked as the
    important instances: a test of whether attention finds a population
    planted in your own data.

    Parameters
    ----------
    paths_by_population : dict of {int: path or list of paths}
        FCS files of populations 0, 1 and (for AND / XOR) 2; population 0 is
        the background that never matters.
    channels : list of str, default=None
        Markers to read, as in :func:`read_fcs`; every file must have them.
    transform : {"asinh", None}, default="asinh"
        As in :func:`read_fcs`.
    cofactor : float, default=5
        As in :func:`read_fcs`.

    Returns
    -------
    instances : ndarray of float32 of shape (n_cells, n_channels)
        The cells of every file, population after population.
    populations : ndarray of int of shape (n_cells,)
        The population of every cell.
    markers : list of str
        The name of every column.

    Raises
    ------
    ValueError
        On a population other than 0, 1, 2, a population without files, or a
        file that cannot be read (see :func:`read_fcs`).

    Examples
    --------
    >>> from importlib.resources import files
    >>> from setlearn.datasets import make_bags_from, pool_from_fcs
    >>> fixture = files("setlearn.datasets.tests") / "data" / "himc_cd8_naive_300.fcs"
    >>> instances, populations, markers = pool_from_fcs({0: fixture, 1: fixture},
    ...                                                 channels=["170Er_CD3", "162Dy_CD8a"])
    >>> instances.shape, populations[[0, -1]].tolist()
    ((600, 2), [0, 1])
    >>> X, y, importance = make_bags_from(instances, populations, "mil", n_bags=4, bag_size=10,
    ...                                   random_state=0)
    >>> len(X), X[0].shape[1]
    (4, 2)
    """
    if not isinstance(paths_by_population, dict) or not paths_by_population:
        raise TypeError(
            "paths_by_population must be a dict such as {0: [background files], 1: [files of the population "
            f"to find]}}, got {paths_by_population!r}."
        )
    bad = [p for p in paths_by_population
           if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p not in (0, 1, 2)]
    if bad:
        raise ValueError(f"Populations are 0 (background), 1 and 2; paths_by_population has keys {bad!r}.")
    populations = sorted(paths_by_population)
    paths, owner = [], []
    for population in populations:
        given = paths_by_population[population]
        given = [given] if isinstance(given, (str, os.PathLike)) else list(given)
        if not given:
            raise ValueError(f"Population {population} has no FCS files; give at least one or leave it out.")
        paths += given
        owner += [population] * len(given)
    tables, markers = _read_same_channels(paths, channels, transform, cofactor, "paths_by_population")
    instances = np.concatenate(tables)
    labels = np.repeat(np.asarray(owner, dtype=np.int64), [len(t) for t in tables])
    return instances, labels, markers
