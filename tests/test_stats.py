"""The statistics helper on cases with known answers."""

import numpy as np
import pytest

from helpers.stats import compare, compare_paired, equivalence, holm, iqm, probability_of_improvement, summarize


def excludes_zero(c) -> bool:
    (low, high), (left_open, right_open) = c.shift_ci, c.open_ends
    return low > 0 or high < 0 or (low == 0 and left_open) or (high == 0 and right_open)


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(1.0, 9.0)) == pytest.approx(np.mean([3, 4, 5, 6]))
    assert iqm(np.array([0.0, 1, 1, 1, 1, 1, 1, 1000])) == pytest.approx(1.0)  # one outlier does not move it


def test_summary_interval_contains_the_mean_and_shrinks_with_more_seeds():
    rng = np.random.default_rng(0)
    few, many = summarize(rng.normal(-150, 20, 10)), summarize(rng.normal(-150, 20, 200))
    for s in (few, many):
        assert s.mean_ci[0] < s.mean < s.mean_ci[1] and s.iqm_ci[0] <= s.iqm <= s.iqm_ci[1]
    assert np.ptp(many.mean_ci) < np.ptp(few.mean_ci)
    assert many.mean_ci[0] < -150 < many.mean_ci[1]
    assert "(10 seeds)" in str(few)


def test_identical_seeds_give_a_zero_width_interval():
    s = summarize([-130.0] * 10)
    assert s.mean_ci == (-130.0, -130.0) and s.iqm == -130.0


def test_compare_separated_overlapping_and_identical_arms():
    rng = np.random.default_rng(1)
    better, worse = rng.normal(-130, 5, 10), rng.normal(-300, 5, 10)
    c = compare(better, worse)
    assert c.significant and c.shift_ci[0] > 0 and c.probability_of_improvement == 1.0
    same = compare(better, better)
    assert not same.significant and same.shift == 0 and same.probability_of_improvement == 0.5
    assert "not significant" in str(same)
    noisy = compare(rng.normal(0, 10, 10), rng.normal(1, 10, 10))
    assert noisy.shift_ci[0] < 0 < noisy.shift_ci[1]


def test_probability_of_improvement_counts_pairs():
    assert probability_of_improvement(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 0.5
    assert probability_of_improvement(np.array([2.0]), np.array([2.0])) == 0.5


def test_the_same_seed_gives_the_same_interval_and_bad_input_is_refused():
    x = np.random.default_rng(2).normal(size=10)
    assert summarize(x).mean_ci == summarize(x).mean_ci
    with pytest.raises(ValueError, match="at least 2 seeds"):
        summarize([1.0])
    with pytest.raises(ValueError, match="NaN"):
        compare([1.0, np.nan], [1.0, 2.0])


def test_a_constant_arm_gets_a_zero_width_summary_without_warnings(recwarn):
    s = summarize([2.0, 2.0, 2.0])
    assert s.mean_ci == (2.0, 2.0) and s.iqm_ci == (2.0, 2.0)
    c = compare([1.0, 2.0, 3.0], [-5.0, -4.0, -6.0])
    assert c.probability_of_improvement == 1.0 and c.shift == 7.0
    assert not [w for w in recwarn if "BCa" in str(w.message) or "invalid value" in str(w.message)]


def test_table_prints_seeds_intervals_and_the_verdict_against_the_reference_arm():
    from helpers.stats import table
    text = table({"a": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "b": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
                  "c": [1.0, 5.0, 2.0, 4.0, 3.0, 6.0]}, reference="a", digits=2)
    lines = text.splitlines()
    assert len(lines) == 4 and "95% CI" in lines[0] and "Holm over 2, intervals at Holm's level" in lines[0]
    assert lines[1].split()[:2] == ["a", "6"] and "3.50" in lines[1]
    # b beats a on every pair: exact p = 2 / C(12, 6), doubled by Holm as the smaller of two p-values; its
    # interval is at Holm's first-step level, 97.5%. The shift is the median of the 36 differences b_i - a_j.
    assert "+9.00 [" in lines[2] and "] (97.5%)" in lines[2]
    assert ", significant" in lines[2] and "P(improvement) 1.00" in lines[2]
    assert f"p = {2 * 2 / 924:.3g}," in lines[2]
    assert "not significant" in lines[3]
    deferred = table({"a": [1.0, 2.0, 3.0], "b": [10.0, 11.0, 12.0]}, reference="a", verdicts=False)
    assert "p = 0.1, uncorrected;" in deferred and "significant" not in deferred


def test_rank_test_has_the_exact_known_p_values():
    from math import comb

    from scipy import stats

    from helpers.stats import rank_test
    # Complete separation: only 2 of the C(20, 10) relabellings are as extreme (one in each direction).
    assert rank_test(np.arange(10.0) + 100, np.arange(10.0)) == pytest.approx(2 / comb(20, 10), rel=1e-12)
    assert rank_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(0.1)  # 3 against 3 can never reach 5%
    assert rank_test([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]) == 1.0
    rng = np.random.default_rng(3)
    for n, m in ((10, 10), (7, 12)):
        x, y = rng.normal(0, 1, n), rng.normal(0.7, 1, m)
        assert rank_test(x, y) == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue, rel=1e-9)
    # With ties (average ranks), against scipy's permutation test over every relabelling of the ranks.
    x, y = np.round(rng.normal(0, 1, 8)), np.round(rng.normal(1, 1, 9))
    r = stats.rankdata(np.r_[x, y])
    exact = stats.permutation_test((r[:8], r[8:]), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis),
                                   permutation_type="independent", vectorized=True, n_resamples=np.inf).pvalue
    assert rank_test(x, y) == pytest.approx(exact, rel=1e-9)


