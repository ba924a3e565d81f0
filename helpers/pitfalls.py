"""Bugs put back into the course's agent, one change each, for notebook 06 and its stored long runs.

Each bug is the smallest change that reproduces it: an env wrapper that misreports the end of an episode, or a
subclass of ``DDPGAgent`` with one method changed. The line that differs from the course's agent carries a
``BUG:`` comment. The notebook shows the ones its stored runs train (``helpers.experiments``), and defines the
others in its own cells.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from helpers.agent import DDPGAgent, bootstrapped
from helpers.backend import tf

__all__ = ["BUGS", "BatchNormInTrainingMode", "TerminationIgnored", "TimeLimitAsTerminal", "q_at_falls"]


class TimeLimitAsTerminal(gym.Wrapper):
    """Pendulum-v1 as the first source notebook treats it: the `done` of the time limit is stored as terminal."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        # BUG: the loop stores `terminated`, so reporting the time limit as terminal stops the bootstrap there.
        return obs, reward, terminated or truncated, truncated, info


class TerminationIgnored(gym.Wrapper):
    """A terminating task as the Keras example treats every task: `terminated` is never stored."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        # BUG: the fall is reported as a time limit; the episode still ends, but the target bootstraps through it.
        return obs, reward, False, terminated or truncated, info


class BatchNormInTrainingMode(DDPGAgent):
    """Acting and targets with batch norm in training mode: each batch normalizes itself."""

    def _policy(self, s, obs):
        # BUG: training mode when acting. The loop acts on one observation at a time, so each is normalized by
        # the statistics of a batch of one (itself); the course's agent calls self.actor_net(s.actor, obs).
        def act_alone(o):
            return self.actor_net.train_mode(s.actor, o[None])[0][0]

        return tf.vectorized_map(act_alone, obs)

    def td_target(self, s, reward, next_obs, terminated):
        # BUG: training mode for the target networks; the course's agent uses their running statistics.
        next_action, _ = self.actor_net.train_mode(s.target_actor, next_obs)
        next_q, _ = self.critic_net.train_mode(s.target_critic, [next_obs, next_action])
        return bootstrapped(reward, terminated, next_q[:, 0], self._gamma)


BUGS = {"TimeLimitAsTerminal": TimeLimitAsTerminal, "TerminationIgnored": TerminationIgnored,
        "BatchNormInTrainingMode": BatchNormInTrainingMode}
"""The bugs a stored run can name (``helpers.experiments.Experiment`` arms), by class name."""


def q_at_falls(agent, histories, buffers, time_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: the critic's mean Q(s, a) on its own transitions into a fall (an episode that ended before
    ``time_limit`` steps), and on all its other transitions. A fall's true value is its reward.

    Falls are found from the episode lengths, not from the stored flags, so the measure is the same whether or
    not ``terminated`` reached the buffer. The buffers must not have wrapped around (the rows are the steps)."""
    at_falls, elsewhere = [], []
    for i, (history, buffer) in enumerate(zip(histories, buffers)):
        if history.total_steps > buffer.capacity:
            raise ValueError("q_at_falls needs buffers that never wrapped around: their rows must be the steps")
        ends = np.array(history.episode_end_steps)
        falls = ends[np.diff(ends, prepend=0) < time_limit] - 1  # the buffer row of each fall
        critic = agent.network("critic", i)
        q = np.asarray(critic([buffer.observations[: buffer.size], buffer.actions[: buffer.size]]))[:, 0]
        at_falls.append(q[falls].mean() if falls.size else np.nan)
        elsewhere.append(np.delete(q, falls).mean())
    return np.array(at_falls), np.array(elsewhere)
