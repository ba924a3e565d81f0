"""The statistics helper on cases with known answers."""

import numpy as np
import pytest

from helpers.stats import compare, iqm, probability_of_improvement, summarize


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
    assert c.significant and c.difference_ci[0] > 0 and c.probability_of_improvement == 1.0
    same = compare(better, better)
    assert not same.significant and same.difference == 0 and same.probability_of_improvement == 0.5
    assert "not significant" in str(same)
    noisy = compare(rng.normal(0, 10, 10), rng.normal(1, 10, 10))
    assert noisy.difference_ci[0] < 0 < noisy.difference_ci[1]


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


def test_a_constant_statistic_gets_a_finite_interval_without_warnings(recwarn):
    c = compare([1.0, 2.0, 3.0], [-5.0, -4.0, -6.0])
    assert c.probability_ci == (1.0, 1.0) and np.all(np.isfinite(c.difference_ci))
    assert not [w for w in recwarn if "BCa" in str(w.message) or "invalid value" in str(w.message)]


def test_table_prints_seeds_intervals_and_the_verdict_against_the_reference_arm():
    from helpers.stats import table
    text = table({"a": [1.0, 2.0, 3.0, 4.0], "b": [10.0, 11.0, 12.0, 13.0], "c": [1.0, 5.0, 2.0, 4.0]},
                 reference="a", digits=2)
    lines = text.splitlines()
    assert len(lines) == 4 and "95% CI" in lines[0]
    assert lines[1].split()[:2] == ["a", "4"] and "2.50" in lines[1]
    assert "+9.00" in lines[2] and ", significant" in lines[2] and "P(improvement) 1.00" in lines[2]
    assert "not significant" in lines[3]
