"""The algorithm table, the named random streams, and why the update keeps its own Adam."""

import numpy as np
import pytest

from helpers.algorithms import ALGORITHMS, agent_class, algorithm_of
from helpers.config import DDPGConfig, DQNConfig, TD3Config
from helpers.envs import RNG_STREAMS, rng


def test_each_config_class_asks_for_its_own_agent():
    from helpers.agent import DDPGAgent
    from helpers.dqn import DQNAgent
    from helpers.td3 import TD3Agent

    assert agent_class(DDPGConfig()) is DDPGAgent
    assert agent_class(TD3Config()) is TD3Agent
    # DQNConfig subclasses DDPGConfig; an isinstance test would have built a DDPG agent for it.
    assert agent_class(DQNConfig()) is DQNAgent
    assert [a.config for a in ALGORITHMS.values()] == [DDPGConfig, TD3Config, DQNConfig]


def test_a_config_of_an_unknown_class_is_refused_in_one_line():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class MyConfig(DDPGConfig):
        pass

    with pytest.raises(TypeError, match="no algorithm takes a MyConfig"):
        algorithm_of(MyConfig())


def test_train_group_builds_the_agent_the_config_asks_for():
    from helpers.dqn import DQNAgent
    from helpers.loop import train_group

    run = train_group(DQNConfig(total_steps=120, warmup_steps=60, eval_every=0, hidden_sizes=(8,), batch_size=8,
                                update_every=20), [0, 1], progress=False)
    assert type(run.agent) is DQNAgent and [h.seed for h in run.histories] == [0, 1]
    assert len(run.histories[0].critic_loss) == 60


def test_named_streams_differ_and_repeat():
    draws = {name: rng(3, name).random(4) for name in RNG_STREAMS}
    np.testing.assert_array_equal(draws["exploration"], np.random.default_rng(3).random(4))
    np.testing.assert_array_equal(draws["replay"], rng(3, "replay").random(4))
    # Only TD3's smoothing and DQN's epsilon share a number (no agent has both); every other pair differs.
    distinct = {k: v for k, v in draws.items() if k != "epsilon_greedy"}
    assert len({tuple(v) for v in distinct.values()}) == len(distinct)
    with pytest.raises(ValueError, match="stream must be one of"):
        rng(3, "noise")


def test_keras_pure_adam_is_still_unavailable_on_tensorflow():
    """helpers.group.adam is hand-written because Adam.stateless_apply raises on the TensorFlow backend. If this
    test fails, Keras now offers it: compare it with the hand-written one (tests/test_agent.py) and consider it."""
    from helpers.backend import keras, tf

    optimizer = keras.optimizers.Adam(1e-3)
    weights = [keras.Variable(np.ones(3, np.float32))]
    optimizer.build(weights)
    with pytest.raises(ValueError, match="not supported with the TensorFlow backend"):
        optimizer.stateless_apply([v.value for v in optimizer.variables], [tf.ones(3)], [w.value for w in weights])


def test_a_group_may_gather_seeds_of_runs_with_other_run_settings_but_not_other_networks():
    from dataclasses import replace

    from helpers.agent import DDPGAgent

    base = DDPGConfig(hidden_sizes=(8,))
    a = DDPGAgent(3, [-2.0], [2.0], base, seeds=[0])
    b = DDPGAgent(3, [-2.0], [2.0], replace(base, noise="ou", total_steps=5_000), seeds=[1])
    group = DDPGAgent.group_of([a, b])
    assert group.seeds == (0, 1) and group.config_of(1).noise == "ou"
    c = DDPGAgent(3, [-2.0], [2.0], replace(base, actor_lr=1e-4), seeds=[2])
    with pytest.raises(ValueError, match="share their learning settings; a variant differs in actor_lr"):
        DDPGAgent.group_of([a, c])


def test_train_arms_refuses_arms_with_other_run_settings():
    from dataclasses import replace

    from helpers.loop import train_arms

    td3 = TD3Config(total_steps=100, warmup_steps=50)
    with pytest.raises(ValueError, match="must share their run settings; they differ in total_steps"):
        train_arms({"a": td3, "b": replace(td3, total_steps=200, policy_delay=1)}, [0])


def test_train_group_refuses_seeds_that_contradict_its_agent():
    from helpers.agent import DDPGAgent
    from helpers.loop import train_group

    agent = DDPGAgent(3, [-2.0], [2.0], DDPGConfig(hidden_sizes=(8,)), seeds=[0, 1])
    with pytest.raises(ValueError, match=r"seeds \[5\] differ from the agent's \[0, 1\]"):
        train_group(DDPGConfig(hidden_sizes=(8,)), [5], agent=agent)


def test_loading_weights_restarts_td3s_delay_clock_with_its_adam(tmp_path):
    from helpers.td3 import TD3Agent

    agent = TD3Agent(3, [-2.0], [2.0], TD3Config(hidden_sizes=(8,), batch_size=4), seeds=[0])
    batch = [np.zeros((3, 4, 3)), np.zeros((3, 4, 1)), np.zeros((3, 4)), np.zeros((3, 4, 3)), np.zeros((3, 4))]
    agent.update([np.asarray(b, np.float32) for b in batch])
    assert int(agent.seed_state(0).updates) == 3
    agent.save(tmp_path)
    agent.load(tmp_path)
    state = agent.seed_state(0)
    assert int(state.updates) == 0 and float(state.critic_adam.step) == 0.0 and state.switches == (True, 2)
