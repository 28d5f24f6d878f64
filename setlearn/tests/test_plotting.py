"""setlearn.plotting: every figure draws, saves, and rejects mismatched input."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from setlearn.plotting import (
    plot_accuracy_vs_iauc,
    plot_bad_vs_ensemble_size,
    plot_bag_attention,
    plot_iauc_by_configuration,
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


def test_accuracy_vs_iauc_counts_every_model(rows):
    ax = plot_accuracy_vs_iauc(rows, bins=5, ax=Figure().subplots())
    counts = np.nan_to_num(ax.collections[0].get_array())
    assert counts.sum() == len(rows)


def test_bad_vs_ensemble_size():
    curve = pd.DataFrame({"kind": ["one"] * 3 + ["several"] * 3, "size": [1, 2, 3] * 2,
                          "pct_bad": [20.0, 10.0, 5.0, 20.0, 0.0, 0.0]})
    ax = plot_bad_vs_ensemble_size(curve, ax=Figure().subplots())
    assert [line.get_label() for line in ax.lines] == ["one configuration", "several configurations"]
    assert ax.lines[1].get_ydata().tolist() == [20.0, 0.0, 0.0]


def test_bad_vs_ensemble_size_of_an_empty_curve_draws_an_empty_axes():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_bad_vs_ensemble_size(pd.DataFrame(columns=["kind", "size", "pct_bad"]), ax=Figure().subplots())
    assert len(ax.lines) == 0 and ax.get_legend() is None and ax.get_ylim() == (0.0, 5.0)


def test_bag_attention_on_real_digits(tmp_path):
    from setlearn import make_bags

    X, y, importance = make_bags("mil", "digits", n_bags=2, bag_size=12, pool="test", random_state=0)
    attention = np.random.default_rng(0).dirichlet(np.ones(12))
    fig = plot_bag_attention(X[0], attention, importance=importance[0], max_instances=8, ncols=4, fig=Figure())
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 8
    # Most attended first, and its weight in the title.
    assert shown[0].get_title() == f"{attention.max():.3f}"
    fig.savefig(tmp_path / "bag.png")


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
