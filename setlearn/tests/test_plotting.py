"""setlearn.plotting: every figure draws, saves, and rejects mismatched input."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from setlearn.plotting import (
    accuracy_iauc_counts,
    plot_accuracy_vs_iauc,
    plot_bad_vs_ensemble_size,
    plot_bag_attention,
    plot_iauc_by_configuration,
    wilson_interval,
)


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"config_id": np.repeat(["h4-a2", "h8-a8"], 10), "valid_accuracy": rng.uniform(0.5, 1, 20),
                         "iauc_roc": rng.uniform(0, 1, 20)})


def test_iauc_by_configuration(rows, tmp_path):
    ax = Figure().subplots()
    assert plot_iauc_by_configuration(rows, ax=ax) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == ["h4-a2", "h8-a8"]
    assert len(ax.collections) == 2  # one strip of dots per configuration
    ax.figure.savefig(tmp_path / "box.png")


def test_iauc_by_configuration_uses_readable_labels(rows):
    ax = plot_iauc_by_configuration(rows, labels={"h4-a2": "hid 4 att 2"}, ax=Figure().subplots())
    # A label where one is given, the id where none is.
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hid 4 att 2", "h8-a8"]


def test_accuracy_vs_iauc_prints_integer_counts_without_a_colour_bar(rows):
    ax = plot_accuracy_vs_iauc(rows, bins=5, ax=Figure().subplots())
    printed = [t.get_text() for t in ax.texts]
    assert all(text.isdigit() for text in printed)  # integers, never "2.0"
    assert sum(map(int, printed)) == len(rows)
    assert len(ax.figure.axes) == 1  # no colour bar: the printed counts are the scale
    # Logarithmic shading: one crowded cell must not wash out a cell of one model.
    assert type(ax.collections[0].norm).__name__ == "LogNorm"


def test_accuracy_iauc_counts_put_a_threshold_value_above_the_edge():
    # 0.9 exactly is "accurate" and "good" in the tables (>= 0.9): it must not fall in the cell below.
    rows = pd.DataFrame({"valid_accuracy": [0.9, 0.85, 1.0, 0.3], "iauc_roc": [0.9, 0.2, 1.0, -0.1]})
    counts, x_edges, y_edges = accuracy_iauc_counts(rows, bins=10)
    assert counts.dtype.kind == "i" and counts.sum() == 4
    assert counts[list(x_edges).index(0.9), list(y_edges).index(0.9)] == 1
    assert counts[0, 0] == 1  # below 0.5 accuracy and below 0 iAUC: clipped into the first cell


def test_wilson_interval_known_values():
    low, high = wilson_interval([5, 0, 10], [10, 10, 10])
    np.testing.assert_allclose(low, [0.2366, 0.0, 0.7225], atol=1e-4)
    np.testing.assert_allclose(high, [0.7634, 0.2775, 1.0], atol=1e-4)
    with pytest.raises(ValueError, match="0 <= successes <= n and n > 0"):
        wilson_interval(3, 2)


def _errorbars(ax):
    return {container.get_label(): container for container in ax.containers}


def test_bad_vs_ensemble_size_keeps_coinciding_and_zero_curves_visible():
    curve = pd.DataFrame({"kind": ["one"] * 3 + ["several"] * 3, "size": [1, 2, 3] * 2, "n": [20, 10, 10] * 2,
                          "pct_bad": [20.0, 0.0, 0.0, 20.0, 0.0, 0.0]})
    ax = plot_bad_vs_ensemble_size(curve, ax=Figure().subplots())
    bars = _errorbars(ax)
    assert list(bars) == ["one configuration", "several configurations"]
    one, several = (bars[k].lines[0] for k in bars)
    # Identical numbers, drawn side by side with different markers and line styles.
    assert one.get_ydata().tolist() == several.get_ydata().tolist() == [20.0, 0.0, 0.0]
    assert np.all(np.asarray(one.get_xdata()) < np.asarray(several.get_xdata()))
    assert one.get_marker() != several.get_marker() and one.get_linestyle() != several.get_linestyle()
    # A curve at 0 % is above the bottom of the axes, not hidden on it.
    assert ax.get_ylim()[0] < 0 and not one.get_clip_on()
    ax.figure.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_bad_vs_ensemble_size_draws_95_percent_wilson_intervals():
    curve = pd.DataFrame({"kind": ["one", "one"], "size": [1, 2], "n": [20, 10], "pct_bad": [25.0, 0.0]})
    ax = plot_bad_vs_ensemble_size(curve, ymax=60, ax=Figure().subplots())
    segments = _errorbars(ax)["one configuration"].lines[2][0].get_segments()
    low, high = wilson_interval([5, 0], [20, 10])
    np.testing.assert_allclose([s[:, 1].min() for s in segments], 100 * low)
    np.testing.assert_allclose([s[:, 1].max() for s in segments], 100 * high)
    assert ax.get_ylim()[1] == 60  # the shared scale, when given


def test_bad_vs_ensemble_size_of_an_empty_curve_draws_an_empty_axes():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_bad_vs_ensemble_size(pd.DataFrame(columns=["kind", "size", "n", "pct_bad"]), ax=Figure().subplots())
    assert len(ax.lines) == 0 and ax.get_legend() is None and ax.get_ylim()[1] == 5.0


def test_bag_attention_on_real_digits(tmp_path):
    from setlearn import make_bags

    X, y, importance = make_bags("mil", "digits", n_bags=2, bag_size=12, pool="test", random_state=0,
                                 composition="balanced")  # a bag of exactly 12 images
    attention = np.random.default_rng(0).dirichlet(np.ones(12))
    fig = plot_bag_attention(X[0], attention, importance=importance[0], max_instances=8, ncols=4, fig=Figure())
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 8
    # Most attended first, and its weight in the title.
    assert shown[0].get_title() == f"{attention.max():.3f}"
    # The key says what the frames and the numbers mean, against the uniform weight.
    key = " ".join(t.get_text() for t in fig.texts)
    assert "Red frame: an important instance" in key and "1/12 = 0.083" in key
    assert "the 8 of 12 images in decreasing attention" in key
    fig.savefig(tmp_path / "bag.png")


def test_bag_attention_key_can_be_left_out():
    fig = plot_bag_attention(np.zeros((3, 8, 8)), np.full(3, 1 / 3), key=False, fig=Figure())
    assert fig.texts == []


def test_bag_attention_accepts_flat_and_channel_first_images():
    weights = np.full(3, 1 / 3)
    for bag in [np.zeros((3, 64)), np.zeros((3, 1, 8, 8))]:
        fig = plot_bag_attention(bag, weights, fig=Figure())
        assert fig.axes[0].get_images()[0].get_array().shape == (8, 8)


def test_bag_attention_rejects_mismatched_input():
    with pytest.raises(ValueError, match="attention has 2 weights but the bag has 3 images"):
        plot_bag_attention(np.zeros((3, 8, 8)), [0.5, 0.5], fig=Figure())
    with pytest.raises(ValueError, match="not a square image"):
        plot_bag_attention(np.zeros((2, 10)), [0.5, 0.5], fig=Figure())


def test_bad_vs_ensemble_size_draws_intervals_at_0_and_100_percent():
    # 0 of 48 and 48 of 48: the Wilson bounds equal the points up to float rounding,
    # which must not become a negative error bar (matplotlib raises on those).
    curve = pd.DataFrame({"kind": ["one", "one", "several", "several"], "size": [1, 2, 1, 2],
                          "n": [48, 48, 48, 48], "pct_bad": [0.0, 100.0, 0.0, 100.0]})
    ax = plot_bad_vs_ensemble_size(curve, ax=Figure().subplots())
    assert len(ax.lines) >= 2


def _inside_figure(fig, text):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # the layout as saved
    box, page = text.get_window_extent(), fig.bbox
    return box.x0 >= page.x0 and box.x1 <= page.x1 and box.y0 >= page.y0 and box.y1 <= page.y1


def test_a_single_panel_report_figure_keeps_its_whole_title():
    # One task: one 4.6-inch panel under a title that is wider ("...vs ensemble siz" was cut off).
    from setlearn.assessment import _report

    curve = pd.DataFrame({"kind": ["one", "one"], "size": [1, 2], "n": [20, 10], "pct_bad": [20.0, 5.0]})
    title = "% bad explanations (iAUC-ROC <= 0.65) vs ensemble size"
    fig = _report._facet([(("gaussian", "and"), curve)], plot_bad_vs_ensemble_size, title,
                         SimpleNamespace(modalities=["gaussian"], problems=["and"]))
    assert _inside_figure(fig, fig._suptitle)
    assert fig._suptitle.get_text().replace("\n", " ") == title  # wrapped, not shortened


def test_a_long_bag_figure_title_is_wrapped_and_leaves_room_for_the_images():
    title = ("digits AND, test bag 12: silent failure (model h8-a4-f1-c2 seed r3, validation accuracy 0.95; "
             "iAUC-ROC 0.41 on this bag, 0.52 on all)")
    # Four images: a 6-inch figure, narrower than the title.
    fig = plot_bag_attention(np.zeros((4, 8, 8)), np.full(4, 1 / 4), key=True, title=title, fig=Figure())
    assert _inside_figure(fig, fig._suptitle)
    assert fig._suptitle.get_text().count("\n") >= 1
    # The title's lines end above the images' own titles.
    top_of_images = max(ax.title.get_window_extent().y1 for ax in fig.axes if ax.get_visible())
    assert fig._suptitle.get_window_extent().y0 >= top_of_images


def test_attention_pca_colours_instances_by_attention_relative_to_uniform():
    from setlearn.plotting import plot_attention_pca

    rng = np.random.default_rng(0)
    # Two populations far apart on the first feature; attention on population 1 only.
    bags = [np.vstack([rng.normal(0, 0.1, (8, 4)), rng.normal(0, 0.1, (2, 4)) + [5, 0, 0, 0]]) for _ in range(4)]
    importance = [np.r_[np.zeros(8), np.ones(2)]] * 4
    attention = [np.r_[np.zeros(8), np.full(2, 0.5)]] * 4
    fig = Figure()
    ax = plot_attention_pca(bags, attention, importance=importance, ax=fig.subplots())
    unimportant, important = ax.collections[:2]
    # attention x bag size: 0 on the 32 unimportant instances, 0.5 x 10 = 5 on the 8 important ones.
    assert np.allclose(unimportant.get_array(), 0) and len(unimportant.get_offsets()) == 32
    assert np.allclose(important.get_array(), 5) and len(important.get_offsets()) == 8
    # PC 1 is the axis that separates the populations.
    assert abs(important.get_offsets()[:, 0].mean() - unimportant.get_offsets()[:, 0].mean()) > 4
    assert ax.get_xlabel().startswith("PC 1 (")
    assert len(fig.axes) == 2  # the colour bar
    # The same bags give the same axes: panels of two models line up.
    again = plot_attention_pca(bags, None, importance=importance, ax=Figure().subplots())
    assert np.allclose(again.collections[1].get_offsets(), important.get_offsets())
    assert [t.get_text() for t in again.get_legend().get_texts()] == ["unimportant", "important"]


def test_attention_pca_rejects_mismatched_input():
    from setlearn.plotting import plot_attention_pca

    bags = [np.arange(12.0).reshape(3, 4), np.ones((2, 4))]
    with pytest.raises(ValueError, match="one value per instance"):
        plot_attention_pca(bags, [np.ones(3), np.ones(3)], ax=Figure().subplots())
    with pytest.raises(ValueError, match="Pass scores"):
        plot_attention_pca(bags, ax=Figure().subplots())
    with pytest.raises(ValueError, match="at least 2 features"):
        plot_attention_pca([np.zeros((3, 1))], [np.ones(3)], ax=Figure().subplots())
