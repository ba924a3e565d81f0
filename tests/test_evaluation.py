from functools import partial

import numpy as np
import pytest

from helpers.envs import make_env
from helpers.evaluation import evaluate


def zero_policy(obs):
    return np.zeros((len(obs), 1), np.float32)


def test_fixed_seeds_give_the_same_returns():
    env_fn = partial(make_env, "Pendulum-v1")
    a = evaluate(zero_policy, env_fn, episodes=4)
    b = evaluate(zero_policy, env_fn, episodes=4)
    assert a.shape == (4,)
    np.testing.assert_array_equal(a, b)
    # different start states give different returns
    assert len(set(a.tolist())) == 4


def test_matches_a_plain_episode_loop():
    env = make_env("Pendulum-v1")
    obs, _ = env.reset(seed=10_001)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(np.zeros(1, np.float32))
        total += reward
        done = terminated or truncated
    returns = evaluate(zero_policy, partial(make_env, "Pendulum-v1"), episodes=2)
    assert returns[1] == pytest.approx(total)


def test_episodes_of_different_lengths(point_mass):
    # Pushing right makes some episodes terminate early and others run to the horizon.
    push = lambda obs: np.tile([0.5, 0.5], (len(obs), 1))
    returns = evaluate(push, lambda: point_mass(horizon=12), episodes=6)
    assert returns.shape == (6,) and np.all(np.isfinite(returns))


def test_rejects_zero_episodes():
    with pytest.raises(ValueError, match="episodes"):
        evaluate(zero_policy, partial(make_env, "Pendulum-v1"), episodes=0)
