"""The overestimation toy of notebook 07: exact values, an exact critic fit, and the identities its readings rest on."""

import numpy as np
import pytest

from helpers.overestimation import ToyTask, features, make_critics, run_arm, run_toy, slopes


def test_true_value_is_the_discounted_sum_of_the_reward():
    task = ToyTask()
    action = 0.1
    steps = np.arange(5000)
    assert task.true_value(action) == pytest.approx(np.sum(task.gamma ** steps * task.reward(action)), rel=1e-9)
    assert task.true_value(task.best_action) == pytest.approx(task.base_reward / (1 - task.gamma))


def test_slopes_are_the_derivative_of_the_features():
    task = ToyTask()
    centres = np.array([[-0.5, 0.0, 0.7]])
    a, h = np.array([[0.2]]), 1e-6
    numeric = (features(task, centres, a + h) - features(task, centres, a - h)) / (2 * h)
    assert np.allclose(slopes(task, centres, a), numeric, atol=1e-6)


def test_the_fit_reproduces_a_constant_exactly_and_is_ridge_regression():
    task = ToyTask()
    critics = make_critics(task, [0, 1])
    # The constant feature is not penalised, so a constant target is fitted exactly: weights = (0, ..., 0, c).
    weights = critics.hat @ np.full(task.samples, 5.0)
    assert np.allclose(weights[..., :-1], 0, atol=1e-9) and np.allclose(weights[..., -1], 5.0)
    # Against a direct least-squares solve of the penalised problem.
    phi = features(task, critics.centres[0, 0], critics.actions[0])
    penalty = np.sqrt(task.ridge) * np.diag(np.r_[np.ones(task.bumps), 0.0])
    direct = np.linalg.lstsq(np.vstack([phi, penalty]), np.r_[critics.rewards[0], np.zeros(task.bumps + 1)],
                             rcond=None)[0]
    assert np.allclose(critics.hat[0, 0] @ critics.rewards[0], direct, atol=1e-8)


def test_a_noise_free_buffer_with_a_fixed_actor_has_no_fixed_point_bias_beyond_the_fit():
    task = ToyTask(reward_noise=0.0, ridge=1e-9, bumps=12)
    run = run_arm(task, make_critics(task, [0, 1, 2]), "fixed actor", 50, {50})
    # A near-exact fit of the true rewards: what is left is the fit's own error, times 1 / (1 - gamma) = 100.
    assert np.all(np.abs(run.fixed_point_bias) < 0.01 * np.abs(run.true))
    assert np.allclose(run.error, run.lag + run.fixed_point_bias)  # the decomposition is exact


def test_the_arms_measure_what_the_notebook_says():
    runs = run_toy(seeds=range(6), updates=3000, points=6)
    fixed, one, twin = (runs[arm] for arm in ("fixed actor", "one critic", "clipped double-Q"))
    # The critic starts at zero below negative rewards, so early on it is far above the true value: lag.
    assert np.all(one.error[0] > 0.8 * -one.true[0]) and np.all(one.lag[0] > 0.8 * -one.true[0])
    # The climbing actor ends where its own critic is highest: its fixed-point value is at least the fixed actor's
    # plus the true value it gave up, so the climb only ever adds to the bias (per seed, same buffer).
    assert np.all(one.fixed_point_bias[-1] >= fixed.fixed_point_bias[-1] - 1e-6)
    # The smaller of two critics can only lower the bootstrap: clipped double-Q's fixed-point value is never higher.
    assert np.all(twin.fixed_point_bias[-1] <= one.fixed_point_bias[-1] + 1e-9)
    # Lag decays as the targets catch up; the fixed actor stays at the best action.
    assert np.all(np.abs(one.lag[-1]) < np.abs(one.lag[0])) and np.all(fixed.action == ToyTask().best_action)
    with pytest.raises(ValueError, match="arm must be one of"):
        run_arm(ToyTask(), make_critics(ToyTask(), [0]), "two critics", 10, {10})
