"""Reference policies on Pendulum-v1, scored with the course's evaluation protocol (known answers)."""

from functools import partial

import numpy as np
import pytest

from helpers.envs import make_env
from helpers.evaluation import evaluate
from helpers.reference import constant_policy, swing_up_controller

PENDULUM = partial(make_env, "Pendulum-v1")


@pytest.mark.parametrize("torque, expected", [(0.0, -1071.7), (-2.0, -1284.5), (2.0, -1589.3)])
def test_constant_torques_score_their_known_returns_on_the_ten_training_evaluation_starts(torque, expected):
    """A saturated actor scores exactly one of these; notebook 03's collapsed runs did."""
    assert evaluate(constant_policy(torque), PENDULUM, 10).mean() == pytest.approx(expected, abs=0.05)


def test_doing_nothing_over_the_hundred_final_evaluation_starts():
    assert evaluate(constant_policy(0.0), PENDULUM, 100).mean() == pytest.approx(-1152.2, abs=0.05)  # README


def test_the_swing_up_controller_swings_up_and_holds():
    returns = evaluate(swing_up_controller(), PENDULUM, 100)
    assert returns.mean() == pytest.approx(-135.9, abs=0.05)  # quoted in the README; -110.3 over the first 10
    env = make_env("Pendulum-v1")
    obs, _ = env.reset(seed=10_031)  # the filmed start: hanging almost straight down
    policy = swing_up_controller()
    for _ in range(200):
        obs, *_ = env.step(policy(obs[None])[0])
    assert obs[0] > 0.99 and abs(obs[2]) < 0.1  # upright and nearly still at the end


@pytest.fixture(scope="module")
def optimum():
    from helpers.reference import OptimalPendulumPolicy
    return OptimalPendulumPolicy()


def test_the_dynamic_programming_optimum_beats_the_controller_on_every_start_and_matches_its_own_value(optimum):
    """The optimal return cannot be worse than any policy's; the grid's value predicts what the policy scores."""
    from helpers.reference import pendulum_references
    refs = pendulum_references(100, optimum)
    assert refs["optimum (dynamic programming)"] == pytest.approx(-126.3, abs=0.05)  # quoted in the notebooks
    assert refs["swing-up controller"] == pytest.approx(-135.9, abs=0.05)
    optimum.reset()
    best = evaluate(optimum, PENDULUM, 10)
    controller = evaluate(swing_up_controller(), PENDULUM, 10)
    assert best.mean() == pytest.approx(-106.2, abs=0.05)
    assert (best >= controller - 0.5).all()  # per start, up to the grid's error
    env = make_env("Pendulum-v1")
    env.reset(seed=10_000)
    theta, speed = env.unwrapped.state
    assert optimum.value(theta, speed) == pytest.approx(best[0], abs=2.0)


def test_the_optimum_of_a_pendulum_at_rest_upright_is_zero(optimum):
    assert optimum.value(0.0, 0.0) == pytest.approx(0.0, abs=1e-9)
    optimum.reset()
    obs = np.array([[1.0, 0.0, 0.0]], np.float32)
    assert optimum(obs)[0, 0] == 0.0


def test_the_optimal_policy_asks_for_a_reset_after_an_episode(optimum):
    optimum.reset()
    obs = np.array([[1.0, 0.0, 0.0]], np.float32)
    for _ in range(200):
        optimum(obs)
    with pytest.raises(RuntimeError, match="reset"):
        optimum(obs)


def test_discounted_returns_match_the_env_and_are_zero_upright_at_rest():
    from helpers.reference import pendulum_discounted_returns
    upright = np.array([[1.0, 0.0, 0.0]], np.float32)
    assert pendulum_discounted_returns(constant_policy(0.0), upright)[0] == pytest.approx(0.0, abs=1e-12)
    env = make_env("Pendulum-v1")
    obs, _ = env.reset(seed=3)
    policy = swing_up_controller()
    start, total = obs.copy(), 0.0
    for t in range(200):
        obs, reward, *_ = env.step(policy(obs[None])[0])
        total += 0.9**t * reward
    assert pendulum_discounted_returns(policy, start[None], gamma=0.9, steps=200)[0] == pytest.approx(total, abs=1e-3)


def test_on_inverted_pendulum_the_lqr_balances_every_start_and_a_saturated_push_falls_at_once():
    from helpers.reference import inverted_pendulum_references
    refs = inverted_pendulum_references(10)
    assert refs["LQR controller"] == 1000.0  # the maximum: 1,000 steps, reward 1 each
    assert refs["constant +3 (bound)"] == 2.0  # pushing at the bound tips the pole over in 2 steps
    assert 10.0 < refs["do nothing"] < 50.0 and refs["random actions"] < refs["do nothing"]


def test_the_lqr_gain_pushes_the_cart_under_a_falling_pole():
    from helpers.reference import inverted_pendulum_lqr
    policy = inverted_pendulum_lqr()
    assert policy.gain.shape == (1, 4)
    tilted = np.array([[0.0, 0.05, 0.0, 0.0]])  # pole leaning towards +x
    assert policy(tilted)[0, 0] > 0 and np.all(policy(np.zeros((1, 4))) == 0)


def test_multi_pendulum_references_are_per_pendulum_sums_of_the_one_pendulum_ones(optimum):
    from helpers.reference import multi_pendulum_references
    one = multi_pendulum_references(1, 10, optimum)
    assert one["do nothing"] == pytest.approx(-1071.7, abs=0.1)
    assert one["constant +2 N·m"] == pytest.approx(-1589.3, abs=0.1)
    assert one["swing-up controller"] == pytest.approx(-110.3, abs=0.1)
    three = multi_pendulum_references(3, 10, optimum)
    assert three["optimum (dynamic programming)"] > three["swing-up controller"] > three["do nothing"]
    quick = multi_pendulum_references(3, 10, include_optimum=False)
    assert quick == {k: v for k, v in three.items() if k != "optimum (dynamic programming)"}
