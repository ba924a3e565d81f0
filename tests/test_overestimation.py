"""The overestimation toy of notebook 07: exact values, an exact critic fit, and the identities its readings rest on."""

import numpy as np
import pytest

from helpers.overestimation import REPLAYED, ToyTask, draw, features, fit, run_arm, run_toy, slopes


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
    d = draw(task, [0, 1], 10)
    # The constant feature is not penalised, so a constant target is fitted exactly: weights = (0, ..., 0, c).
    weights = fit(task, d.centres, d.actions, np.full(d.actions.shape, 5.0))
    assert np.allclose(weights[..., :-1], 0, atol=1e-9) and np.allclose(weights[..., -1], 5.0)
    # Against a direct least-squares solve of the penalised problem.
    rewards = task.reward(d.actions) + task.reward_noise * d.noise[:, : task.samples]
    phi = features(task, d.centres[0, 1], d.actions[0])
    penalty = np.sqrt(task.ridge) * np.diag(np.r_[np.ones(task.bumps), 0.0])
    direct = np.linalg.lstsq(np.vstack([phi, penalty]), np.r_[rewards[0], np.zeros(task.bumps + 1)], rcond=None)[0]
    assert np.allclose(fit(task, d.centres, d.actions, rewards)[0, 1], direct, atol=1e-8)


def test_a_noise_free_buffer_has_no_fixed_point_bias_beyond_the_fit():
    task = ToyTask(reward_noise=0.0, ridge=1e-9, bumps=12)
    d = draw(task, [0, 1, 2], 50)
    run = run_arm(task, d, "one critic", 50, {50})
    # A near-exact fit of the true rewards: what is left is the fit's own error, times 1 / (1 - gamma) = 100.
    assert np.all(np.abs(run.fixed_point_bias) < 0.01 * np.abs(run.true))
    assert np.allclose(run.error, run.lag + run.fixed_point_bias)  # the decomposition is exact


@pytest.mark.parametrize("online", [False, True])
def test_the_arms_and_their_controls_measure_what_the_notebook_says(online):
    task = ToyTask(online=online, add_every=100)
    runs = run_toy(task, seeds=range(6), updates=3000, points=6)
    one, twin = runs["one critic"], runs["clipped double-Q"]
    # The critic starts at zero below negative rewards, so early on it is far above the true value: lag.
    assert np.all(one.error[0] > 0.8 * -one.true[0]) and np.all(one.lag[0] > 0.8 * -one.true[0])
    # One state: the bootstrap shifts every target alike, so both arms climb the same fitted reward.
    assert np.allclose(one.path, twin.path) and np.allclose(one.buffer, twin.buffer)
    # The smaller of two critics can only lower the bootstrap: clipped double-Q's fixed-point value is never higher.
    assert np.all(twin.fixed_point_bias[-1] <= one.fixed_point_bias[-1] + 1e-9)
    # Each control plays its arm's actions on its arm's buffer actions, with other reward noise.
    for arm in ("one critic", "clipped double-Q"):
        control = runs[arm + REPLAYED]
        assert np.array_equal(control.path, runs[arm].path) and np.array_equal(control.buffer, runs[arm].buffer)
        assert not np.allclose(control.fixed_point_bias[-1], runs[arm].fixed_point_bias[-1])
    assert np.all(np.abs(one.lag[-1]) < np.abs(one.lag[0]))  # lag decays as the targets catch up
    if online:  # 30 of the actor's own actions joined the 40 uniform ones, near where it was
        assert one.buffer.shape == (6, 70) and np.all(np.abs(one.buffer[:, -1] - one.path[-1]) < 0.5)
    with pytest.raises(ValueError, match="arm must be one of"):
        run_arm(task, draw(task, [0], 10), "two critics", 10, {10})
