"""Reporting results over seeds: means, interquartile means, 95% bootstrap intervals, tests, and counts.

The intervals come from ``scipy.stats.bootstrap`` (BCa), following the reporting advice of Agarwal et al.
(NeurIPS 2021, "Deep RL at the edge of the statistical precipice"): give each arm's mean and interquartile
mean (IQM, the mean of the middle 50% of seeds) with an interval, and for two arms the difference of means
with its interval and the probability of improvement, P(a run of arm A beats a run of arm B).

The interval says how large a difference is; whether it is *significant* is decided by a test that holds at
ten skewed values per arm: the exact rank-sum test (Wilcoxon-Mann-Whitney, every relabelling of the pooled
seeds enumerated, ties at their average rank). A bootstrap interval on ten values is too narrow when one or
two seeds sit far from the rest. Yes/no outcomes (solved, failed, found the flag) are counts: an exact
(Clopper-Pearson) interval per arm and Fisher's exact test between two arms. Several comparisons in one place
are corrected with Holm's step-down method (``holm``), and the output says so.
"""

from __future__ import annotations

import inspect
import warnings
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
RESAMPLES = 10_000
EXACT_LIMIT = 400
"""Up to this many pooled seeds ``rank_test`` counts its null distribution exactly; above it, it samples it."""


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
    p_value: float | None = None
    """Two-sided p-value of the exact rank-sum test (after Holm's correction when ``correction`` says so);
    ``None`` for a comparison built by hand from an interval alone."""
    correction: str = ""
    """Empty for a single comparison; ``"Holm, 3 comparisons"`` when ``p_value`` was corrected by ``holm``."""

    @property
    def significant(self) -> bool:
        """Whether the rank-sum test rejects 'no difference' at the 5% level (after the stated correction).
        Without a p-value, whether the interval of the difference excludes 0."""
        if self.p_value is None:
            low, high = self.difference_ci
            return low > 0 or high < 0
        return self.p_value < ALPHA

    def __str__(self) -> str:
        low, high = self.difference_ci
        verdict = "significant" if self.significant else "not significant"
        corrected = f", {self.correction}" if self.correction else ""
        test = f", rank test p = {self.p_value:.3g}{corrected}" if self.p_value is not None else ""
        return (f"{self.difference:+.1f} [{low:+.1f}, {high:+.1f}]{test}, {verdict}; "
                f"P(improvement) {self.probability_of_improvement:.2f}")


class CountComparison(NamedTuple):
    """A yes/no outcome counted over the seeds of two arms: k_a of n_a against k_b of n_b."""

    k_a: int
    n_a: int
    k_b: int
    n_b: int
    ci_a: tuple[float, float]
    """Exact (Clopper-Pearson) 95% interval of arm A's rate."""
    ci_b: tuple[float, float]
    p_value: float
    """Two-sided p-value of Fisher's exact test (after Holm's correction when ``correction`` says so)."""
    correction: str = ""

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def __str__(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        corrected = f", {self.correction}" if self.correction else ""
        return (f"{self.k_a}/{self.n_a} [{self.ci_a[0]:.0%}, {self.ci_a[1]:.0%}] against {self.k_b}/{self.n_b} "
                f"[{self.ci_b[0]:.0%}, {self.ci_b[1]:.0%}], Fisher's exact test p = {self.p_value:.3g}{corrected}, "
                f"{verdict}")


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
    random = _rng_argument(stats.bootstrap, seed)
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
          digits: int = 1, larger: str = "improvement", verdicts: bool = True) -> str:
    """One line per arm: seeds, mean [95% CI], IQM [95% CI], and, given a ``reference`` arm, the difference
    from it with its interval, 'significant' or 'not significant', and the probability that a seed of the arm
    has the larger value, printed as P(``larger``): "improvement" for a return, where larger is better; name
    it otherwise (for example "larger with the bug") for a measure where larger is not better. With
    ``verdicts=False`` the p-values are printed without a verdict, for tests corrected later in a larger family."""
    width = max(len(name) for name in arms) + 2
    others = [name for name in arms if reference and name != reference]
    comparisons = holm({name: compare(arms[name], arms[reference]) for name in others})
    note = f" (rank test; Holm's correction over {len(others)} comparisons)" if len(others) > 1 else " (rank test)"
    lines = [f"{'arm':{width}s}{'seeds':>6s}  {unit + ', mean [95% CI]':>32s}  {'IQM [95% CI]':>28s}"
             + (f"   vs {reference}: difference [95% CI], p{note}" if reference else "")]
    for name, values in arms.items():
        s, f = summarize(values), f".{digits}f"
        line = (f"{name:{width}s}{s.n:6d}  {s.mean:11{f}} [{s.mean_ci[0]:8{f}}, {s.mean_ci[1]:8{f}}]"
                f"  {s.iqm:9{f}} [{s.iqm_ci[0]:7{f}}, {s.iqm_ci[1]:7{f}}]")
        if name in comparisons:
            c = comparisons[name]
            verdict = ("significant" if c.significant else "not significant") if verdicts else "uncorrected"
            line += (f"   {c.difference:+{f}} [{c.difference_ci[0]:+{f}}, {c.difference_ci[1]:+{f}}], "
                     f"p = {c.p_value:.3g}, {verdict}; P({larger}) {c.probability_of_improvement:.2f}")
        lines.append(line)
    return "\n".join(lines)


