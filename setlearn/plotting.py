"""Figures for attention interpretability.

Every function draws on a matplotlib ``Axes`` passed as ``ax`` (or on a new
figure when ``ax`` is None) and returns what it drew on, so the figures of
:func:`setlearn.assess` and a user's own notebook share one code path.
pyplot is only imported when a function has to create a figure itself.

Examples
--------
>>> import numpy as np
>>> from setlearn.plotting import plot_bag_attention
>>> bag = np.random.default_rng(0).random((6, 8, 8))
>>> fig = plot_bag_attention(bag, np.full(6, 1 / 6), importance=[1, 0, 0, 0, 0, 1])
"""

import numpy as np

__all__ = [
    "plot_iauc_by_configuration",
    "plot_accuracy_vs_iauc",
    "accuracy_iauc_counts",
    "wilson_interval",
    "plot_bad_vs_ensemble_size",
    "plot_bag_attention",
    "plot_attention_pca",
    "set_figure_title",
]

_KIND_LABELS = {"one": "one configuration", "several": "several configurations"}


def set_figure_title(fig, title, **kwargs):
    """A figure title (``fig.suptitle``) wrapped onto as many lines as it needs to fit the figure.

    A long title on a narrow figure (one panel of a report) would otherwise be
    cut at both edges; the words are wrapped at spaces, measured with the
    figure's renderer, so that every line fits within the figure's width.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    title : str
        The title.
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.suptitle` (e.g. ``fontsize``).

    Returns
    -------
    text : matplotlib.text.Text
        The title.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from setlearn.plotting import set_figure_title
    >>> fig = Figure(figsize=(2, 2))
    >>> set_figure_title(fig, "a title far too long for a figure two inches wide").get_text().count("\\n") > 0
    True
    """
    text = fig.suptitle(title, **kwargs)
    width = 0.96 * fig.bbox.width  # a margin, so that a line never touches the edge
    lines = []
    for paragraph in str(title).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            text.set_text(candidate)
            if line and text.get_window_extent().width > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    text.set_text("\n".join(lines))
    return text


def _metric_label(metric):
    """'iauc_roc' -> 'iAUC-ROC', for axis labels."""
    return metric.replace("iauc_", "iAUC-").replace("roc", "ROC").replace("pr", "PR")


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(layout="constrained")[1]


def plot_iauc_by_configuration(rows, *, metric="iauc_roc", threshold=0.65, labels=None, ax=None):
    """Spread of iAUC per configuration: a box plot with every model as a dot.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per model, with a ``config_id`` column and ``metric``.
    metric : str, default="iauc_roc"
        The column to plot (``"iauc_pr"`` for the average precision).
    threshold : float or None, default=0.65
        Draws the line below which an explanation counts as bad.
    labels : mapping of str to str, default=None
        Tick label of each ``config_id`` (the id itself when missing), e.g.
        from :func:`configuration_label`.
    ax : matplotlib.axes.Axes, default=None
        Draw on these axes (new pyplot axes when None).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.plotting import plot_iauc_by_configuration
    >>> rows = pd.DataFrame({"config_id": ["a", "a", "b"], "iauc_roc": [0.9, 0.5, 0.8]})
    >>> ax = plot_iauc_by_configuration(rows)
    """
    ax = _axes(ax)
    groups = sorted(rows.groupby("config_id")[metric])
    values = [g.to_numpy() for _, g in groups]
    ax.boxplot(values, showfliers=False, widths=0.6)
    # Jitter so that equal scores of different seeds stay visible.
    rng = np.random.default_rng(0)
    for i, v in enumerate(values, start=1):
        ax.scatter(i + rng.uniform(-0.18, 0.18, len(v)), v, s=10, alpha=0.6, color="C0", zorder=3)
    labels = {} if labels is None else labels
    ax.set_xticks(range(1, len(values) + 1), [labels.get(name, name) for name, _ in groups], fontsize="small")
    if threshold is not None:
        ax.axhline(threshold, color="C3", ls="--", lw=1, label=f"bad (<= {threshold})")
        ax.legend(loc="lower right", fontsize="small")
    ax.set_ylim(min(0.0, np.nanmin(rows[metric]) if len(rows) else 0.0), 1.02)
    ax.set_xlabel("configuration")
    ax.set_ylabel(_metric_label(metric))
    return ax


