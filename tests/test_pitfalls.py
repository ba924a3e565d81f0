"""The bugs of notebook 06 (helpers/pitfalls.py): each changes exactly what it claims, and the fall diagnostic
finds the transitions into a fall."""

from dataclasses import replace

import numpy as np
import pytest

from helpers.buffer import ReplayBuffer
from helpers.config import DDPGConfig
from helpers.envs import make_env
from helpers.pitfalls import BUGS, BatchNormInTrainingMode, TerminationIgnored, TimeLimitAsTerminal, q_at_falls
from helpers.records import History


def run_episode(env, action):
    env.reset(seed=0)
    steps = 0
    while True:
        steps += 1
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return steps, terminated, truncated


def test_the_time_limit_is_reported_as_terminal():
    assert run_episode(make_env("Pendulum-v1"), [0.0]) == (200, False, True)
    assert run_episode(TimeLimitAsTerminal(make_env("Pendulum-v1")), [0.0]) == (200, True, True)


def test_a_fall_is_reported_as_a_time_limit():
    steps, terminated, truncated = run_episode(make_env("InvertedPendulum-v5"), [3.0])
    assert terminated and not truncated and steps < 1_000
    assert run_episode(TerminationIgnored(make_env("InvertedPendulum-v5")), [3.0]) == (steps, False, True)


def test_batch_norm_in_training_mode_gives_every_state_the_same_action():
    config = replace(DDPGConfig(), hidden_sizes=(16, 16), normalization="batch")
    correct = BatchNormInTrainingMode.__mro__[1](3, [-2.0], [2.0], config)
    buggy = BatchNormInTrainingMode(3, [-2.0], [2.0], config, initial_states=[correct.seed_state(0)])
    states = np.random.default_rng(0).normal(size=(1, 50, 3)).astype(np.float32)
    assert correct.act_group(states).std() > 1e-4
    assert buggy.act_group(states).std() == 0.0
    assert set(BUGS.values()) == {TimeLimitAsTerminal, TerminationIgnored, BatchNormInTrainingMode}


class ConstantCritic:
    """A stand-in agent whose critic returns each observation's first component as Q."""

    def network(self, name, index):
        assert name == "critic"
        return lambda inputs: np.asarray(inputs[0])[:, :1]


def test_q_at_falls_reads_the_rows_of_the_episodes_that_ended_early():
    buffer = ReplayBuffer(20, 1, 1, np.random.default_rng(0))
    for step in range(10):  # episodes end at steps 3 (a fall), 8 (the time limit of 5 steps) and 10 (a fall)
        buffer.add([float(step)], [0.0], 0.0, [0.0], False)
    history = History(episode_end_steps=[3, 8, 10])
    at_falls, elsewhere = q_at_falls(ConstantCritic(), [history], [buffer], time_limit=5)
    assert at_falls.tolist() == [np.mean([2.0, 9.0])]
    assert elsewhere.tolist() == [np.mean([0, 1, 3, 4, 5, 6, 7, 8])]
    exactly_full = ReplayBuffer(10, 1, 1, np.random.default_rng(0))
    for step in range(10):  # ten steps into ten rows: every row is still its step
        exactly_full.add([float(step)], [0.0], 0.0, [0.0], False)
    history.total_steps = 10
    assert q_at_falls(ConstantCritic(), [history], [exactly_full], time_limit=5)[0].tolist() == [np.mean([2.0, 9.0])]
    history.total_steps = 11  # the eleventh step overwrote row 0
    with pytest.raises(ValueError, match="never wrapped"):
        q_at_falls(ConstantCritic(), [history], [exactly_full], time_limit=5)
