"""Reporting results over seeds: each arm described, each comparison tested, and the two kept in agreement.

*Describing an arm.* Its mean and interquartile mean (IQM, the mean of the middle 50% of seeds), each with a 95%
bootstrap interval (``scipy.stats.bootstrap``, BCa), as Agarwal et al. (2021, "Deep RL at the edge of the
statistical precipice") advise. These describe one arm; they decide nothing.

*Comparing two arms.* One estimand per comparison, with the interval that belongs to its test:

- independent seeds: the Hodges-Lehmann shift (the median of all seed-against-seed differences a_i - b_j), the
  exact rank-sum test (Wilcoxon-Mann-Whitney) of "no shift", and the interval of every shift that test does not
  reject (the test inverted);
- paired values (the same seed, buffer or weights measured two ways, or one arm against a known value): the
  Hodges-Lehmann pseudo-median (the median of all pairwise averages of the differences), the exact signed-rank
  test and its inverted interval.

Because the interval is the set of shifts the test accepts, it excludes zero exactly when the test says
"significant". Both are exact at ten skewed seeds, where a bootstrap interval is too narrow. Several comparisons
declared as one family are corrected with Holm's step-down method (``holm``): each p-value is adjusted, and each
interval is widened to the level of the Holm step that decided it (alpha / (m - k) at step k, and the level of the
first step that failed for every comparison after it), so interval and verdict still agree. These stepped
intervals are at least as wide as unadjusted ones and at most as wide as Bonferroni's.

*Claiming agreement.* "Matches" or "costs nothing" needs an equivalence test (``equivalence``): two one-sided
tests against a margin declared in advance, which pass exactly when the 90% interval lies inside the margin.

*Counts.* Yes/no outcomes (solved, failed, found the flag): an exact (Clopper-Pearson) interval per arm, as a
description, and Fisher's exact test between two arms.
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
SCAN_LIMIT = 501
"""Up to this many candidate shifts an interval is found by testing each; above it, by bisection."""


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
    """Arm A against arm B (or paired differences against 0): one estimate, its test, and the test's interval."""

    shift: float
    """Hodges-Lehmann estimate: the median of all differences a_i - b_j (two arms), or the median of the pairwise
    averages of the differences (paired)."""
    shift_ci: tuple[float, float]
    """Every shift the same test does not reject at ``confidence``; it excludes 0 exactly when ``significant``."""
    p_value: float
    """Two-sided p-value of the exact rank test (rank-sum for two arms, signed-rank for paired values), after
    Holm's correction when ``correction`` says so."""
    probability_of_improvement: float
    """P(X > Y) for a run X of arm A and a run Y of arm B (paired: the share of positive differences); ties count
    one half. A description that goes with the shift, not a second test."""
    confidence: float = CONFIDENCE
    """The level of ``shift_ci``: 95% alone, the Holm step's level inside a family."""
    correction: str = ""
    """Empty for a single comparison; ``"Holm, 3 comparisons"`` after ``holm``."""
    open_ends: tuple[bool, bool] = (False, False)
    """Whether an end of ``shift_ci`` is left out: only where it is exactly 0 and the test rejects 0, which happens
    when the two arms share values (ties); printed as a round bracket, "(+0.0, +1.5]"."""
    a: tuple = ()
    b: tuple | None = None
    """The values compared (``b`` is None for paired differences), kept so that ``holm`` can widen the interval."""

    @property
    def paired(self) -> bool:
        return self.b is None

    @property
    def significant(self) -> bool:
        """Whether the rank test rejects 'no shift' at the 5% level (after the stated correction); the interval
        excludes 0 exactly then."""
        return self.p_value < ALPHA

    @property
    def test_name(self) -> str:
        return "signed-rank" if self.paired else "rank-sum"

    def interval(self, digits: int = 1) -> str:
        """The estimate and its interval, with the interval's level when it is not 95%. An end that is not 0 gets
        the digits it needs not to print as 0, so a printed interval never seems to touch 0 when it does not."""
        level = "" if self.confidence == CONFIDENCE else f" ({_percent(self.confidence)})"
        left, right = "(" if self.open_ends[0] else "[", ")" if self.open_ends[1] else "]"
        low, high = (_signed(v, digits) for v in self.shift_ci)
        return f"{self.shift:+.{digits}f} {left}{low}, {high}{right}{level}"

    def verdict(self) -> str:
        corrected = f", {self.correction}" if self.correction else ""
        return (f"{self.test_name} p = {self.p_value:.3g}{corrected}, "
                f"{'significant' if self.significant else 'not significant'}")

    def __str__(self) -> str:
        return f"{self.interval()}, {self.verdict()}; P(improvement) {self.probability_of_improvement:.2f}"