def _bin_edges(low, high, bins):
    # Rounded so that a round threshold such as 0.9 is a bin edge exactly, and a model at
    # exactly 0.9 falls in the bin above it, as it does in the tables (">= 0.9").
    return np.round(np.linspace(low, high, bins + 1), 10)


def accuracy_iauc_counts(rows, *, accuracy="valid_accuracy", metric="iauc_roc", bins=10):
    """Models per (accuracy, iAUC) cell: the numbers behind :func:`plot_accuracy_vs_iauc`.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per model.
    accuracy : str, default="valid_accuracy"
        The accuracy column (x axis).
    metric : str, default="iauc_roc"
        The importance metric column (y axis).
    bins : int, default=10
        Bins per axis: accuracy over [0.5, 1] (lower accuracies count in the
        first bin), iAUC over [0, 1]. Each bin holds its left edge.

    Returns
    -------
    counts : ndarray of int, shape (bins, bins)
        ``counts[i, j]``: models in accuracy bin ``i`` and iAUC bin ``j``.
    accuracy_edges, metric_edges : ndarray of shape (bins + 1,)
        The bin edges of each axis.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.plotting import accuracy_iauc_counts
    >>> rows = pd.DataFrame({"valid_accuracy": [1.0, 0.95, 0.6], "iauc_roc": [0.9, 0.4, 0.5]})
    >>> counts, _, _ = accuracy_iauc_counts(rows, bins=2)
    >>> counts.tolist()
    [[0, 1], [1, 1]]
    """
    x_edges, y_edges = _bin_edges(0.5, 1.0, bins), _bin_edges(0.0, 1.0, bins)
    x = np.clip(rows[accuracy].to_numpy(float), 0.5, 1.0)
    y = np.clip(rows[metric].to_numpy(float), 0.0, 1.0)
    counts, _, _ = np.histogram2d(x, y, bins=[x_edges, y_edges])
    return counts.astype(int), x_edges, y_edges


def plot_accuracy_vs_iauc(rows, *, accuracy="valid_accuracy", metric="iauc_roc", bins=10, good=0.9, ax=None):
    """Draw models per cell of accuracy against iAUC: do accurate models explain well.

    Every non-empty cell shows its count; the shading is logarithmic, so that one
    crowded cell does not wash out the cells of one or two models. There is no
    colour bar: the printed counts are the scale.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per model.
    accuracy : str, default="valid_accuracy"
        The accuracy column (x axis).
    metric : str, default="iauc_roc"
        The importance metric column (y axis).
    bins : int, default=10
        Bins per axis (see :func:`accuracy_iauc_counts`).
    good : float or None, default=0.9
        Draws dashed lines at this accuracy and this iAUC: models right of the
        vertical line and below the horizontal one look accurate but explain
        worse than ``good`` (silent failures).
    ax : matplotlib.axes.Axes, default=None
        Draw on these axes (new pyplot axes when None).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.plotting import plot_accuracy_vs_iauc
    >>> rows = pd.DataFrame({"valid_accuracy": [1.0, 0.95, 0.6], "iauc_roc": [0.9, 0.4, 0.5]})
    >>> ax = plot_accuracy_vs_iauc(rows)
    >>> sorted(t.get_text() for t in ax.texts)
    ['1', '1', '1']
    """
    from matplotlib.colors import LogNorm

    ax = _axes(ax)
    counts, x_edges, y_edges = accuracy_iauc_counts(rows, accuracy=accuracy, metric=metric, bins=bins)
    shown = np.ma.masked_equal(counts, 0).T  # empty cells stay blank
    norm = LogNorm(vmin=1, vmax=max(2, counts.max()))
    ax.pcolormesh(x_edges, y_edges, shown, cmap="Blues", norm=norm, edgecolors="0.85", linewidth=0.3)
    for i, j in zip(*np.nonzero(counts)):
        dark = norm(counts[i, j]) > 0.6
        ax.text((x_edges[i] + x_edges[i + 1]) / 2, (y_edges[j] + y_edges[j + 1]) / 2, str(counts[i, j]),
                ha="center", va="center", fontsize=6.5, color="white" if dark else "black")
    if good is not None:
        ax.axvline(good, color="C3", ls="--", lw=0.8)
        ax.axhline(good, color="C3", ls="--", lw=0.8)
    ax.set_xlim(x_edges[0], x_edges[-1])
    ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xlabel(accuracy.replace("_", " ") + " (below 0.5: first column)")
    ax.set_ylabel(_metric_label(metric))
    return ax