def test_one_far_seed_does_not_make_a_difference_significant():
    from helpers.stats import compare
    # Nine seeds of each arm interleave; one seed of arm a collapsed far below. The bootstrap interval of the
    # difference of means excludes zero, but the ranks say the arms are not told apart.
    a = np.array([-130.0, -128, -126, -124, -122, -120, -118, -116, -114, -1600])
    b = a + 1.0
    b[-1] = -115.0
    c = compare(a, b)
    from helpers.stats import _bootstrap
    mean_difference = _bootstrap((a, b), lambda u, v, axis=-1: u.mean(axis) - v.mean(axis), 0)
    assert mean_difference[1] < 0, "the premise: a bootstrap interval of the mean difference would exclude 0"
    assert not c.significant and c.p_value > 0.05 and "not significant" in str(c)
    assert c.shift_ci[0] < 0 < c.shift_ci[1], "the rank test's own interval agrees with it"


def test_holm_correction_against_a_worked_example():
    from helpers.stats import CountComparison, holm

    def corrected(*p_values):
        family = holm({i: CountComparison(1, 2, 1, 2, (0, 1), (0, 1), p) for i, p in enumerate(p_values)})
        return [c.p_value for c in family.values()]

    assert corrected(0.01, 0.04, 0.03) == pytest.approx([0.03, 0.06, 0.06])
    assert corrected(0.5, 0.9) == [1.0, 1.0]  # never below an earlier, smaller one
    family = holm({"x": compare([5.0, 6, 7, 8, 9, 10], [1.0, 2, 3, 4, 4.5, 4.8]), "y": compare([1.0, 2], [1.5, 2.5])})
    assert family["x"].correction == "Holm, 2 comparisons" and "Holm, 2 comparisons" in str(family["x"])
    assert family["x"].p_value == pytest.approx(2 * compare([5.0, 6, 7, 8, 9, 10], [1.0, 2, 3, 4, 4.5, 4.8]).p_value)
    single = holm({"x": family["y"]._replace(correction="")})
    assert single["x"].correction == ""


def test_counts_get_exact_intervals_and_fishers_test():
    from helpers.stats import compare_counts, proportion_ci
    low, high = proportion_ci(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))  # Clopper-Pearson at k = 0, closed form
    low, high = proportion_ci(10, 10)
    assert high == 1.0 and low == pytest.approx(0.025 ** (1 / 10))
    c = compare_counts(7, 10, 0, 10)
    # Fisher: P(7 or more of the 7 successes land in arm a) = C(10, 7) / C(20, 7), doubled for two sides.
    assert c.p_value == pytest.approx(2 * 120 / 77520, rel=1e-9) and c.significant
    assert "7/10" in str(c) and "0/10" in str(c) and "Fisher" in str(c)
    assert not compare_counts(1, 10, 0, 10).significant
    with pytest.raises(ValueError, match="0 <= k <= n"):
        proportion_ci(11, 10)