class Equivalence(NamedTuple):
    """Two one-sided tests of "the shift lies within +-margin" (TOST), with the interval that decides them."""

    shift: float
    shift_ci: tuple[float, float]
    """The interval of the shift at ``confidence`` (90% alone: the same rank test inverted); equivalence holds
    exactly when it lies inside (-margin, +margin). An end exactly at the margin that the one-sided test rejects is
    left out (ties)."""
    margin: float
    p_value: float
    """The larger of the two one-sided p-values (after Holm's correction when ``correction`` says so): below 5%,
    the shift is shown to lie within the margin."""
    open_ends: tuple[bool, bool] = (False, False)
    confidence: float = 1 - 2 * ALPHA
    """90% for a TOST at 5%; inside a Holm family, 1 - 2 x the level of the step that decided it."""
    correction: str = ""
    a: tuple = ()
    b: tuple | None = None

    @property
    def equivalent(self) -> bool:
        return self.p_value < ALPHA

    def __str__(self) -> str:
        (low, high), (left, right) = self.shift_ci, self.open_ends
        verdict = "equivalent" if self.equivalent else "not shown equivalent"
        corrected = f", {self.correction}" if self.correction else ""
        return (f"{self.shift:+.1f} {'(' if left else '['}{_signed(low, 1)}, {_signed(high, 1)}{')' if right else ']'} "
                f"({_percent(self.confidence)}), TOST p = {self.p_value:.3g}{corrected}, {verdict} within "
                f"+-{self.margin:.1f}")


class CountComparison(NamedTuple):
    """A yes/no outcome counted over the seeds of two arms: k_a of n_a against k_b of n_b."""

    k_a: int
    n_a: int
    k_b: int
    n_b: int
    ci_a: tuple[float, float]
    """Exact (Clopper-Pearson) 95% interval of arm A's rate: a description of the arm, not of the difference."""
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


def _signed(value: float, digits: int) -> str:
    """``value`` with a sign and ``digits`` decimals, or as many more (up to 6) as it needs not to read as 0."""
    text = f"{value:+.{digits}f}"
    while value != 0 and float(text) == 0 and digits < 6:
        digits += 1
        text = f"{value:+.{digits}f}"
    return text


