"""A short seeded learning test, determinism, and the terminated/truncated split in the loop."""

from dataclasses import replace
from functools import partial

import gymnasium as gym
import numpy as np
import pytest

from helpers.config import DDPGConfig
from helpers.envs import make_env
from helpers.evaluation import evaluate, evaluate_group
from helpers.loop import TrainingDivergedError, train, train_group

MULTI_STEPS, MULTI_BAR = 8_000, -1_500.0  # measured at 8,000 steps: -982, -243 and -240
QUICK = replace(DDPGConfig(), total_steps=1_200, warmup_steps=400, eval_every=400, eval_episodes=3)


def test_ddpg_learns_pendulum():
    """Conservative: an untrained actor scores about -1,200; after 4,000 steps DDPG is far better."""
    config = replace(DDPGConfig(), total_steps=4_000, eval_every=2_000, eval_episodes=5)
    agent, history = train(config, progress=False)
    env_fn = partial(make_env, "Pendulum-v1")
    final = evaluate(agent.act, env_fn, episodes=10)
    assert final.mean() > -600, f"no learning: 10-episode evaluation {final.mean():.0f}"
    assert len(history.critic_loss) == config.total_steps - config.warmup_steps  # one update per step
    assert history.eval_steps == [2_000, 4_000]
    assert len(history.episode_returns) == 20  # Pendulum always truncates at 200 steps
    assert history.steps_per_s > 0 and history.wall_s > 0


def test_ddpg_learns_two_pendulums_driven_by_one_2d_action():
    """The defaults must not be Pendulum-only. A policy that saturates or ignores one pendulum scores about
    -2,400 to -2,900 here; with the DDPG paper's critic every seed of the defaults study stayed there."""
    config = replace(DDPGConfig(), env_id="MultiPendulum-v0", total_steps=MULTI_STEPS, eval_every=0)
    run = train_group(config, [0, 1, 2], progress=False)
    final = evaluate_group(run.agent, partial(make_env, "MultiPendulum-v0"), episodes=10).mean(axis=1)
    assert np.all(final > MULTI_BAR), f"no learning on two pendulums: 10-episode evaluations {final.round()}"


def test_same_seed_same_history_even_with_an_on_step_hook_that_evaluates():
    _, a = train(QUICK, progress=False)
    seen = []

    def on_step(step, agent):
        seen.append(step)
        if step in (500, 1_000):  # what helpers.gallery does at its snapshots: act in other envs
            evaluate(agent.act, partial(make_env, QUICK.env_id), 2)

    _, b = train(QUICK, progress=False, on_step=on_step)
    assert seen == list(range(1, QUICK.total_steps + 1))
    assert a.episode_returns == b.episode_returns
    assert a.critic_loss == b.critic_loss and a.actor_loss == b.actor_loss
    assert a.eval_returns == b.eval_returns
    _, c = train(replace(QUICK, seed=1), progress=False)
    assert c.episode_returns != a.episode_returns


def test_pendulum_truncations_are_stored_as_not_terminal():
    buffer = train_group(replace(QUICK, eval_every=0), progress=False).buffers[0]
    assert len(buffer) == QUICK.total_steps
    assert buffer.terminated[: len(buffer)].sum() == 0  # 6 episodes ended, all by truncation


def test_terminations_are_stored_and_training_works_on_other_bounds(point_mass):
    """Two action dimensions, asymmetric bounds, true terminations: no code changes needed."""
    seen = []

    class Spy(gym.Wrapper):
        def step(self, action):
            assert np.all(action >= self.action_space.low) and np.all(action <= self.action_space.high)
            out = super().step(action)
            seen.append(out[2])
            return out

    config = replace(QUICK, total_steps=1_500, noise="ou", noise_sigma=0.5, eval_every=0, hidden_sizes=(64, 64))
    agent, _, (buffer,) = train_group(config, env_fn=lambda **kw: Spy(point_mass(**kw)), progress=False)
    np.testing.assert_array_equal(buffer.terminated[: len(buffer)], np.array(seen, np.float32))
    assert 0 < sum(seen) < len(seen)
    actions = agent.act(np.random.default_rng(0).normal(size=(100, 2)))
    assert np.all(actions >= [-0.5, 0.0]) and np.all(actions <= [0.5, 1.0])


def test_other_gravity_trains():
    agent, history = train(QUICK, env_fn=lambda **kw: gym.make("Pendulum-v1", g=3.0, **kw), progress=False)
    assert np.all(np.isfinite(history.critic_loss))


def test_a_diverging_loss_stops_training_at_its_update(monkeypatch):
    from helpers.agent import DDPGAgent
    from helpers.group import UpdateStats

    real_update = DDPGAgent.update_group

    def poisoned(self, batches):
        stats = real_update(self, batches)
        if stats.critic_loss.shape[1] == QUICK.update_every and self.poison_next:
            self.poison_next = False
            stats.critic_loss[0, 7] = np.inf  # as if the 8th update of this phase diverged
            return UpdateStats(*(s[:, :8] for s in stats))
        return stats

    monkeypatch.setattr(DDPGAgent, "update_group", poisoned)
    monkeypatch.setattr(DDPGAgent, "poison_next", True, raising=False)
    with pytest.raises(TrainingDivergedError, match=r"seed 0: a loss .*critic loss inf.* at env step 408") as info:
        train(replace(QUICK, eval_every=0), progress=False)
    # First phase: steps 401-450 (warm-up ends at 400); its 8th update belongs to step 408.
    assert info.value.step == 408 and info.value.history.total_steps == 450
    assert info.value.history.update_steps[-1] == 408


def test_an_agent_built_with_other_settings_is_refused():
    from helpers.agent import DDPGAgent
    from helpers.envs import make_env

    agent = DDPGAgent.for_env(make_env("Pendulum-v1"), replace(QUICK, gamma=0.9))
    with pytest.raises(ValueError, match="gamma"):
        train(QUICK, agent=agent, progress=False)


def test_nan_stops_training_with_the_step_and_keeps_the_history(point_mass):
    config = replace(QUICK, eval_every=0)
    with pytest.raises(TrainingDivergedError, match="at env step 700") as info:
        train(config, env_fn=lambda **kw: point_mass(nan_at=700, **kw), progress=False)
    assert info.value.step == 700 and info.value.seed == QUICK.seed
    assert info.value.history.total_steps == 700
    assert len(info.value.history.episode_returns) > 0


def test_final_return_averages_the_last_evaluations():
    from helpers.loop import History
    history = History(eval_steps=[1, 2, 3, 4], eval_returns=[[-400.0], [-300.0, -100.0], [-150.0], [-130.0, -110.0]])
    assert history.final_return() == pytest.approx((-200.0 - 150.0 - 120.0) / 3)
    assert history.final_return(last=1) == pytest.approx(-120.0)
    with pytest.raises(ValueError, match="never evaluated"):
        History().final_return()