def wilson_interval(successes, n, *, z=1.96):
    """Wilson score interval of a proportion (95 % with the default ``z``).

    Unlike the normal approximation it stays within [0, 1] and is not of zero
    width at 0 or n successes, which matters for the small counts of an assessment.

    Parameters
    ----------
    successes, n : array-like of int
        Successes and trials (n > 0).
    z : float, default=1.96
        Standard-normal quantile of the confidence level (1.96 for 95 %).

    Returns
    -------
    low, high : ndarray of float
        The interval's bounds, as proportions.

    Examples
    --------
    >>> from setlearn.plotting import wilson_interval
    >>> low, high = wilson_interval(0, 10)
    >>> float(low), round(float(high), 3)
    (0.0, 0.278)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any((k < 0) | (k > n)):
        raise ValueError("wilson_interval needs 0 <= successes <= n and n > 0.")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


# Distinct markers and line styles, and a small sideways offset, so that two kinds
# of ensemble with identical numbers are both visible.
_KIND_STYLES = {"one": dict(marker="o", ls="-", offset=-0.08), "several": dict(marker="s", ls="--", offset=0.08)}


def plot_bad_vs_ensemble_size(curve, *, ymax=None, ax=None):
    """% of bad explanations against ensemble size, with 95 % Wilson intervals.

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``kind`` ("one" / "several" configurations), ``size``,
        ``pct_bad`` and, for the intervals, ``n`` (models or draws behind each
        point), as from :func:`setlearn.assessment.bad_fraction_by_ensemble_size`.
    ymax : float, default=None
        Top of the y axis, to give several panels one scale (from the data when None).
    ax : matplotlib.axes.Axes, default=None
        Draw on these axes (new pyplot axes when None).

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pandas as pd
    >>> from setlearn.plotting import plot_bad_vs_ensemble_size
    >>> curve = pd.DataFrame({"kind": ["one", "one", "several", "several"], "size": [1, 2, 1, 2],
    ...                       "n": [20, 10, 20, 10], "pct_bad": [20.0, 5.0, 20.0, 0.0]})
    >>> ax = plot_bad_vs_ensemble_size(curve)
    """
    from matplotlib.ticker import MaxNLocator

    ax = _axes(ax)
    top = 0.0
    for kind, line in curve.sort_values("size").groupby("kind"):
        style = _KIND_STYLES.get(kind, dict(marker="^", ls=":", offset=0.0))
        x = line["size"].to_numpy(float) + style["offset"]
        y = line["pct_bad"].to_numpy(float)
        if "n" in line:
            n = line["n"].to_numpy()
            low, high = wilson_interval(np.round(y / 100 * n), n)
            # Clipped at 0: at 0 % or 100 % the bound equals the point up to rounding (-1e-16),
            # and matplotlib refuses a negative error bar.
            yerr = np.clip(np.vstack([y - 100 * low, 100 * high - y]), 0, None)
            top = max(top, float((100 * high).max()))
        else:
            yerr = None
        # clip_on=False: an all-zero curve is drawn over the axis, not hidden under it.
        ax.errorbar(x, y, yerr=yerr, marker=style["marker"], ls=style["ls"], ms=4, capsize=2, lw=1.2,
                    label=_KIND_LABELS.get(kind, kind), clip_on=False, zorder=3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("ensemble size (1 = single model)")
    ax.set_ylabel("% bad explanations (95% CI)")
    if ymax is None:
        # A floor of 5 % keeps an all-zero curve from being drawn on a meaningless 0-0.05 scale.
        ymax = max(5.0, 1.05 * max(top, curve["pct_bad"].max() if len(curve) else 0.0))
    # Slightly below 0, so that a curve at 0 % sits above the axis line, not on it.
    ax.set_ylim(-0.03 * ymax, ymax)
    if ax.lines:  # an empty curve draws no line, and a legend of nothing warns
        ax.legend(fontsize="small")
    return ax


def _as_image(instance):
    image = np.squeeze(np.asarray(instance, dtype=float))
    if image.ndim == 1:
        side = int(round(np.sqrt(image.size)))
        if side * side != image.size:
            raise ValueError(f"An instance of {image.size} values is not a square image; pass images.")
        image = image.reshape(side, side)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)  # channels first (torch) -> last (matplotlib)
    return image


def plot_bag_attention(bag, attention, *, importance=None, max_instances=None, sort=True, ncols=10,
                       key=True, title=None, title_fontsize=9, fig=None):
    """Show every image of a bag with the attention the model gave it.

    Parameters
    ----------
    bag : array-like of shape (n_instances, height, width) or (n_instances, channels, h, w)
        The images (flat square images of shape (n_instances, h * w) work too).
    attention : array-like of shape (n_instances,)
        The model's attention weights for this bag.
    importance : array-like of shape (n_instances,), default=None
        True importance: important images get a red frame.
    max_instances : int, default=None
        Show at most this many images (the most attended first when ``sort``).
    sort : bool, default=True
        Order the images by decreasing attention.
    ncols : int, default=10
        Images per row of the grid.
    key : bool, default=True
        Write a key under the images: what the red frame and the numbers mean,
        the uniform weight 1/n to compare them with, and how many images are shown.
    title : str, default=None
        A title above the images, wrapped to the figure's width (room is made
        for every line).
    title_fontsize : float, default=9
        Its font size, in points.
    fig : matplotlib.figure.Figure, default=None
        Draw on this figure (new pyplot figure when None).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.plotting import plot_bag_attention
    >>> bag = np.random.default_rng(0).random((4, 8, 8))
    >>> fig = plot_bag_attention(bag, [0.7, 0.1, 0.1, 0.1], importance=[1, 0, 0, 0])
    >>> len([ax for ax in fig.axes if ax.get_visible()])
    4
    """
    attention = np.asarray(attention, dtype=float)
    if len(attention) != len(bag):
        raise ValueError(f"attention has {len(attention)} weights but the bag has {len(bag)} images.")
    order = np.argsort(-attention, kind="stable") if sort else np.arange(len(bag))
    order = order[:max_instances]
    ncols = min(ncols, len(order))
    nrows = int(np.ceil(len(order) / ncols))
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure()
    key_height = 0.55 if key else 0.0
    width = max(1.1 * ncols, 6.0 if key else 0.0)
    fig.set_size_inches(width, 1.25 * nrows + 0.4 + key_height)
    title_height = 0.0
    if title is not None:
        # Wrapped at the final width first: the number of lines sets the room above the images.
        n_lines = set_figure_title(fig, title, fontsize=title_fontsize).get_text().count("\n") + 1
        title_height = n_lines * 1.3 * title_fontsize / 72
    height = 1.25 * nrows + 0.4 + key_height + title_height
    fig.set_size_inches(width, height)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    if key or title is not None:
        fig.subplots_adjust(bottom=(key_height + 0.05) / height, top=1 - (0.4 + title_height) / height)
    if key:
        shown = "every image" if len(order) == len(bag) else f"the {len(order)} of {len(bag)} images"
        shown += " in decreasing attention" if sort else " in bag order"
        frame = "Red frame: an important instance (known by construction). " if importance is not None else ""
        fig.text(0.01, 0.02, f"{frame}Number above an image: its attention weight (a bag's weights sum to 1; "
                 f"uniform would be 1/{len(bag)} = {1 / len(bag):.3f}).\nShowing {shown}; "
                 f"they hold {attention[order].sum():.0%} of the bag's attention.", fontsize=7, va="bottom")
    top = attention.max()
    for ax, i in zip(axes, order):
        ax.imshow(_as_image(bag[i]), cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
        # Title colour tracks the weight, so the attended images stand out at a glance.
        ax.set_title(f"{attention[i]:.3f}", fontsize=7, color=(attention[i] / top if top > 0 else 0, 0, 0.4))
        important = importance is not None and bool(np.asarray(importance)[i])
        for spine in ax.spines.values():
            spine.set_color("C3" if important else "0.8")
            spine.set_linewidth(2.5 if important else 0.5)
    for ax in axes[len(order):]:
        ax.set_visible(False)
    return fig


def plot_attention_pca(bags, scores=None, *, importance=None, max_instances=3000, random_state=0, ax=None,
                       colorbar=True):
    """The instances of some bags on their first two principal components, coloured by attention.

    The study's Fig. 3: a model whose attention works is near-constant on the
    unimportant instances and rises sharply over the important ones; a bad one is
    near-uniform. Attention is shown relative to uniform (``attention x bag
    size``: 1 = the bag's uniform weight), so that bags of different sizes share
    one scale. The principal components are computed from every instance of
    ``bags`` (full SVD: the same bags give the same axes, so panels of several
    models line up); at most ``max_instances`` of them are drawn.

    Parameters
    ----------
    bags : sequence of array-like of shape (n_instances, ...)
        The bags; each instance is flattened to a feature vector.
    scores : sequence of array-like, default=None
        One attention (or explainer score) array per bag. ``None``: colour by
        ``importance`` instead (the instance labels).
    importance : sequence of array-like, default=None
        1 for the important instances, one array per bag: they are drawn as
        triangles, the others as dots. Required when ``scores`` is None.
    max_instances : int, default=3000
        At most this many instances are drawn (a random subset, ``random_state``).
    random_state : int, default=0
        Seeds the subset.
    ax : matplotlib.axes.Axes, default=None
        Draw on these axes (new pyplot axes when None).
    colorbar : bool, default=True
        Add a colour bar for the attention.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        When ``scores`` or ``importance`` do not hold one value per instance, or
        neither is given.

    Examples
    --------
    >>> import numpy as np
    >>> from setlearn.plotting import plot_attention_pca
    >>> rng = np.random.default_rng(0)
    >>> bags = [rng.normal(size=(5, 4)) for _ in range(3)]
    >>> ax = plot_attention_pca(bags, [np.full(5, 0.2)] * 3, importance=[[1, 0, 0, 0, 0]] * 3)
    >>> ax.get_xlabel()[:4]
    'PC 1'
    """
    from matplotlib.colors import Normalize
    from sklearn.decomposition import PCA

    bags = [np.asarray(bag, dtype=float).reshape(len(bag), -1) for bag in bags]
    if not bags or not sum(len(bag) for bag in bags):
        raise ValueError("bags holds no instance to project.")
    if scores is None and importance is None:
        raise ValueError("Pass scores (attention per bag) or importance (instance labels) to colour by.")
    sizes = np.array([len(bag) for bag in bags])

    def per_instance(values, name):
        values = [np.asarray(v, dtype=float).ravel() for v in values]
        if len(values) != len(bags) or any(len(v) != n for v, n in zip(values, sizes)):
            raise ValueError(f"{name} must hold one value per instance of every bag (bag sizes "
                             f"{sizes[:5].tolist()}...), got {len(values)} arrays.")
        return np.concatenate(values)

    instances = np.concatenate(bags)
    width = instances.shape[1]
    if width < 2:
        raise ValueError(f"Instances need at least 2 features for a 2-D projection, got {width}.")
    points = PCA(n_components=2, svd_solver="full").fit(instances)
    projected = points.transform(instances)
    important = (per_instance(importance, "importance") > 0) if importance is not None else np.zeros(len(instances),
                                                                                                   bool)
    drawn = np.arange(len(instances))
    if len(drawn) > max_instances:
        drawn = np.sort(np.random.default_rng(random_state).choice(len(drawn), max_instances, replace=False))
    ax = _axes(ax)
    if scores is None:
        for flag, label, colour, marker in ((False, "unimportant", "0.6", "o"), (True, "important", "C3", "^")):
            pick = drawn[important[drawn] == flag]
            ax.scatter(*projected[pick].T, s=6, c=colour, marker=marker, label=label, linewidths=0)
        ax.legend(fontsize="small", markerscale=2)
    else:
        relative = per_instance(scores, "scores") * np.repeat(sizes, sizes)
        # Robust top of the scale: one extreme instance would wash out the others.
        norm = Normalize(vmin=0, vmax=max(2.0, float(np.percentile(relative, 99))))
        mappable = None
        for flag, marker in ((False, "o"), (True, "^")):
            pick = drawn[important[drawn] == flag]
            if len(pick):
                mappable = ax.scatter(*projected[pick].T, s=6 if not flag else 10, c=relative[pick], cmap="viridis",
                                      norm=norm, marker=marker, linewidths=0)
        if colorbar and mappable is not None:
            ax.figure.colorbar(mappable, ax=ax, label="attention x bag size (1 = uniform)", shrink=0.85)
    share = points.explained_variance_ratio_
    ax.set_xlabel(f"PC 1 ({share[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({share[1]:.0%} of variance)")
    return ax
