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
    "plot_bad_vs_ensemble_size",
    "plot_bag_attention",
]

_KIND_LABELS = {"one": "one configuration", "several": "several configurations"}


def _metric_label(metric):
    """'iauc_roc' -> 'iAUC-ROC', for axis labels."""
    return metric.replace("iauc_", "iAUC-").replace("roc", "ROC").replace("pr", "PR")


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(layout="constrained")[1]


def plot_iauc_by_configuration(rows, *, metric="iauc_roc", threshold=0.65, ax=None):
    """Spread of iAUC per configuration: a box plot with every model as a dot.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per model, with a ``config_id`` column and ``metric``.
    metric : str, default="iauc_roc"
        The column to plot (``"iauc_pr"`` for the average precision).
    threshold : float or None, default=0.65
        Draws the line below which an explanation counts as bad.
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
    ax.set_xticks(range(1, len(values) + 1), [name for name, _ in groups], rotation=30, ha="right")
    if threshold is not None:
        ax.axhline(threshold, color="C3", ls="--", lw=1, label=f"bad (<= {threshold})")
        ax.legend(loc="lower right", fontsize="small")
    ax.set_ylim(min(0.0, np.nanmin(rows[metric]) if len(rows) else 0.0), 1.02)
    ax.set_xlabel("configuration")
    ax.set_ylabel(_metric_label(metric))
    return ax


def plot_accuracy_vs_iauc(rows, *, accuracy="valid_accuracy", metric="iauc_roc", bins=10, ax=None):
    """Draw a 2-D histogram of accuracy against iAUC: do accurate models explain well.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per model.
    accuracy : str, default="valid_accuracy"
        The accuracy column (x axis).
    metric : str, default="iauc_roc"
        The importance metric column (y axis).
    bins : int, default=10
        Bins per axis, over [0, 1] (accuracy over [0.5, 1], chance and above).
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
    """
    ax = _axes(ax)
    # Clip so that perfect scores fall in the last bin rather than on its edge.
    x = np.clip(rows[accuracy].to_numpy(float), 0.5, 1.0)
    y = np.clip(rows[metric].to_numpy(float), 0.0, 1.0)
    counts, xedges, yedges, image = ax.hist2d(
        x, y, bins=[np.linspace(0.5, 1.0, bins + 1), np.linspace(0.0, 1.0, bins + 1)], cmap="viridis", cmin=1
    )
    ax.figure.colorbar(image, ax=ax, label="models")
    ax.set_xlabel(accuracy.replace("_", " "))
    ax.set_ylabel(_metric_label(metric))
    return ax


def plot_bad_vs_ensemble_size(curve, *, ax=None):
    """% of bad explanations against ensemble size, one line per kind of ensemble.

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``kind`` ("one" / "several" configurations), ``size`` and
        ``pct_bad``, as from :func:`setlearn.assessment.bad_fraction_by_ensemble_size`.
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
    ...                       "pct_bad": [20.0, 5.0, 20.0, 0.0]})
    >>> ax = plot_bad_vs_ensemble_size(curve)
    """
    ax = _axes(ax)
    for kind, line in curve.sort_values("size").groupby("kind"):
        ax.plot(line["size"], line["pct_bad"], marker="o", ms=3, label=_KIND_LABELS.get(kind, kind))
    ax.set_xlabel("ensemble size (1 = single model)")
    ax.set_ylabel("% bad explanations")
    # A floor of 5 % keeps an all-zero curve from being drawn on a meaningless 0-0.05 scale.
    ax.set_ylim(0, max(5.0, 1.05 * curve["pct_bad"].max()) if len(curve) else 5.0)
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
                       fig=None):
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
    fig.set_size_inches(1.1 * ncols, 1.25 * nrows + 0.4)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
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
