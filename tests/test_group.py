"""A group of seeds trained as one: each seed as if alone, independent of the others."""

from dataclasses import replace

import numpy as np
import pytest

from helpers.agent import DDPGAgent
from helpers.config import DDPGConfig
from helpers.dqn import DQNAgent, DQNConfig
from helpers.group import stack_samples
from helpers.loop import TrainingDivergedError, train, train_group

SEEDS = [0, 1, 2]
SMALL = replace(DDPGConfig(), hidden_sizes=(32, 32), batch_size=16)
QUICK = replace(DDPGConfig(), hidden_sizes=(32, 32), total_steps=700, warmup_steps=400, eval_every=350,
                eval_episodes=2)


def batches(seed, n=3, batch=16, obs_dim=3, action_dim=1, scale=1.0):
    rng = np.random.default_rng(seed)
    f = lambda *shape: (scale * rng.normal(size=shape)).astype(np.float32)
    return (f(n, batch, obs_dim), f(n, batch, action_dim), f(n, batch), f(n, batch, obs_dim),
            np.zeros((n, batch), np.float32))


def flat(state):
    return [np.asarray(x) for x in __import__("tensorflow").nest.flatten(state)]


@pytest.mark.parametrize("normalization", ["none", "batch", "layer", "batch_input"])
def test_first_updates_of_a_group_equal_each_seed_alone(normalization):
    config = replace(SMALL, normalization=normalization)
    group = DDPGAgent(3, [-2.0], [2.0], config, seeds=SEEDS)
    alone = [DDPGAgent(3, [-2.0], [2.0], replace(config, seed=s)) for s in SEEDS]
    for i, single in enumerate(alone):  # same initial weights, bit for bit
        for a, b in zip(flat(group.seed_state(i)), flat(single.seed_state(0))):
            np.testing.assert_array_equal(a, b)
    data = [batches(s) for s in SEEDS]
    stats = group.update_group(stack_samples(data))
    for i, single in enumerate(alone):
        mine = single.update(data[i])
        np.testing.assert_allclose(stats.critic_loss[i], mine.critic_loss, rtol=1e-4, atol=1e-6)
        for a, b in zip(flat(group.seed_state(i)), flat(single.seed_state(0))):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_one_seeds_data_cannot_change_another_seeds_update():
    data = [batches(s) for s in SEEDS]
    poisoned = list(data)
    poisoned[1] = batches(99, scale=1e3)  # wildly different data for seed 1 only
    a = DDPGAgent(3, [-2.0], [2.0], SMALL, seeds=SEEDS)
    b = DDPGAgent(3, [-2.0], [2.0], SMALL, seeds=SEEDS)
    a.update_group(stack_samples(data))
    b.update_group(stack_samples(poisoned))
    for i in (0, 2):
        for x, y in zip(flat(a.seed_state(i)), flat(b.seed_state(i))):
            np.testing.assert_array_equal(x, y)
    assert any(not np.allclose(x, y) for x, y in zip(flat(a.seed_state(1)), flat(b.seed_state(1))))


def test_a_non_finite_loss_in_one_seed_stops_the_group_and_spares_the_others():
    data = [batches(s) for s in SEEDS]
    data[2][2][1, 0] = np.nan  # seed 2's reward in its second update
    agent = DDPGAgent(3, [-2.0], [2.0], SMALL, seeds=SEEDS)
    stats = agent.update_group(stack_samples(data))
    assert stats.critic_loss.shape == (3, 2)  # stopped after the second update
    assert np.isnan(stats.critic_loss[2, 1]) and np.all(np.isfinite(stats.critic_loss[:2]))
    assert all(np.all(np.isfinite(x)) for x in flat(agent.seed_state(2)))


def test_a_group_of_one_is_the_single_run():
    _, single = train(QUICK, progress=False)
    run = train_group(QUICK, [QUICK.seed], progress=False)
    assert run.histories[0].critic_loss == single.critic_loss
    assert run.histories[0].eval_returns == single.eval_returns


def test_a_group_run_is_deterministic_and_its_seeds_differ():
    a = train_group(QUICK, SEEDS, progress=False)
    b = train_group(QUICK, SEEDS, progress=False)
    for x, y in zip(a.histories, b.histories):
        assert x.critic_loss == y.critic_loss and x.episode_returns == y.episode_returns
        assert x.eval_returns == y.eval_returns
    assert [h.seed for h in a.histories] == SEEDS
    assert len({tuple(h.critic_loss[:10]) for h in a.histories}) == len(SEEDS)
    assert len({tuple(h.eval_returns[0]) for h in a.histories}) == len(SEEDS)
    # Seed 1 in the group starts as seed 1 alone: its first update phase matches.
    _, alone = train(replace(QUICK, seed=1), progress=False)
    np.testing.assert_allclose(a.histories[1].critic_loss[:50], alone.critic_loss[:50], rtol=1e-3)
    assert a.histories[1].episode_returns[:2] == alone.episode_returns[:2]  # warm-up: same random actions