def test_signed_rank_test_has_the_exact_known_p_values():
    from scipy import stats

    from helpers.stats import signed_rank_test
    assert signed_rank_test(np.arange(1.0, 11.0)) == pytest.approx(2 / 2 ** 10)  # all ten positive: 1 of 1,024
    assert signed_rank_test([0.0, 0.0]) == 1.0
    rng = np.random.default_rng(4)
    for n in (8, 15):
        d = rng.normal(0.5, 1, n)
        assert signed_rank_test(d) == pytest.approx(stats.wilcoxon(d, method="exact").pvalue, rel=1e-9)
    d = np.array([1.0, 1.0, -2.0, 3.0, 3.0, 3.0, 0.0, 4.0])  # ties and a zero, against scipy's enumeration
    kept = d[d != 0]
    ranks = stats.rankdata(np.abs(kept))
    exact = stats.permutation_test((ranks * np.sign(kept),), lambda x, axis=-1: np.sum(x * (x > 0), axis=axis),
                                   permutation_type="samples", vectorized=True, n_resamples=np.inf).pvalue
    assert signed_rank_test(d) == pytest.approx(exact, rel=1e-9)


def test_the_interval_is_the_classical_inverted_rank_test_without_ties():
    """Ten against ten, no ties: the exact two-sided 5% critical value of U is 23, so the interval runs from the
    24th to the 77th of the 100 sorted differences (Hollander and Wolfe's table); paired, ten differences, the
    signed-rank critical value is 8, so it runs from the 9th to the 47th of the 55 pairwise averages."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, 10), rng.normal(0.5, 1, 10)
    d = np.sort((x[:, None] - y[None, :]).ravel())
    c = compare(x, y)
    assert c.shift == pytest.approx(np.median(d)) and c.shift_ci == pytest.approx((d[23], d[76]))
    diff = x - y
    i, j = np.triu_indices(10)
    walsh = np.sort((diff[i] + diff[j]) / 2)
    p = compare_paired(diff)
    assert p.shift == pytest.approx(np.median(walsh)) and p.shift_ci == pytest.approx((walsh[8], walsh[46]))
    assert p.paired and "signed-rank p" in str(p) and "rank-sum p" in str(c)


def test_interval_and_test_agree_on_every_line_even_with_ties_and_inside_a_holm_family():
    rng = np.random.default_rng(11)
    for _ in range(80):
        n, m = rng.integers(3, 12, 2)
        a = np.round(rng.normal(rng.normal(0, 1), 1, n) * 2) / 2  # half-integers: ties inside and across arms
        b = np.round(rng.normal(0, 1, m) * 2) / 2
        k = min(n, m)
        family = holm({"x": compare(a, b), "y": compare(b, a + 0.5), "z": compare_paired(a[:k] - b[:k])})
        for c in [compare(a, b), compare_paired(a[:k] - b[:k]), *family.values()]:
            assert excludes_zero(c) == c.significant, c


def test_holm_widens_each_interval_to_the_level_of_its_step():
    far, near, none = np.arange(10.0) + 20, np.arange(10.0) + 3.5, np.arange(10.0) + 0.2
    base = np.arange(10.0)
    family = holm({"far": compare(far, base), "near": compare(near, base), "none": compare(none, base)})
    # Step 0 (smallest p) at 1 - 0.05/3; the failed step and every later one at the first failed step's level.
    assert family["far"].confidence == pytest.approx(1 - 0.05 / 3)
    # near: raw p 0.0288, doubled at step 1 to 0.0576, so step 1 fails: near and none both at 1 - 0.05/2.
    assert family["near"].p_value == pytest.approx(2 * compare(near, base).p_value)
    assert not family["near"].significant and not family["none"].significant
    assert family["near"].confidence == family["none"].confidence == pytest.approx(0.975)
    alone = compare(far, base)
    assert family["far"].shift == alone.shift
    assert family["far"].shift_ci[0] <= alone.shift_ci[0] and family["far"].shift_ci[1] >= alone.shift_ci[1]
    assert "%)" in family["far"].interval() and "Holm, 3 comparisons" in str(family["far"])


def test_equivalence_passes_exactly_when_the_90_percent_interval_lies_inside_the_margin():
    rng = np.random.default_rng(12)
    x, y = rng.normal(0, 1, 30), rng.normal(0, 1, 30)
    assert equivalence(x, y, 3.0).equivalent and not equivalence(x, y, 0.05).equivalent
    assert "not shown equivalent within +-0.1" in str(equivalence(x, y, 0.05))
    for _ in range(80):
        n, m = rng.integers(3, 12, 2)
        a, b = np.round(rng.normal(rng.normal(0, 0.5), 1, n) * 2) / 2, np.round(rng.normal(0, 1, m) * 2) / 2
        for e in (equivalence(a, b, 1.0), equivalence(a - a.mean(), None, 1.0)):
            (low, high), (left, right) = e.shift_ci, e.open_ends
            inside = (low > -1 or (low == -1 and left)) and (high < 1 or (high == 1 and right))
            assert inside == e.equivalent, e
    with pytest.raises(ValueError, match="positive margin"):
        equivalence(x, y, 0.0)


def test_a_family_is_declared_first_refuses_strangers_and_reports_holm_over_all_its_members():
    from helpers.stats import Family, compare_counts, table
    family = Family("B", "does the treatment end higher", [("task 1", "treated"), ("task 2", "treated"), "counts"])
    assert "3 comparisons" in str(family) and "task 1 · treated" in str(family)
    base, better = np.arange(10.0), np.arange(10.0) + 20
    text = table({"control": base, "treated": better}, reference="control", family=family,
                 key=lambda name: ("task 1", name))
    assert "tested in family B" in text and "p =" not in text and "+20.0;" in text
    with pytest.raises(KeyError, match="not a declared comparison"):
        family.add("task 3", compare(better, base))
    with pytest.raises(ValueError, match="no result yet"):
        family.report()
    family.add(("task 2", "treated"), compare(base + 0.5, base))
    family.add("counts", compare_counts(9, 10, 1, 10))
    report, expected = family.report(), holm(family.results)
    assert f"p = {expected[('task 1', 'treated')].p_value:.3g}, significant" in report
    assert "task 2 · treated" in report and "not significant" in report and "Fisher's exact test" in report
    with pytest.raises(ValueError, match="twice"):
        Family("C", "?", ["a", "a"])


def test_equivalence_over_a_curve_needs_every_step_and_takes_the_largest_p():
    from helpers.stats import Family, equivalence_over
    rng = np.random.default_rng(13)
    close = [(rng.normal(0, 1, 30), rng.normal(0, 1, 30)) for _ in range(3)]
    curve = equivalence_over([1000, 2000, 3000], close, [3.0, 3.0, 3.0])
    assert curve.equivalent and curve.passed == 3 and curve.p_value == max(r.p_value for r in curve.results)
    apart = close[:2] + [(rng.normal(5, 1, 30), rng.normal(0, 1, 30))]
    broken = equivalence_over([1000, 2000, 3000], apart, [3.0, 3.0, 3.0])
    assert not broken.equivalent and broken.passed == 2 and "2 of 3 evaluations" in str(broken)
    family = Family("A", "matches?", ["x", "y"])
    family.add("x", curve)
    family.add("y", broken)
    assert "Holm, 2 comparisons" in family.report() and "not shown equivalent" in family.report()


def test_equivalence_inside_a_holm_family_widens_its_interval_and_still_agrees():
    from helpers.stats import equivalence
    rng = np.random.default_rng(21)
    for _ in range(30):
        a, b = np.round(rng.normal(0, 1, 12) * 2) / 2, np.round(rng.normal(0, 1, 12) * 2) / 2
        family = holm({"x": equivalence(a, b, 1.5), "y": equivalence(a, None, 1.5), "z": compare(a, b)})
        for key in ("x", "y"):
            e = family[key]
            (low, high), (left, right) = e.shift_ci, e.open_ends
            inside = (low > -1.5 or (low == -1.5 and left)) and (high < 1.5 or (high == 1.5 and right))
            assert inside == e.equivalent and e.correction == "Holm, 3 comparisons" and e.confidence >= 0.9 - 1e-12, e


def test_an_interval_end_near_zero_is_printed_with_the_digits_it_needs():
    from helpers.stats import Comparison
    c = Comparison(0.9, (0.04, 1.8), 0.01, 0.7, 0.95, "", (False, False), (1.0,), None)
    assert c.interval() == "+0.9 [+0.04, +1.8]"
    assert Comparison(0.0, (0.0, 0.0), 1.0, 0.5).interval() == "+0.0 [+0.0, +0.0]"
