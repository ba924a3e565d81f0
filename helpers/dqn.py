"""DQN on a discretized action box: the baseline that DDPG is compared with in notebook 01.

Each action dimension is cut into ``bins`` evenly spaced values, and the
Q-network has one output per *joint* action: ``bins ** action_dim`` outputs.
The agent plugs into ``helpers.loop.train_group`` through an epsilon-greedy
explorer, so both algorithms run through the same loop and evaluation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers.agent import soft_update
from helpers.config import DDPGConfig
from helpers.envs import seed_everything
from helpers.group import AdamState, GroupLearner, NetWeights, PureModel, adam, adam_init, keep_if


@dataclass(frozen=True)
class DQNConfig(DDPGConfig):
    """DDPGConfig's settings plus DQN's own. The Q-network uses ``critic_lr`` and
    ``hidden_sizes``; ``actor_lr`` and the noise settings are not used."""

    bins: int = 11
    """Evenly spaced values per action dimension, ends included; joint actions: bins ** action_dim."""

    epsilon_end: float = 0.05
    """Final probability of a random action; epsilon falls linearly from 1 after the warm-up."""

    epsilon_decay_steps: int = 3_000
    """Env steps after the warm-up over which epsilon falls from 1 to ``epsilon_end``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.bins < 2:
            raise ValueError(f"bins must be at least 2, got {self.bins}")
        if not 0.0 <= self.epsilon_end <= 1.0:
            raise ValueError(f"epsilon_end must be in [0, 1], got {self.epsilon_end}")
        if self.epsilon_decay_steps <= 0:
            raise ValueError(f"epsilon_decay_steps must be positive, got {self.epsilon_decay_steps}")


def action_grid(low, high, bins: int) -> np.ndarray:
    """Every joint action of the grid, shape (bins ** d, d): all combinations of per-dimension values."""
    axes = [np.linspace(lo, hi, bins, dtype=np.float32) for lo, hi in zip(np.atleast_1d(low), np.atleast_1d(high))]
    return np.array(list(itertools.product(*axes)), dtype=np.float32)


def build_q_network(obs_dim: int, n_actions: int, hidden_sizes=(256, 256), name: str = "q") -> keras.Model:
    """Q(s, .): observation -> one value per joint action, shape (batch, n_actions)."""
    obs = keras.Input(shape=(obs_dim,), name="observation")
    x = obs
    for i, units in enumerate(hidden_sizes):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return keras.Model(obs, layers.Dense(n_actions, name="q_values")(x), name=name)


class DQNState(NamedTuple):
    """Everything one seed's DQN agent learns: online and target Q-networks and Adam's memory."""

    q: NetWeights
    target_q: NetWeights
    adam: AdamState


