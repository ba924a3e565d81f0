"""Reporting results over seeds: means, interquartile means, 95% bootstrap intervals, and two-arm comparisons.

The intervals come from ``scipy.stats.bootstrap`` (BCa), following the reporting advice of Agarwal et al.
(NeurIPS 2021, "Deep RL at the edge of the statistical precipice"): give each arm's mean and interquartile
mean (IQM, the mean of the middle 50% of seeds) with an interval, and for two arms the difference of means
with its interval and the probability of improvement, P(a run of arm A beats a run of arm B).
"""

from __future__ import annotations

import inspect
import warnings
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 10_000


class ArmSummary(NamedTuple):
    """One arm over its seeds."""

    n: int
    mean: float
    mean_ci: tuple[float, float]
    iqm: float
    iqm_ci: tuple[float, float]

    def __str__(self) -> str:
        low, high = self.mean_ci
        return f"{self.mean:.1f} [{low:.1f}, {high:.1f}] ({self.n} seeds)"


class Comparison(NamedTuple):
    """Arm A against arm B."""

    difference: float
    """Mean of A minus mean of B."""
    difference_ci: tuple[float, float]
    probability_of_improvement: float
    """P(X > Y) for a run X of arm A and a run Y of arm B; ties count one half."""
    probability_ci: tuple[float, float]

    @property
    def significant(self) -> bool:
        """Whether the interval of the difference excludes 0."""
        low, high = self.difference_ci
        return low > 0 or high < 0

    def __str__(self) -> str:
        low, high = self.difference_ci
        verdict = "significant" if self.significant else "not significant"
        return (f"{self.difference:+.1f} [{low:+.1f}, {high:+.1f}], {verdict}; "
                f"P(improvement) {self.probability_of_improvement:.2f}")


def iqm(values, axis=-1):
    """Interquartile mean: the mean of the middle 50% of the values (25% trimmed from each end)."""
    return stats.trim_mean(values, 0.25, axis=axis)


def _mean(values, axis=-1):
    return np.mean(values, axis=axis)


def _bootstrap(samples: tuple, statistic, seed: int) -> tuple[float, float]:
    """A 95% BCa interval of ``statistic`` over ``samples``; a constant sample gives a zero-width interval."""
    point = float(statistic(*samples))
    if all(np.ptp(s) == 0 for s in samples):
        return point, point
    random = {"rng": np.random.default_rng(seed)} if "rng" in inspect.signature(stats.bootstrap).parameters \
        else {"random_state": seed}  # scipy before 1.15
    with warnings.catch_warnings():
        # BCa needs the statistic to vary between resamples; when it cannot (for example a probability of
        # improvement of exactly 1), fall back to the percentile interval instead of printing a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", getattr(stats, "DegenerateDataWarning", RuntimeWarning))
        for method in ("BCa", "percentile"):
            ci = stats.bootstrap(samples, statistic, confidence_level=CONFIDENCE, n_resamples=RESAMPLES,
                                 method=method, **random)
            low, high = ci.confidence_interval
            if np.isfinite(low) and np.isfinite(high):
                break
            random = {k: np.random.default_rng(seed) if k == "rng" else seed for k in random}
    return float(low), float(high)


def _check(values: Sequence[float], name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.size < 2:
        raise ValueError(f"{name} needs at least 2 seeds for an interval, got {values.size}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds a NaN or inf: {values.tolist()}")
    return values


def mean_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval of the mean over seeds (what learning-curve bands show)."""
    return _bootstrap((_check(values, "mean_ci"),), _mean, seed)


def summarize(values: Sequence[float], seed: int = 0) -> ArmSummary:
    """Mean and IQM over seeds, each with a 95% bootstrap interval."""
    x = _check(values, "summarize")
    return ArmSummary(x.size, float(x.mean()), _bootstrap((x,), _mean, seed), float(iqm(x)),
                      _bootstrap((x,), iqm, seed))


def probability_of_improvement(a, b, axis=-1):
    """P(X > Y) + P(X = Y) / 2 over all pairs of a run X of ``a`` and a run Y of ``b``."""
    a, b = np.moveaxis(np.asarray(a), axis, -1), np.moveaxis(np.asarray(b), axis, -1)
    wins = (a[..., :, None] > b[..., None, :]).mean(axis=(-2, -1))
    ties = (a[..., :, None] == b[..., None, :]).mean(axis=(-2, -1))
    return wins + 0.5 * ties


def table(arms: dict[str, Sequence[float]], reference: str | None = None, unit: str = "final return",
          digits: int = 1) -> str:
    """One line per arm: seeds, mean [95% CI], IQM [95% CI], and, given a ``reference`` arm, the difference
    from it with its interval, 'significant' or 'not significant', and the probability of improvement."""
    width = max(len(name) for name in arms) + 2
    lines = [f"{'arm':{width}s}{'seeds':>6s}  {unit + ', mean [95% CI]':>32s}  {'IQM [95% CI]':>28s}"
             + (f"   vs {reference}: difference [95% CI]" if reference else "")]
    for name, values in arms.items():
        s, f = summarize(values), f".{digits}f"
        line = (f"{name:{width}s}{s.n:6d}  {s.mean:11{f}} [{s.mean_ci[0]:8{f}}, {s.mean_ci[1]:8{f}}]"
                f"  {s.iqm:9{f}} [{s.iqm_ci[0]:7{f}}, {s.iqm_ci[1]:7{f}}]")
        if reference and name != reference:
            c = compare(values, arms[reference])
            verdict = "significant" if c.significant else "not significant"
            line += (f"   {c.difference:+{f}} [{c.difference_ci[0]:+{f}}, {c.difference_ci[1]:+{f}}], {verdict}; "
                     f"P(improvement) {c.probability_of_improvement:.2f}")
        lines.append(line)
    return "\n".join(lines)


def compare(a: Sequence[float], b: Sequence[float], seed: int = 0) -> Comparison:
    """Arm ``a`` against arm ``b`` (independent seeds): difference of means and probability of improvement."""
    x, y = _check(a, "compare (arm a)"), _check(b, "compare (arm b)")

    def difference(u, v, axis=-1):
        return np.mean(u, axis=axis) - np.mean(v, axis=axis)

    return Comparison(float(x.mean() - y.mean()), _bootstrap((x, y), difference, seed),
                      float(probability_of_improvement(x, y)), _bootstrap((x, y), probability_of_improvement, seed))
