import numpy as np
import pytest

from helpers.bandit import LinearQuadraticBandit, dpg_estimate, estimator_spread, reinforce_estimate

BANDIT = LinearQuadraticBandit()
THETA = np.array([0.3, -0.2])


def test_true_gradient_matches_finite_differences_of_the_objective():
    eps = 1e-6
    numeric = [
        (BANDIT.objective(THETA + eps * e) - BANDIT.objective(THETA - eps * e)) / (2 * eps) for e in np.eye(2)
    ]
    np.testing.assert_allclose(BANDIT.true_gradient(THETA), numeric, rtol=1e-6)


def test_objective_matches_monte_carlo():
    s = BANDIT.sample_contexts(400_000, np.random.default_rng(0))
    assert BANDIT.q(s, BANDIT.policy(THETA, s)).mean() == pytest.approx(BANDIT.objective(THETA), rel=0.01)


@pytest.mark.parametrize("baseline", [False, True])
def test_both_estimators_are_unbiased(baseline):
    rng = np.random.default_rng(1)
    truth = BANDIT.true_gradient(THETA)
    dpg, dpg_var = estimator_spread(lambda s: dpg_estimate(BANDIT, THETA, s), BANDIT, THETA, 100, 2000, rng)
    rf, rf_var = estimator_spread(
        lambda s: reinforce_estimate(BANDIT, THETA, s, 0.5, rng, baseline), BANDIT, THETA, 100, 2000, rng
    )
    # Standard error of a mean of 2000 draws, per component, with a 5-sigma margin.
    np.testing.assert_allclose(dpg, truth, atol=5 * np.sqrt(dpg_var / 2000))
    np.testing.assert_allclose(rf, truth, atol=5 * np.sqrt(rf_var / 2000))


def test_dpg_at_the_optimum_is_exactly_zero():
    s = BANDIT.sample_contexts(10, np.random.default_rng(0))
    np.testing.assert_allclose(dpg_estimate(BANDIT, np.array([BANDIT.b, BANDIT.w]), s), 0, atol=1e-12)


def test_variance_falls_as_one_over_n_and_reinforce_grows_as_sigma_shrinks():
    rng = np.random.default_rng(2)
    dpg = lambda s: dpg_estimate(BANDIT, THETA, s)
    _, v10 = estimator_spread(dpg, BANDIT, THETA, 10, 3000, rng)
    _, v100 = estimator_spread(dpg, BANDIT, THETA, 100, 3000, rng)
    assert v10 / v100 == pytest.approx(10, rel=0.2)
    _, wide = estimator_spread(lambda s: reinforce_estimate(BANDIT, THETA, s, 1.0, rng), BANDIT, THETA, 100, 3000, rng)
    _, narrow = estimator_spread(lambda s: reinforce_estimate(BANDIT, THETA, s, 0.1, rng), BANDIT, THETA, 100, 3000,
                                 rng)
    assert narrow > 10 * wide > 10 * v100


def test_a_fitted_critic_recovers_the_gradient_only_with_exploration():
    from helpers.bandit import dpg_with_critic, fit_quadratic_critic

    rng = np.random.default_rng(3)
    s = BANDIT.sample_contexts(2000, rng)
    mu = BANDIT.policy(THETA, s)
    explored = mu + 0.3 * rng.standard_normal(s.shape)
    weights = fit_quadratic_critic(s, explored, BANDIT.q(s, explored))
    np.testing.assert_allclose(dpg_with_critic(BANDIT, THETA, s, weights), dpg_estimate(BANDIT, THETA, s), atol=1e-6)
    # Without exploration a = mu(s) is a function of s: the action gradient is not identifiable.
    blind = fit_quadratic_critic(s, mu, BANDIT.q(s, mu))
    assert np.linalg.norm(dpg_with_critic(BANDIT, THETA, s, blind) - BANDIT.true_gradient(THETA)) > 0.5
