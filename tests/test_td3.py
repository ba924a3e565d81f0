"""TD3: DDPG plus three switchable fixes, each checked against its definition."""

from dataclasses import replace

import numpy as np
import pytest
import tensorflow as tf

from helpers.agent import DDPGAgent
from helpers.algorithms import agent_class
from helpers.config import DDPGConfig
from helpers.group import stack_samples
from helpers.loop import train_group
from helpers.td3 import TD3Agent, TD3Config

SMALL = dict(hidden_sizes=(32, 32), batch_size=16)
OFF = replace(TD3Config(), twin_critics=False, policy_delay=1, target_noise=0.0, **SMALL)
ON = replace(TD3Config(), **SMALL)


def batches(seed, n=4, batch=16, obs_dim=3, action_dim=1):
    rng = np.random.default_rng(seed)
    f = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
    return (f(n, batch, obs_dim), f(n, batch, action_dim), f(n, batch), f(n, batch, obs_dim),
            (rng.random((n, batch)) < 0.2).astype(np.float32))


def flat(state):
    return [np.asarray(x) for x in tf.nest.flatten(state)]


def test_with_all_three_fixes_off_td3_is_ddpg():
    ddpg = DDPGAgent(3, [-2.0], [2.0], replace(DDPGConfig(), **SMALL), seeds=[0, 1])
    td3 = TD3Agent(3, [-2.0], [2.0], OFF, seeds=[0, 1])
    data = stack_samples([batches(0), batches(1)])
    a, b = ddpg.update_group(data), td3.update_group(data)
    np.testing.assert_allclose(a.critic_loss, b.critic_loss, rtol=1e-5)
    for i in range(2):
        for x, y in zip(flat(ddpg.seed_state(i)), flat(td3.seed_state(i)[:6])):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_td3_starts_from_ddpgs_networks_and_a_different_second_critic():
    ddpg = DDPGAgent(3, [-2.0], [2.0], replace(DDPGConfig(), **SMALL))
    s = TD3Agent(3, [-2.0], [2.0], ON).seed_state(0)
    for x, y in zip(flat(ddpg.seed_state(0)), flat(s[:6])):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(s.critic.trainable[0], s.critic2.trainable[0])
    np.testing.assert_array_equal(s.critic2.trainable[0], s.target_critic2.trainable[0])