def test_per_env_terminations_and_independent_resets(point_mass):
    """PointMass terminates when it leaves its box; each env resets on its own, nothing crosses a reset."""
    made = []

    def env_fn(**kw):
        env = point_mass(**kw)
        made.append(env)
        return env

    config = replace(QUICK, total_steps=900, noise="ou", noise_sigma=0.5, eval_every=0, hidden_sizes=(32, 32))
    run = train_group(config, SEEDS, env_fn=env_fn, progress=False)
    for history, buffer in zip(run.histories, run.buffers):
        assert len(buffer) == config.total_steps  # one transition per step, none for a reset
        terminated = buffer.terminated[: len(buffer)]
        ends = np.asarray(history.episode_end_steps)
        assert 0 < terminated.sum() < len(buffer)
        # Every terminated transition closes an episode in the history.
        assert set(np.flatnonzero(terminated) + 1) <= set(ends.tolist())
        # A stored next observation is the step's own result, never a reset observation: away from
        # episode ends, the next transition starts where this one ended.
        inside = np.setdiff1d(np.arange(1, config.total_steps), ends)
        np.testing.assert_array_equal(buffer.next_observations[inside - 1], buffer.observations[inside])
    ends = [tuple(h.episode_end_steps) for h in run.histories]
    assert len(set(ends)) == len(SEEDS)  # episodes ended at different steps in different envs


def test_a_diverging_seed_is_frozen_and_the_others_train_on_unchanged(point_mass):
    count = []

    def env_fn(**kw):
        count.append(1)
        # The third env made is seed 1's: the first sizes the agent (build_agent), the second is seed 0's.
        return point_mass(nan_at=600 if len(count) == 3 else None, **kw)

    snapshot = {}

    def on_step(step, agent):
        if step == 600:
            snapshot["seed 1"] = flat(agent.seed_state(1))

    config = replace(QUICK, total_steps=900)
    run = train_group(config, SEEDS, env_fn=env_fn, progress=False, on_step=on_step)
    frozen = run.histories[1]
    assert frozen.diverged.startswith("the observation or reward became non-finite") and "step 600" in frozen.diverged
    assert frozen.total_steps == 600 and frozen.eval_steps == [350] and frozen.update_steps[-1] <= 600
    with pytest.raises(ValueError, match="seed 1 was frozen"):
        frozen.final_return()
    for a, b in zip(snapshot["seed 1"], flat(run.agent.seed_state(1))):  # its weights stopped there
        np.testing.assert_array_equal(a, b)
    # The other seeds trained to the end, exactly as in a group where nothing diverged.
    clean = train_group(config, SEEDS, env_fn=lambda **kw: point_mass(**kw), progress=False)
    for i in (0, 2):
        assert not run.histories[i].diverged and run.histories[i].total_steps == 900
        assert run.histories[i].critic_loss == clean.histories[i].critic_loss
        assert run.histories[i].eval_returns == clean.histories[i].eval_returns


def test_a_seed_whose_loss_diverges_is_frozen_and_the_others_get_every_update(monkeypatch):
    from helpers.group import UpdateStats

    real_update = DDPGAgent.update_group
    calls = []

    def poisoned(self, batches):
        stats = real_update(self, batches)
        calls.append(stats.critic_loss.shape[1])
        if len(calls) == 1:  # the first phase: seed 1's 8th update diverged, and the call stopped there
            stats.critic_loss[1, 7] = np.nan
            return UpdateStats(*(s[:, :8] for s in stats))
        return stats

    monkeypatch.setattr(DDPGAgent, "update_group", poisoned)
    run = train_group(replace(QUICK, eval_every=0), SEEDS, progress=False)
    assert calls[:2] == [50, 42]  # the 42 updates still owed to the other seeds ran in a second call
    assert "a loss became non-finite" in run.histories[1].diverged and "env step 408" in run.histories[1].diverged
    assert run.histories[1].update_steps[-1] == 408
    for i in (0, 2):
        assert run.histories[i].update_steps == list(range(401, 701))


def test_divergence_of_the_last_seed_training_stops_the_run_and_keeps_every_history(point_mass):
    with pytest.raises(TrainingDivergedError, match=r"seed 0: .*at env step 600") as info:
        train_group(replace(QUICK, eval_every=0), [0], env_fn=lambda **kw: point_mass(nan_at=600, **kw),
                    progress=False)
    assert info.value.seed == 0 and info.value.step == 600
    assert all(h.total_steps == 600 and h.episode_returns for h in info.value.histories)


def test_dqn_groups_match_seeds_alone():
    config = replace(DQNConfig(), bins=3, hidden_sizes=(16, 16), batch_size=8)
    grid = np.array([[-2.0], [0.0], [2.0]], np.float32)
    group = DQNAgent(3, grid, config, seeds=SEEDS)
    data = [batches(s, batch=8) for s in SEEDS]
    data = [(o, grid[np.zeros(a.shape[:2], int)], r, n, t) for o, a, r, n, t in data]
    stats = group.update_group(stack_samples(data))
    for i, seed in enumerate(SEEDS):
        single = DQNAgent(3, grid, replace(config, seed=seed))
        np.testing.assert_allclose(stats.critic_loss[i], single.update(data[i]).critic_loss, rtol=1e-4)