def _percent(level: float) -> str:
    return f"{100 * level:.4g}%"


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
        # BCa needs the statistic to vary between resamples; when it cannot, fall back to the percentile
        # interval instead of printing a warning.
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
    """The 95% bootstrap interval of the mean over seeds (what learning-curve bands show): a description."""
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
          digits: int = 1, larger: str = "improvement", verdicts: bool = True, family: Family | None = None,
          key=None) -> str:
    """One line per arm: seeds, mean [95% CI] and IQM [95% CI] (descriptions), and, given a ``reference`` arm,
    its comparison with it: the shift with the rank test's interval, p, 'significant' or 'not significant' (Holm
    over the table's comparisons), and P(``larger``): "improvement" for a return, where larger is better; name it
    otherwise (for example "larger with the bug").

    ``family``: the comparisons belong to a declared ``Family``; each is added to it under ``key(arm)`` (default:
    the arm's name) and the table prints only the shift and P(``larger``), pointing to the family's report, where
    they are tested together. ``verdicts=False``: every comparison is printed alone, at 95% and uncorrected, with
    no verdict (exploratory)."""
    width = max(len(name) for name in arms) + 2
    others = [name for name in arms if reference and name != reference]
    comparisons = {name: compare(arms[name], arms[reference]) for name in others}
    if family is not None:
        for name in others:
            family.add(key(name) if key else name, comparisons[name])
        note = f" (tested in family {family.name})"
    elif verdicts:
        comparisons = holm(comparisons)
        note = (f" (rank-sum test; Holm over {len(others)}, intervals at Holm's level)" if len(others) > 1
                else " (rank-sum test)")
    else:
        note = " (rank-sum test, exploratory: uncorrected, no verdict)"
    lines = [f"{'arm':{width}s}{'seeds':>6s}  {unit + ', mean [95% CI]':>32s}  {'IQM [95% CI]':>28s}"
             + (f"   vs {reference}: shift{'' if family else ' [CI], p'}{note}" if reference else "")]
    for name, values in arms.items():
        s, f = summarize(values), f".{digits}f"
        line = (f"{name:{width}s}{s.n:6d}  {s.mean:11{f}} [{s.mean_ci[0]:8{f}}, {s.mean_ci[1]:8{f}}]"
                f"  {s.iqm:9{f}} [{s.iqm_ci[0]:7{f}}, {s.iqm_ci[1]:7{f}}]")
        if name in comparisons:
            c = comparisons[name]
            if family is not None:
                line += f"   {c.shift:+{f}}; P({larger}) {c.probability_of_improvement:.2f}"
            else:
                verdict = ("significant" if c.significant else "not significant") if verdicts else "uncorrected"
                line += (f"   {c.interval(digits)}, p = {c.p_value:.3g}, {verdict}; "
                         f"P({larger}) {c.probability_of_improvement:.2f}")
        lines.append(line)
    return "\n".join(lines)


def _hull(p_at, breaks: np.ndarray, alpha: float, centre: float) -> tuple[float, float]:
    """The smallest closed interval holding every shift s with ``p_at(s) >= alpha``.

    A rank test's p-value changes only where a shift makes two values tie, at ``breaks`` (the pairwise differences
    or averages), so it is evaluated at each break and once inside each gap between breaks (and beyond both
    ends, where an accepted shift makes the interval unbounded). Up to ``SCAN_LIMIT`` points each is tested;
    above it the accepted set is taken to be an interval around ``centre`` and its ends found by bisection."""
    u = np.unique(breaks)
    points = np.empty(2 * u.size + 1)
    points[1::2] = u
    points[2:-1:2] = (u[:-1] + u[1:]) / 2
    pad = max(1.0, float(np.ptp(u)))
    points[0], points[-1] = u[0] - pad, u[-1] + pad
    if points.size <= SCAN_LIMIT:
        accepted = np.flatnonzero([p_at(s) >= alpha for s in points])
        if accepted.size == 0:
            return centre, centre
        first, last = int(accepted[0]), int(accepted[-1])
    else:
        c = int(np.argmin(np.abs(points - centre)))
        first, last = _bisect(lambda i: p_at(points[i]) >= alpha, 0, c), _bisect_last(
            lambda i: p_at(points[i]) >= alpha, c, points.size - 1)
    low = -np.inf if first == 0 else points[first if first % 2 else first - 1]
    high = np.inf if last == points.size - 1 else points[last if last % 2 else last + 1]
    return float(low), float(high)


def _bisect(ok, lo: int, hi: int) -> int:
    """The first index in [lo, hi] where ``ok`` holds, given that it holds at hi and from some index on."""
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
    return lo