def compare(a: Sequence[float], b: Sequence[float], seed: int = 0) -> Comparison:
    """Arm ``a`` against arm ``b`` (independent seeds): difference of means and probability of improvement."""
    x, y = _check(a, "compare (arm a)"), _check(b, "compare (arm b)")

    def difference(u, v, axis=-1):
        return np.mean(u, axis=axis) - np.mean(v, axis=axis)

    return Comparison(float(x.mean() - y.mean()), _bootstrap((x, y), difference, seed),
                      float(probability_of_improvement(x, y)), _bootstrap((x, y), probability_of_improvement, seed),
                      rank_test(x, y, seed))


def rank_test(a: Sequence[float], b: Sequence[float], seed: int = 0) -> float:
    """Two-sided p-value of the rank-sum (Wilcoxon-Mann-Whitney) test that arms ``a`` and ``b`` do not differ.

    The pooled values are ranked (ties share their average rank), and the rank sum of ``a`` is compared with its
    distribution under every relabelling of the pooled seeds (184,756 for ten against ten), counted exactly: an
    exact test, with no normal approximation, in which one far-off seed weighs no more than a near one. As in
    ``scipy.stats.permutation_test``, the two-sided p-value is twice the smaller tail, at most 1. Its smallest
    possible value is 2 / C(n_a + n_b, n_a); with 3 seeds per arm that is 0.1, so no 3 against 3 can be significant.
    Above ``EXACT_LIMIT`` pooled seeds it draws ``RESAMPLES`` relabellings (seeded by ``seed``) instead.
    """
    x, y = _check(a, "rank_test (arm a)"), _check(b, "rank_test (arm b)")
    doubled = np.rint(2 * stats.rankdata(np.concatenate([x, y]))).astype(int)  # average ranks are half-integers
    if x.size + y.size > EXACT_LIMIT:
        result = stats.permutation_test((doubled[: x.size], doubled[x.size:]), lambda u, v, axis=-1: np.sum(u, axis),
                                        permutation_type="independent", vectorized=True, n_resamples=RESAMPLES,
                                        **_rng_argument(stats.permutation_test, seed))
        return float(result.pvalue)
    # counts[k, s]: how many sets of k pooled seeds have a doubled rank sum of s (a subset-sum count).
    counts = np.zeros((x.size + 1, doubled.sum() + 1))
    counts[0, 0] = 1.0
    for r in doubled:
        counts[1:, r:] = counts[1:, r:] + counts[:-1, :-r]
    null = counts[x.size] / counts[x.size].sum()
    observed = doubled[: x.size].sum()
    return float(min(1.0, 2.0 * min(null[: observed + 1].sum(), null[observed:].sum())))


def signed_rank_test(differences: Sequence[float]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test that paired differences (or one sample) centre on 0.

    For paired arms (the same seed, buffer or weights measured both ways) pass the differences; for one arm
    against a known value pass the values minus it. Zeros are dropped; the absolute values are ranked (ties share
    their average rank), and the sum of the ranks of the positive differences is compared with its distribution
    under every assignment of signs (1,024 for ten differences), counted exactly. Twice the smaller tail, at most 1.
    """
    d = _check(differences, "signed_rank_test")
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)
    counts = np.zeros(doubled.sum() + 1)  # counts[s]: sign assignments whose positive doubled ranks sum to s
    counts[0] = 1.0
    for r in doubled:
        counts[r:] = counts[r:] + counts[:-r]
    null = counts / counts.sum()
    observed = doubled[d > 0].sum()
    return float(min(1.0, 2.0 * min(null[: observed + 1].sum(), null[observed:].sum())))


def _rng_argument(function, seed: int) -> dict:
    """scipy 1.15 renamed ``random_state`` to ``rng``; pass the seed under the name this scipy knows."""
    if "rng" in inspect.signature(function).parameters:
        return {"rng": np.random.default_rng(seed)}
    return {"random_state": seed}


def holm(comparisons: dict) -> dict:
    """Holm's step-down correction over a family of comparisons (``Comparison`` or ``CountComparison``).

    The smallest of m p-values is multiplied by m, the next by m - 1, and so on, each kept at least as large as
    the one before and at most 1. Rejecting where the corrected p-value is below 5% keeps the chance of even one
    false 'significant' in the family at 5% or less. Returns the same comparisons with corrected p-values and a
    ``correction`` note; a family of one is returned unchanged.
    """
    m = len(comparisons)
    if m <= 1:
        return dict(comparisons)
    if any(c.p_value is None for c in comparisons.values()):
        raise ValueError("holm needs a p-value for every comparison")
    names = sorted(comparisons, key=lambda name: comparisons[name].p_value)
    corrected, running = {}, 0.0
    for rank, name in enumerate(names):
        running = max(running, min(1.0, (m - rank) * comparisons[name].p_value))
        corrected[name] = comparisons[name]._replace(p_value=running, correction=f"Holm, {m} comparisons")
    return {name: corrected[name] for name in comparisons}


def holm_p_values(p_values: Sequence[float]) -> np.ndarray:
    """Holm-corrected p-values of a plain list, in the same order."""
    m, p = len(p_values), np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def proportion_ci(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95% interval of a rate observed as k of n."""
    if not 0 <= k <= n or n <= 0:
        raise ValueError(f"proportion_ci needs 0 <= k <= n and n > 0, got k={k}, n={n}")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


def compare_counts(k_a: int, n_a: int, k_b: int, n_b: int) -> CountComparison:
    """k_a of n_a seeds against k_b of n_b: both exact intervals and Fisher's exact test (two-sided)."""
    table_ = [[k_a, n_a - k_a], [k_b, n_b - k_b]]
    p = float(stats.fisher_exact(table_, alternative="two-sided").pvalue) if min(n_a, n_b) > 0 else 1.0
    return CountComparison(int(k_a), int(n_a), int(k_b), int(n_b), proportion_ci(k_a, n_a), proportion_ci(k_b, n_b),
                           min(p, 1.0))
