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
    # Pushing right makes episodes that start near the right edge terminate early;
    # the others run to the horizon. Each episode must be summed over its own steps only.
    made = []

    def env_fn():
        made.append(point_mass(horizon=20))
        return made[-1]

    push = lambda obs: np.tile([0.5, 0.5], (len(obs), 1))
    returns = evaluate(push, env_fn, episodes=8)
    lengths = [env.t for env in made]
    assert min(lengths) < 20 and max(lengths) == 20
    for env, value in zip(made, returns):
        replay = point_mass(horizon=20)
        replay.reset(seed=10_000 + made.index(env))
        expected = sum(replay.step(np.array([0.5, 0.5]))[1] for _ in range(env.t))
        assert value == pytest.approx(expected)


def test_rejects_zero_episodes():
    with pytest.raises(ValueError, match="episodes"):
        evaluate(zero_policy, partial(make_env, "Pendulum-v1"), episodes=0)


def test_share_at_bounds_counts_actions_at_either_bound():
    from helpers.evaluation import share_at_bounds
    from helpers.reference import constant_policy
    pendulum = partial(make_env, "Pendulum-v1")
    assert share_at_bounds(constant_policy(-2.0), pendulum, 2) == 1.0
    assert share_at_bounds(constant_policy(1.97), pendulum, 2) == 1.0  # within 2% of the half-range
    assert share_at_bounds(constant_policy(1.9), pendulum, 2) == 0.0
    calls = []

    def every_other_step_at_the_bound(obs):
        calls.append(1)
        return np.full((len(obs), 1), 2.0 if len(calls) % 2 else 0.0, np.float32)

    assert share_at_bounds(every_other_step_at_the_bound, pendulum, 3) == 0.5


def test_group_share_at_bounds_matches_each_seed_alone():
    from dataclasses import replace

    from helpers.agent import DDPGAgent
    from helpers.config import DDPGConfig
    from helpers.evaluation import group_share_at_bounds, share_at_bounds
    pendulum = partial(make_env, "Pendulum-v1")
    config = replace(DDPGConfig(), hidden_sizes=(8, 8))
    group = DDPGAgent.for_env(pendulum(), config, [0, 1, 2])
    state = group.seed_state(1)
    state.actor.trainable[-2][...] *= 1e4  # saturate seed 1's tanh (its last kernel)
    agents = [group.seed_agent(0), DDPGAgent(group.obs_dim, group.action_low, group.action_high, config, [1], [state]),
              group.seed_agent(2)]
    regrouped = DDPGAgent.group_of(agents)
    assert list(regrouped.seeds) == [0, 1, 2]
    shares = group_share_at_bounds(regrouped, pendulum, 3)
    alone = [share_at_bounds(a.act, pendulum, 3) for a in agents]
    np.testing.assert_allclose(shares, alone)
    assert shares[1] > 0.5 and shares[0] == 0.0


def test_q_against_return_collects_the_discounted_return_the_policy_earns():
    from dataclasses import replace

    from helpers.agent import DDPGAgent
    from helpers.config import DDPGConfig
    from helpers.evaluation import EVAL_SEED, OverestimationTracker, q_against_return
    from helpers.reference import pendulum_discounted_returns

    agent = DDPGAgent(3, [-2.0], [2.0], replace(DDPGConfig(), hidden_sizes=(16, 16)), seeds=[0, 1])
    env_fn = partial(make_env, "Pendulum-v1")
    q, returns = q_against_return(agent, env_fn, episodes=3, steps=300)
    assert q.shape == returns.shape == (2, 3)
    starts = np.stack([make_env("Pendulum-v1").reset(seed=EVAL_SEED + i)[0] for i in range(3)])
    for i in range(2):  # the rollout runs past the 200-step time limit, exactly as the known dynamics do
        expected = pendulum_discounted_returns(agent.seed_agent(i).act, starts, gamma=0.99, steps=300)
        np.testing.assert_allclose(returns[i], expected, rtol=1e-4)
        critic, actor = agent.seed_agent(i).critic, agent.seed_agent(i).actor
        np.testing.assert_allclose(q[i], critic([starts, actor(starts).numpy()]).numpy()[:, 0], rtol=1e-4, atol=1e-5)
    tracker = OverestimationTracker(env_fn, every=2, episodes=3, horizon=300)
    for step in (1, 2, 3, 4):
        tracker(step, agent)
    assert tracker.steps == [2, 4] and tracker.bias().shape == (2, 2)
    np.testing.assert_allclose(tracker.bias()[0], (q - returns).mean(axis=1), rtol=1e-5)


def test_q_against_return_stops_at_a_termination():
    from dataclasses import replace

    from helpers.agent import DDPGAgent
    from helpers.config import DDPGConfig
    from helpers.evaluation import q_against_return

    env_fn = partial(make_env, "InvertedPendulum-v5")
    agent = DDPGAgent(4, [-3.0], [3.0], replace(DDPGConfig(), hidden_sizes=(16, 16)))
    _, returns = q_against_return(agent, env_fn, episodes=2, steps=2000)
    lengths = evaluate(agent.act, env_fn, 2)  # reward 1 per step: the return is the episode length
    np.testing.assert_allclose(returns[0], (1 - 0.99 ** lengths) / (1 - 0.99), rtol=1e-6)


def test_share_at_bounds_counts_only_steps_of_episodes_still_running():
    from helpers.evaluation import share_at_bounds
    env_fn = partial(make_env, "InvertedPendulum-v5")

    def push_then_fall(obs):  # pushes at the bound; every episode falls within a few steps, at different times
        return np.full((len(obs), 1), 3.0, np.float32)

    assert share_at_bounds(push_then_fall, env_fn, 5) == 1.0

    def bound_only_once_fallen(obs):  # at a bound only in states an episode never reaches (|angle| > 0.2)
        return np.where(np.abs(obs[:, 1:2]) > 0.2, 3.0, 0.0).astype(np.float32)

    assert share_at_bounds(bound_only_once_fallen, env_fn, 5) == 0.0


def test_training_evaluations_record_the_share_of_actions_at_a_bound():
    from dataclasses import replace

    from helpers.config import DDPGConfig
    from helpers.evaluation import group_share_at_bounds
    from helpers.loop import train_group

    pendulum = partial(make_env, "Pendulum-v1")
    config = replace(DDPGConfig(), hidden_sizes=(8, 8), total_steps=400, warmup_steps=200, update_every=100,
                     eval_every=200, eval_episodes=2)
    run = train_group(config, [0, 1], pendulum, progress=False)
    assert all(len(h.eval_at_bounds) == len(h.eval_steps) == 2 for h in run.histories)
    # The last evaluation saw the final actors: a fresh measurement on the same starts agrees with it.
    np.testing.assert_allclose([h.eval_at_bounds[-1] for h in run.histories],
                               group_share_at_bounds(run.agent, pendulum, 2))
    assert "eval_at_bounds" in run.histories[0].to_dict()