def _bisect_last(ok, lo: int, hi: int) -> int:
    """The last index in [lo, hi] where ``ok`` holds, given that it holds at lo and up to some index."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def _two_arms(x: np.ndarray, y: np.ndarray, confidence: float, seed: int) -> Comparison:
    d = (x[:, None] - y[None, :]).ravel()
    shift = float(np.median(d))
    p = rank_test(x, y, seed)
    ci = _hull(lambda s: rank_test(x - s, y, seed), d, 1 - confidence, shift)
    return Comparison(shift, ci, p, float(probability_of_improvement(x, y)), confidence, "",
                      _open_at_zero(ci, p, confidence), tuple(x.tolist()), tuple(y.tolist()))


def _paired(d: np.ndarray, confidence: float) -> Comparison:
    i, j = np.triu_indices(d.size)
    walsh = (d[i] + d[j]) / 2
    shift = float(np.median(walsh))
    p = signed_rank_test(d)
    ci = _hull(lambda s: signed_rank_test(d - s), walsh, 1 - confidence, shift)
    share = float(np.mean(d > 0) + 0.5 * np.mean(d == 0))
    return Comparison(shift, ci, p, share, confidence, "", _open_at_zero(ci, p, confidence), tuple(d.tolist()), None)


def _open_at_zero(ci: tuple[float, float], p: float, confidence: float) -> tuple[bool, bool]:
    """An end that is exactly 0 is left out of the interval when the test rejects 0 (ties between the arms)."""
    rejected = p < 1 - confidence
    return ci[0] == 0 and rejected, ci[1] == 0 and rejected


def compare(a: Sequence[float], b: Sequence[float], seed: int = 0) -> Comparison:
    """Arm ``a`` against arm ``b`` (independent seeds): the Hodges-Lehmann shift, the exact rank-sum test, and the
    95% interval of every shift that test does not reject."""
    return _two_arms(_check(a, "compare (arm a)"), _check(b, "compare (arm b)"), CONFIDENCE, seed)


def compare_paired(differences: Sequence[float]) -> Comparison:
    """Paired values (``after - before`` per seed, or one arm minus a known value): the Hodges-Lehmann
    pseudo-median, the exact signed-rank test, and the 95% interval of every centre that test does not reject."""
    return _paired(_check(differences, "compare_paired"), CONFIDENCE)


def at_level(c, confidence: float):
    """The same comparison with its interval recomputed at another level (its p-value unchanged). For an
    ``Equivalence``, ``confidence`` is the level of its one-sided tests' twin, 1 - 2 x their level."""
    x = np.asarray(c.a)
    if isinstance(c, Equivalence):
        fresh = _equivalence(x, None if c.b is None else np.asarray(c.b), c.margin, confidence)
        return c._replace(shift_ci=fresh.shift_ci, confidence=confidence, open_ends=fresh.open_ends)
    fresh = _paired(x, confidence) if c.paired else _two_arms(x, np.asarray(c.b), confidence, 0)
    return c._replace(shift_ci=fresh.shift_ci, confidence=confidence, open_ends=fresh.open_ends)


def equivalence(a: Sequence[float], b: Sequence[float] | None, margin: float) -> Equivalence:
    """Two one-sided rank tests (TOST) that the shift of ``a`` against ``b`` lies within +-``margin`` (``b`` None:
    ``a`` holds paired differences). The margin must be declared before the data are seen; the result passes
    exactly when the 90% interval of the same test lies inside (-margin, +margin)."""
    if not margin > 0:
        raise ValueError(f"equivalence needs a positive margin, got {margin}")
    x = _check(a, "equivalence (arm a)")
    y = None if b is None else _check(b, "equivalence (arm b)")
    return _equivalence(x, y, float(margin), 1 - 2 * ALPHA)


def _equivalence(x: np.ndarray, y: np.ndarray | None, margin: float, confidence: float) -> Equivalence:
    if y is None:
        c = _paired(x, confidence)
        below, above = _signed_rank_tails(x + margin)[1], _signed_rank_tails(x - margin)[0]
    else:
        c = _two_arms(x, y, confidence, 0)
        below, above = _rank_sum_tails(x + margin, y, 0)[1], _rank_sum_tails(x - margin, y, 0)[0]
    level = (1 - confidence) / 2  # each one-sided test's level
    ends = (c.shift_ci[0] == -margin and below < level, c.shift_ci[1] == margin and above < level)
    return Equivalence(c.shift, c.shift_ci, margin, float(max(below, above)), ends, confidence, "",
                       tuple(x.tolist()), None if y is None else tuple(y.tolist()))