def test_twin_target_is_the_minimum_of_the_two_target_critics():
    agent = TD3Agent(3, [-2.0], [2.0], replace(OFF, twin_critics=True))
    s = agent.seed_state(0)
    obs, _, reward, next_obs, terminated = (x[0] for x in batches(3))
    y = agent.td_target(s, reward, next_obs, terminated).numpy()
    mu = agent.actor_net(s.target_actor, next_obs)
    q1 = agent.critic_net(s.target_critic, [next_obs, mu])[:, 0]
    q2 = agent.critic_net(s.target_critic2, [next_obs, mu])[:, 0]
    expected = reward + 0.99 * (1 - terminated) * np.minimum(q1, q2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert (q1.numpy() != q2.numpy()).any()


def test_smoothing_noise_is_clipped_and_the_target_action_stays_in_the_box(monkeypatch):
    agent = TD3Agent(3, [-2.0], [2.0], replace(OFF, target_noise=2.0, target_noise_clip=0.5))
    captured = []
    monkeypatch.setattr(DDPGAgent, "update_group", lambda self, parts: captured.append(parts[-1]))
    agent.update_group(stack_samples([batches(0)]))
    monkeypatch.undo()
    noise = captured[0]
    assert noise.shape == (1, 4, 16, 1)
    assert np.abs(noise).max() <= 0.5 * 2.0 + 1e-6  # clip 0.5 of the half-range 2
    assert np.isclose(np.abs(noise), 1.0).mean() > 0.5  # std 4 >> clip 1: most draws sit on the clip
    s = agent.seed_state(0)
    next_obs = batches(0)[3][0]
    for shift in (-100.0, 100.0):  # a huge noise still gives an action inside the box
        y = agent.td_target(s, np.zeros(16, np.float32), next_obs, np.zeros(16, np.float32),
                            np.full((16, 1), shift, np.float32))
        mu = np.clip(agent.actor_net(s.target_actor, next_obs) + shift, -2, 2)
        q = agent.critic_net(s.target_critic, [next_obs, mu])[:, 0]
        np.testing.assert_allclose(y, 0.99 * q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("delay", [2, 3])
def test_delayed_updates_move_actor_and_targets_only_every_delay_steps(delay):
    agent = TD3Agent(3, [-2.0], [2.0], replace(ON, policy_delay=delay))
    before = agent.seed_state(0)
    changed = []
    for k in range(2 * delay):
        agent.update(tuple(x[:1] for x in batches(k)))
        after = agent.seed_state(0)
        moved = {name: not np.array_equal(getattr(before, name).trainable[0], getattr(after, name).trainable[0])
                 for name in ("critic", "critic2", "actor", "target_actor", "target_critic", "target_critic2")}
        assert moved["critic"] and moved["critic2"]  # the critics learn every step
        changed.append((moved["actor"], moved["target_actor"], moved["target_critic"], moved["target_critic2"]))
        before = after
    due = [(k + 1) % delay == 0 for k in range(2 * delay)]
    assert [all(c) for c in changed] == due and [any(c) for c in changed] == due
    assert agent.seed_state(0).actor_adam.step == 2 and agent.seed_state(0).critic_adam.step == 2 * delay


def test_without_twin_critics_the_second_critic_never_changes():
    agent = TD3Agent(3, [-2.0], [2.0], replace(ON, twin_critics=False))
    first = agent.seed_state(0).critic2
    agent.update(tuple(x for x in batches(0)))
    np.testing.assert_array_equal(agent.seed_state(0).critic2.trainable[0], first.trainable[0])


@pytest.mark.parametrize("field, value", [("policy_delay", 0), ("policy_delay", 1.5), ("target_noise", -0.1),
                                          ("target_noise_clip", -1.0), ("twin_critics", "yes")])
def test_bad_td3_settings_fail_with_one_line(field, value):
    with pytest.raises(ValueError, match=field):
        replace(TD3Config(), **{field: value})


def test_fixes_name_the_switches_that_are_on():
    assert TD3Config().fixes == "twin + delay + smoothing"
    assert OFF.fixes == "none"
    assert replace(OFF, policy_delay=2).fixes == "delay"


def test_the_loop_builds_td3_for_a_td3_config_and_a_group_run_is_deterministic(tmp_path):
    config = replace(ON, total_steps=600, warmup_steps=300, eval_every=300, eval_episodes=2)
    assert agent_class(config) is TD3Agent and agent_class(DDPGConfig()) is DDPGAgent
    a = train_group(config, [0, 1], progress=False)
    b = train_group(config, [0, 1], progress=False)
    assert isinstance(a.agent, TD3Agent)
    assert a.histories[0].critic_loss == b.histories[0].critic_loss
    assert a.histories[0].critic_loss != a.histories[1].critic_loss
    one = a.agent.seed_agent(1)
    assert isinstance(one, TD3Agent) and one.seeds == (1,)
    one.save(tmp_path)
    assert (tmp_path / "target_critic2.weights.h5").exists()
    fresh = TD3Agent(3, [-2.0], [2.0], config)
    fresh.load(tmp_path)
    for x, y in zip(flat(one.seed_state(0).critic2), flat(fresh.seed_state(0).critic2)):
        np.testing.assert_array_equal(x, y)


def test_a_td3_agent_needs_a_td3_config():
    with pytest.raises(TypeError, match="TD3Config"):
        TD3Agent(3, [-2.0], [2.0], DDPGConfig())


def test_an_ablation_group_trains_each_seed_as_its_own_variant_would_alone():
    variants = [OFF, ON, replace(ON, twin_critics=False), replace(ON, policy_delay=1)]
    group = TD3Agent(3, [-2.0], [2.0], ON, seeds=[0, 0, 1, 1], variants=variants)
    alone = [TD3Agent(3, [-2.0], [2.0], v, seeds=[s]) for v, s in zip(variants, [0, 0, 1, 1])]
    data = [batches(k) for k in range(4)]
    group.update_group(stack_samples(data))
    for i, single in enumerate(alone):
        single.update(data[i])
        assert group.config_of(i) == variants[i] and group.seed_agent(i).config == variants[i]
        for x, y in zip(flat(group.seed_state(i)), flat(single.seed_state(0))):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5)


def test_variants_may_differ_only_in_the_switches():
    with pytest.raises(ValueError, match="differ only in"):
        TD3Agent(3, [-2.0], [2.0], ON, seeds=[0, 1], variants=[ON, replace(ON, actor_lr=1e-4)])
    with pytest.raises(ValueError, match="one TD3Config per seed"):
        TD3Agent(3, [-2.0], [2.0], ON, seeds=[0, 1], variants=[ON])


def test_train_arms_splits_one_group_run_into_arms(capsys):
    from helpers.loop import train_arms
    config = replace(OFF, total_steps=500, warmup_steps=300, eval_every=250, eval_episodes=2)
    runs = train_arms({"DDPG": config, "TD3": replace(config, twin_critics=True, policy_delay=2, target_noise=0.2)},
                      [3, 4])
    assert list(runs) == ["DDPG", "TD3"] and [r.seed for r in runs["TD3"]] == [3, 4]
    assert runs["TD3"][0].agent.config.twin_critics and not runs["DDPG"][1].agent.config.twin_critics
    assert len(runs["DDPG"][0].history.eval_steps) == 2
    assert "DDPG: 2 seeds" in capsys.readouterr().out


def test_the_update_uses_the_smoothing_noise_and_scales_it_by_the_half_range(monkeypatch):
    data = batches(0)
    plain = TD3Agent(3, [-2.0], [2.0], OFF)
    smoothed = TD3Agent(3, [-2.0], [2.0], replace(OFF, target_noise=0.2))
    plain.update(data)
    smoothed.update(data)
    assert not np.allclose(plain.seed_state(0).critic.trainable[0], smoothed.seed_state(0).critic.trainable[0])
    wide = TD3Agent(3, [-2.0], [2.0], replace(OFF, target_noise=0.2, target_noise_clip=100.0))
    captured = []
    monkeypatch.setattr(DDPGAgent, "update_group", lambda self, parts: captured.append(parts[-1]))
    wide.update_group(stack_samples([batches(0, n=50, batch=64)]))
    assert np.std(captured[0]) == pytest.approx(0.2 * 2.0, rel=0.05)  # 0.2 of the half-range 2


def test_load_keeps_the_switches_and_group_of_keeps_each_seeds_variant(tmp_path):
    variants = [ON, replace(ON, twin_critics=False, policy_delay=1)]
    group = TD3Agent(3, [-2.0], [2.0], ON, seeds=[0, 1], variants=variants)
    one = group.seed_agent(1)
    one.save(tmp_path)
    fresh = TD3Agent(3, [-2.0], [2.0], variants[1], seeds=[1])
    fresh.load(tmp_path)
    assert fresh.seed_state(0).switches == (False, 1)
    regrouped = TD3Agent.group_of([group.seed_agent(0), one])
    assert [regrouped.config_of(i) for i in range(2)] == variants
    with pytest.raises(ValueError, match="switches"):
        TD3Agent(3, [-2.0], [2.0], ON, seeds=[1], initial_states=[one.seed_state(0)])
