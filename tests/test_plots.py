import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.plots import plot_learning_curve
from helpers.records import History


def fake_history(offset, eval_steps=(100, 200, 300)):
    return History(
        episode_returns=[-1000 + offset, -500 + offset, -200 + offset],
        episode_end_steps=[100, 200, 300],
        eval_steps=list(eval_steps),
        eval_returns=[[-900 + offset, -800 + offset], [-400 + offset], [-150 + offset]],
    )


def test_one_history_has_lines_and_labelled_axes():
    ax = plot_learning_curve(fake_history(0))
    assert ax.get_xlabel() == "environment steps" and "return" in ax.get_ylabel()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [-850, -400, -150])
    assert not ax.collections  # no band for a single seed
    plt.close("all")


@pytest.mark.parametrize("band", ["std", "minmax"])
def test_several_seeds_give_mean_and_band(band):
    ax = plot_learning_curve([fake_history(-10), fake_history(10)], band=band, target=-200)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [-850, -400, -150])
    band_y = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band_y.min() == pytest.approx(-860) and band_y.max() == pytest.approx(-140)
    assert "2 seeds" in ax.get_legend().get_texts()[0].get_text()
    plt.close("all")


def test_mismatched_evaluations_and_bad_band_raise():
    with pytest.raises(ValueError, match="different steps"):
        plot_learning_curve([fake_history(0), fake_history(0, eval_steps=(50, 200, 300))])
    with pytest.raises(ValueError, match="band"):
        plot_learning_curve([fake_history(0), fake_history(1)], band="iqr")
    plt.close("all")


def test_visit_heat_map_counts_every_point():
    from helpers.plots import plot_visits

    _, ax = plt.subplots()
    x = np.array([0.1, 0.1, 0.9])
    y = np.array([0.1, 0.1, 0.9])
    image = plot_visits(x, y, ax, extent=(0, 1, 0, 1), bins=2, xlabel="position", ylabel="velocity")
    counts = np.ma.filled(image.get_array(), 0)
    assert counts.sum() == 3 and counts.max() == 2
    assert ax.get_xlabel() == "position"
    plt.close("all")


def test_forest_plot_draws_one_row_per_comparison_with_its_interval():
    from helpers.plots import plot_forest
    from helpers.stats import compare, holm

    base = np.arange(10.0)
    family = holm({("task", "far"): compare(base + 20, base), ("task", "none"): compare(base + 0.1, base)})
    fig, ax = plt.subplots()
    plot_forest(ax, family, xlabel="shift")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["task · far", "task · none"] and ax.get_xlabel() == "shift"
    far = ax.lines[0].get_xdata()
    assert far[0] == family["task", "far"].shift_ci[0] and far[0] > 0
    plt.close(fig)


def test_difference_plot_draws_the_estimate_its_band_the_margin_and_the_budget():
    from helpers.plots import plot_difference
    from helpers.stats import compare

    rng = np.random.default_rng(0)
    steps = [1000, 2000, 3000]
    diffs = [compare(rng.normal(k, 1, 10), rng.normal(0, 1, 10)) for k in range(3)]
    fig, ax = plt.subplots()
    plot_difference(ax, steps, diffs, label="b - a", at=2000, margins=[0.5, 0.5, 0.5])
    assert list(ax.lines[0].get_ydata()) == [c.shift for c in diffs]
    assert "verdict read at 2,000 steps" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert ax.get_xlabel() == "environment steps"
    plt.close(fig)