class CurveEquivalence(NamedTuple):
    """Equivalence over a whole curve: a TOST at every evaluation, and the claim that all of them pass (an
    intersection-union test, whose p-value is the largest of theirs and needs no correction over the steps)."""

    steps: tuple
    results: tuple
    """One ``Equivalence`` per step."""
    p_value: float
    correction: str = ""

    @property
    def equivalent(self) -> bool:
        return self.p_value < ALPHA

    @property
    def passed(self) -> int:
        return sum(r.equivalent for r in self.results)

    def __str__(self) -> str:
        corrected = f", {self.correction}" if self.correction else ""
        verdict = "equivalent" if self.equivalent else "not shown equivalent"
        return (f"within the margin at {self.passed} of {len(self.steps)} evaluations ({self.steps[0]:,} to "
                f"{self.steps[-1]:,} steps); over the whole curve (every step must pass) TOST p = "
                f"{self.p_value:.3g}{corrected}, {verdict}")


def equivalence_over(steps, pairs, margins) -> CurveEquivalence:
    """``equivalence`` at every step (``pairs`` of arm values, one ``margin`` per step), and the whole curve."""
    results = tuple(equivalence(a, b, m) for (a, b), m in zip(pairs, margins))
    return CurveEquivalence(tuple(steps), results, max(r.p_value for r in results))


