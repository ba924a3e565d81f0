"""Learning curves: return against env steps, with a band over seeds."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from helpers.records import History
from helpers.stats import key_label, mean_ci

COURSE_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "legend.fontsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "lines.linewidth": 2.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
"""Matplotlib settings that stay readable when a figure is projected in class or printed."""


def use_course_style() -> None:
    """Apply ``COURSE_STYLE`` to every figure drawn after this call."""
    plt.rcParams.update(COURSE_STYLE)


def _band(ax, x, runs: np.ndarray, band: str, color, label: str, marker=None, alpha=0.2):
    """Plot the mean of ``runs`` (seeds x points) and shade a 95% interval of the mean, std or min-max around it."""
    mean = runs.mean(axis=0)
    (line,) = ax.plot(x, mean, color=color, marker=marker, label=label)
    if len(runs) > 1:
        if band == "ci":
            lo, hi = np.array([mean_ci(column) for column in runs.T]).T
        elif band == "std":
            lo, hi = mean - runs.std(axis=0), mean + runs.std(axis=0)
        elif band == "minmax":
            lo, hi = runs.min(axis=0), runs.max(axis=0)
        else:
            raise ValueError(f"band must be 'ci', 'std' or 'minmax', got {band!r}")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=alpha, linewidth=0)
    return line.get_color()


def plot_series(ax: plt.Axes, x, per_seed, label: str, color=None) -> str:
    """A quantity measured on every seed at the same points (seeds x points), such as a critic loss or Q minus the
    collected return: its mean over seeds with a 95% bootstrap interval. Returns the line's colour."""
    return _band(ax, np.asarray(x), np.asarray(per_seed, dtype=float), "ci", color, label)


def plot_learning_curve(
    histories: History | Sequence[History],
    ax: plt.Axes | None = None,
    label: str = "DDPG",
    band: str = "ci",
    color=None,
    episodes: bool = True,
    target: float | None = None,
    references: dict[str, float] | None = None,
) -> plt.Axes:
    """Training-episode return and noise-free evaluation return against env steps.

    With several histories (one per seed) the curves are means over seeds with a ``band``: the 95% bootstrap
    interval of the mean (``"ci"``), one standard deviation (``"std"``) or the range (``"minmax"``).
    ``references`` draws measured reference returns (for example ``helpers.reference.pendulum_references()``)
    as labelled horizontal lines.
    Training episodes are put on a common step grid so that seeds whose
    episodes end at different steps can still be averaged.
    """
    runs = [histories] if isinstance(histories, History) else list(histories)
    if not runs:
        raise ValueError("no histories to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    n = len(runs)
    spread = {"ci": "95% CI", "std": "1 std", "minmax": "min-max"}.get(band, band)
    seeds = f" ({n} seeds, mean, {spread})" if n > 1 else ""
    if runs[0].eval_steps:
        steps = runs[0].eval_steps
        if any(r.eval_steps != steps for r in runs):
            raise ValueError("histories were evaluated at different steps; cannot average them")
        evals = np.array([r.eval_means() for r in runs])
        color = _band(ax, steps, evals, band, color, f"{label}: evaluation{seeds}", marker="o")
    if episodes and all(r.episode_returns for r in runs):
        end = min(r.episode_end_steps[-1] for r in runs)
        grid = np.linspace(min(r.episode_end_steps[0] for r in runs), end, 100)
        train = np.array([np.interp(grid, r.episode_end_steps, r.episode_returns) for r in runs])
        _band(ax, grid, train, band, color, f"{label}: training episodes (with noise)", alpha=0.1)
        ax.lines[-1].set_alpha(0.5)
        ax.lines[-1].set_linestyle("--")
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", label=f"target {target:g}")
    add_reference_lines(ax, references or {})
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return (sum of rewards)")
    ax.grid(alpha=0.3)
    _legend_or_note(ax)
    return ax


def _legend_or_note(ax: plt.Axes) -> None:
    """A legend, or for a run too short for an evaluation or a finished episode, a note saying so."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    else:
        ax.text(0.5, 0.5, "no evaluation or finished episode yet", transform=ax.transAxes, ha="center")


REFERENCE_STYLES = ("--", "-.", ":", (0, (5, 1, 1, 1)))


def add_reference_lines(ax: plt.Axes, references: dict[str, float]) -> None:
    """Measured reference returns as grey horizontal lines, labelled with their values."""
    for (name, value), style in zip(references.items(), REFERENCE_STYLES * 4):
        ax.axhline(value, color="0.35", linestyle=style, linewidth=1.3, label=f"{name}: {value:.1f}")


def plot_visits(
    x: np.ndarray,
    y: np.ndarray,
    ax: plt.Axes,
    extent: tuple[float, float, float, float],
    bins: int = 40,
    xlabel: str = "",
    ylabel: str = "",
    title: str = "",
):
    """Heat map of how often each (x, y) cell was visited, on a log colour scale.

    ``extent`` is (xmin, xmax, ymin, ymax), fixed so that panels compare.
    Returns the image, for a colour bar.
    """
    from matplotlib.colors import LogNorm

    counts, _, _ = np.histogram2d(x, y, bins=bins, range=[extent[:2], extent[2:]])
    image = ax.imshow(counts.T, origin="lower", extent=extent, aspect="auto", cmap="viridis",
                      norm=LogNorm(vmin=1, vmax=max(2, counts.max())), interpolation="nearest")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(False)
    return image


def plot_forest(ax: plt.Axes, comparisons: dict, xlabel: str, title: str = "") -> None:
    """A forest plot of a family's comparisons (``helpers.stats.Family.corrected()``): one row per comparison, its
    estimate and interval (at the level its test used, so a bar crosses 0 exactly when the verdict is 'not
    significant'); filled dots are significant, open ones not."""
    labels = [key_label(k) for k in comparisons]
    for row, c in enumerate(comparisons.values()):
        low, high = c.shift_ci
        color = "tab:blue" if c.significant else "0.45"
        ax.plot([low, high], [row, row], color=color, linewidth=2.5)
        ax.plot(c.shift, row, "o", color=color, markersize=8, markerfacecolor=color if c.significant else "white")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set(xlabel=xlabel, title=title)
    ax.plot([], [], "o", color="tab:blue", label="significant (Holm)")
    ax.plot([], [], "o", color="0.45", markerfacecolor="white", label="not significant")
    ax.legend(loc="best", fontsize=9)


def plot_difference(ax: plt.Axes, steps, comparisons, label: str, color=None, at: int | None = None,
                    margins=None) -> None:
    """The difference between two arms at every evaluation: each comparison's estimate (``shift``) and interval
    (``shift_ci``) as a line and a band, over env steps. ``at`` marks the budget at which a verdict is read;
    ``margins`` (one per step) draws an equivalence margin, +-margin, as dashed lines."""
    steps = np.asarray(steps)
    shift = np.array([c.shift for c in comparisons])
    low, high = np.array([c.shift_ci for c in comparisons]).T
    (line,) = ax.plot(steps, shift, color=color, marker=".", label=label)
    ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(0, color="black", linewidth=0.8)
    if margins is not None:
        ax.plot(steps, margins, color="0.35", linestyle="--", linewidth=1.3, label="equivalence margin")
        ax.plot(steps, -np.asarray(margins), color="0.35", linestyle="--", linewidth=1.3)
    if at is not None:
        ax.axvline(at, color="0.35", linestyle=":", linewidth=1.3, label=f"verdict read at {at:,} steps")
    ax.set_xlabel("environment steps")
    ax.legend(loc="best", fontsize=9)
