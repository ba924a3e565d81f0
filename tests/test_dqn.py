from dataclasses import replace

import numpy as np
import pytest

from helpers.config import field_docs
from helpers.dqn import DQNAgent, DQNConfig, EpsilonGreedy, action_grid
from helpers.envs import make_env
from helpers.evaluation import evaluate
from helpers.loop import train_group, train_seeds

QUICK = replace(DQNConfig(), bins=5, total_steps=1_500, warmup_steps=500, hidden_sizes=(32, 32), eval_every=500,
                eval_episodes=2, epsilon_decay_steps=500)


def test_grid_has_every_joint_action():
    grid = action_grid([-1.0, 0.0, 5.0], [1.0, 2.0, 6.0], 3)
    assert grid.shape == (27, 3)  # 3 ** 3
    assert len({tuple(row) for row in grid}) == 27
    np.testing.assert_array_equal(np.unique(grid[:, 0]), [-1, 0, 1])
    assert action_grid([-2.0], [2.0], 2).tolist() == [[-2.0], [2.0]]  # bang-bang


def test_config_validation_and_docs():
    with pytest.raises(ValueError, match="bins"):
        replace(DQNConfig(), bins=1)
    with pytest.raises(ValueError, match="epsilon_end"):
        replace(DQNConfig(), epsilon_end=1.5)
    with pytest.raises(ValueError, match="gamma"):  # the inherited checks still run
        replace(DQNConfig(), gamma=1.0)
    docs = field_docs(DQNConfig)
    assert "joint actions" in docs["bins"] and "Discount" in docs["gamma"]


def test_epsilon_schedule_and_greedy_actions_are_on_the_grid():
    env = make_env("Pendulum-v1")
    agent = DQNAgent.for_env(env, QUICK)
    explorer = EpsilonGreedy(agent, QUICK)
    assert explorer.epsilon(1) == 1.0 and explorer.epsilon(500) == 1.0
    assert explorer.epsilon(750) == pytest.approx(1 - 0.5 * 0.95)
    assert explorer.epsilon(10_000) == pytest.approx(0.05)
    obs = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    for action in agent.act(obs):
        assert action in agent.grid
    assert agent.act(obs[0]).shape == (1,)


def test_td_target_bootstraps_truncation_and_update_moves_target_by_tau():
    env = make_env("Pendulum-v1")
    agent = DQNAgent.for_env(env, replace(QUICK, tau=0.2))
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(1, 16, 3)).astype(np.float32)
    actions = agent.grid[rng.integers(len(agent.grid), size=(1, 16))]
    before = agent.seed_state(0).target_q.trainable
    stats = agent.update((obs, actions, rng.normal(size=(1, 16)).astype(np.float32), obs,
                          np.zeros((1, 16), np.float32)))
    assert len(stats.critic_loss) == 1 and np.isfinite(stats.critic_loss[0])
    after = agent.seed_state(0)
    for new, old, theta in zip(after.target_q.trainable, before, after.q.trainable):
        np.testing.assert_allclose(new, 0.2 * theta + 0.8 * old, rtol=1e-6, atol=1e-7)


def test_dqn_trains_through_the_shared_loop_deterministically():
    (a,), (b,) = train_group(QUICK, progress=False).histories, train_group(QUICK, progress=False).histories
    assert a.episode_returns == b.episode_returns and a.critic_loss == b.critic_loss
    assert len(a.critic_loss) == QUICK.total_steps - QUICK.warmup_steps
    runs = train_seeds(replace(QUICK, total_steps=1_000, eval_every=0), [0])
    assert runs[0].buffer.actions[: len(runs[0].buffer)].min() >= -2.0


def test_dqn_learns_pendulum_with_coarse_bins():
    config = replace(QUICK, total_steps=4_000, warmup_steps=1_000, epsilon_decay_steps=2_000, hidden_sizes=(64, 64),
                     eval_every=0)
    agent = train_group(config, progress=False).agent
    from functools import partial

    final = evaluate(agent.act, partial(make_env, "Pendulum-v1"), episodes=10)
    assert final.mean() > -900, f"no learning: {final.mean():.0f}"  # untrained: about -1,200