def _rank_sum_tails(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """P(W <= w) and P(W >= w) for the rank sum W of ``x`` under every relabelling of the pooled values."""
    doubled = np.rint(2 * stats.rankdata(np.concatenate([x, y]))).astype(int)  # average ranks are half-integers
    if x.size + y.size > EXACT_LIMIT:
        tails = [stats.permutation_test((doubled[: x.size], doubled[x.size:]), lambda u, v, axis=-1: np.sum(u, axis),
                                        permutation_type="independent", vectorized=True, n_resamples=RESAMPLES,
                                        alternative=side, **_rng_argument(stats.permutation_test, seed)).pvalue
                 for side in ("less", "greater")]
        return float(tails[0]), float(tails[1])
    # counts[k, s]: how many sets of k pooled values have a doubled rank sum of s (a subset-sum count).
    counts = np.zeros((x.size + 1, doubled.sum() + 1))
    counts[0, 0] = 1.0
    for r in doubled:
        counts[1:, r:] = counts[1:, r:] + counts[:-1, :-r]
    null = counts[x.size] / counts[x.size].sum()
    observed = doubled[: x.size].sum()
    return float(null[: observed + 1].sum()), float(null[observed:].sum())


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
    return float(min(1.0, 2.0 * min(_rank_sum_tails(x, y, seed))))


def _signed_rank_tails(d: np.ndarray) -> tuple[float, float]:
    """P(T <= t) and P(T >= t) for the sum T of the ranks of the positive differences, zeros dropped."""
    d = d[d != 0]
    if d.size == 0:
        return 1.0, 1.0
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(int)
    counts = np.zeros(doubled.sum() + 1)  # counts[s]: sign assignments whose positive doubled ranks sum to s
    counts[0] = 1.0
    for r in doubled:
        counts[r:] = counts[r:] + counts[:-r]
    null = counts / counts.sum()
    observed = doubled[d > 0].sum()
    return float(null[: observed + 1].sum()), float(null[observed:].sum())


def signed_rank_test(differences: Sequence[float]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test that paired differences (or one sample) centre on 0.

    For paired arms (the same seed, buffer or weights measured both ways) pass the differences; for one arm
    against a known value pass the values minus it. Zeros are dropped; the absolute values are ranked (ties share
    their average rank), and the sum of the ranks of the positive differences is compared with its distribution
    under every assignment of signs (1,024 for ten differences), counted exactly. Twice the smaller tail, at most 1.
    """
    return float(min(1.0, 2.0 * min(_signed_rank_tails(_check(differences, "signed_rank_test")))))


def _rng_argument(function, seed: int) -> dict:
    """scipy 1.15 renamed ``random_state`` to ``rng``; pass the seed under the name this scipy knows."""
    if "rng" in inspect.signature(function).parameters:
        return {"rng": np.random.default_rng(seed)}
    return {"random_state": seed}


def holm(comparisons: dict) -> dict:
    """Holm's step-down correction over a declared family of comparisons (``Comparison`` or ``CountComparison``).

    The smallest of m p-values is multiplied by m, the next by m - 1, and so on, each kept at least as large as
    the one before and at most 1. Rejecting where the corrected p-value is below 5% keeps the chance of even one
    false 'significant' in the family at 5% or less. Each ``Comparison``'s interval is recomputed at the level of
    the step that decided it, 1 - 0.05 / (m - k) at step k (0-based), and at the level of the first step that
    failed for every comparison after that step, so that each interval excludes 0 exactly when its corrected
    test is significant. Returns the same comparisons, corrected and with a ``correction`` note; a family of one
    is returned unchanged.
    """
    m = len(comparisons)
    if m <= 1:
        return dict(comparisons)
    names = sorted(comparisons, key=lambda name: comparisons[name].p_value)
    corrected, running, failed_at = {}, 0.0, None
    for k, name in enumerate(names):
        c = comparisons[name]
        running = max(running, min(1.0, (m - k) * c.p_value))
        if failed_at is None and running >= ALPHA:
            failed_at = k
        step_alpha = ALPHA / (m - (k if failed_at is None else failed_at))
        if isinstance(c, Comparison):
            c = at_level(c, 1 - step_alpha)
        elif isinstance(c, Equivalence):
            c = at_level(c, 1 - 2 * step_alpha)
        corrected[name] = c._replace(p_value=running, correction=f"Holm, {m} comparisons")
    return {name: corrected[name] for name in comparisons}


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


class Family:
    """A family of comparisons declared before any result: the question it answers and the comparisons it holds.

    Declare it (``Family("B", "where the algorithms end up", keys)``) before anything is trained or loaded, print
    it, then ``add`` each comparison as it is computed; a key that was not declared is refused. ``report`` applies
    Holm's correction once over the whole family (``holm``) and prints one line per comparison: the estimate, its
    interval at Holm's level, the corrected p-value and the verdict. It refuses to report a family with a
    declared comparison missing, so no family shrinks after the results are seen."""

    def __init__(self, name: str, question: str, keys):
        self.name, self.question, self.keys = name, question, list(keys)
        if len(set(self.keys)) != len(self.keys):
            raise ValueError(f"family {name} declares a comparison twice")
        self.results: dict = {}

    def _size(self) -> str:
        return _family_size(len(self.keys))

    def add(self, key, comparison):
        """Keep ``comparison`` (a ``Comparison`` or ``CountComparison``) under its declared ``key``; return it."""
        if key not in self.keys:
            raise KeyError(f"{key!r} is not a declared comparison of family {self.name} ({len(self.keys)} declared)")
        self.results[key] = comparison
        return comparison

    def corrected(self) -> dict:
        missing = [k for k in self.keys if k not in self.results]
        if missing:
            raise ValueError(f"family {self.name}: {len(missing)} declared comparisons have no result yet, "
                             f"first {missing[0]!r}")
        return holm({key: self.results[key] for key in self.keys})

    def report(self, larger: str = "improvement") -> str:
        """Every comparison of the family, Holm-corrected together."""
        corrected, width = self.corrected(), max(len(key_label(k)) for k in self.keys)
        lines = [f"Family {self.name}: {self.question} ({self._size()})"]
        for key, c in corrected.items():
            verdict = "significant" if getattr(c, "significant", False) else "not significant"
            if isinstance(c, Comparison):
                lines.append(f"  {key_label(key):{width}s}  {c.interval()}, {c.test_name} p = {c.p_value:.3g}, "
                             f"{verdict}; P({larger}) {c.probability_of_improvement:.2f}")
            elif isinstance(c, CountComparison):
                lines.append(f"  {key_label(key):{width}s}  {c.k_a}/{c.n_a} against {c.k_b}/{c.n_b}, Fisher's exact "
                             f"test p = {c.p_value:.3g}, {verdict}")
            else:
                lines.append(f"  {key_label(key):{width}s}  {c}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"Family {self.name}: {self.question}; {self._size()}:\n"
                + "\n".join(f"  {key_label(k)}" for k in self.keys))


def _family_size(m: int) -> str:
    return "1 comparison, no correction needed" if m == 1 else f"{m} comparisons, Holm's correction over all"


def key_label(key) -> str:
    """A family key as printed: the parts of a tuple joined by a middle dot."""
    return " · ".join(map(str, key)) if isinstance(key, tuple) else str(key)