class DQNAgent(GroupLearner):
    """Online and target Q-networks over a fixed grid of actions, for one seed or a group of seeds."""

    def __init__(self, obs_dim: int, grid: np.ndarray, config: DQNConfig = DQNConfig(), seeds=None,
                 initial_states=None):
        self.config = config
        self.grid = np.asarray(grid, dtype=np.float32)
        self.obs_dim, self.action_dim = int(obs_dim), self.grid.shape[1]
        self.q_net = PureModel(build_q_network(obs_dim, len(self.grid), config.hidden_sizes, "q"))
        self._grid = tf.constant(self.grid)
        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        self._build_group(seeds if seeds is not None else [config.seed], initial_states)

    @classmethod
    def for_env(cls, env, config: DQNConfig = DQNConfig(), seeds=None) -> "DQNAgent":
        grid = action_grid(env.action_space.low, env.action_space.high, config.bins)
        return cls(env.observation_space.shape[0], grid, config, seeds)

    def _init_state(self, seed: int) -> DQNState:
        seed_everything(seed)  # seeds the Q-network's initial weights
        q = self.q_net.weights_of(build_q_network(self.obs_dim, len(self.grid), self.config.hidden_sizes))
        return DQNState(q, q, adam_init(q.trainable))

    def seed_agent(self, index: int) -> "DQNAgent":
        """A group of one holding a copy of the seed at ``index``."""
        return DQNAgent(self.obs_dim, self.grid, self.config, [self.seeds[index]], [self.seed_state(index)])

    def _policy(self, s: DQNState, obs):
        """The greedy grid action for each observation."""
        q_values, _ = self.q_net(s.q, obs, training=False)
        return tf.gather(self._grid, tf.argmax(q_values, axis=1, output_type=tf.int32))

    def _train_step(self, s: DQNState, batch):
        obs, action, reward, next_obs, terminated = batch
        # The buffer holds the executed grid actions; recover their indices exactly.
        distance = tf.reduce_sum(tf.square(action[:, None, :] - self._grid[None, :, :]), axis=2)
        index = tf.argmin(distance, axis=1, output_type=tf.int32)
        next_q, _ = self.q_net(s.target_q, next_obs, training=False)
        y = reward + self._gamma * (1.0 - terminated) * tf.reduce_max(next_q, axis=1)  # truncation still bootstraps
        with tf.GradientTape() as tape:
            tape.watch(s.q.trainable)
            q_values, _ = self.q_net(s.q, obs, training=True)
            q = tf.gather(q_values, index, axis=1, batch_dims=1)
            loss = tf.reduce_mean(tf.square(y - q))
        grads = tape.gradient(loss, s.q.trainable)
        weights, adam_state = adam(s.q.trainable, grads, s.adam, self.config.critic_lr)
        q_new = NetWeights(weights, s.q.non_trainable)
        new = DQNState(q_new, NetWeights(*(soft_update(t, o, self._tau) for t, o in zip(s.target_q, q_new))),
                       adam_state)
        ok = tf.math.is_finite(loss)
        return keep_if(ok, new, s), tf.stack([loss, tf.zeros([]), tf.reduce_mean(q)]), ok


class EpsilonGreedy:
    """Behaviour policy for DQN, for a group: per seed, a random grid action with probability epsilon,
    else the greedy one. Epsilon is 1 during the warm-up, then falls linearly to ``epsilon_end``.

    Seed ``s`` draws from ``default_rng([s, 2])``, the same numbers as when trained alone.
    """

    def __init__(self, agent: DQNAgent, config: DQNConfig):
        self.agent, self.config = agent, config
        self.rngs = [np.random.default_rng([seed, 2]) for seed in agent.seeds]

    def epsilon(self, step: int) -> float:
        c = self.config
        progress = min(max(step - c.warmup_steps, 0) / c.epsilon_decay_steps, 1.0)
        return 1.0 + progress * (c.epsilon_end - 1.0)

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        """Actions (group, action_dim) for observations (group, obs_dim)."""
        eps = self.epsilon(step)
        random = [rng.integers(len(self.agent.grid)) if rng.random() < eps else None for rng in self.rngs]
        if all(r is not None for r in random):
            return self.agent.grid[random]
        greedy = self.agent.act_group(obs[:, None])[:, 0]
        return np.stack([greedy[i] if r is None else self.agent.grid[r] for i, r in enumerate(random)])

    def reset(self, index: int) -> None:
        """Epsilon-greedy has no memory across steps."""


def train_dqn(config: DQNConfig, seeds=None, env_fn=None, progress: bool = True):
    """Train DQN with ``helpers.loop.train_group``: same loop, buffers, evaluation and histories as DDPG."""
    from functools import partial

    from helpers.envs import make_env
    from helpers.loop import train_group

    env_fn = env_fn or partial(make_env, config.env_id)
    env = env_fn()
    agent = DQNAgent.for_env(env, config, list(seeds) if seeds is not None else None)
    env.close()
    return train_group(config, env_fn=env_fn, progress=progress, agent=agent, explorer=EpsilonGreedy(agent, config))
