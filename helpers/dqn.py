"""DQN on a discretized action box: the baseline that DDPG is compared with in notebook 01.

Each action dimension is cut into ``bins`` evenly spaced values, and the
Q-network has one output per *joint* action: ``bins ** action_dim`` outputs.
The agent plugs into ``helpers.training.train`` through an epsilon-greedy
explorer, so both algorithms run through the same loop and evaluation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from helpers.agent import UpdateStats, run_updates, soft_update
from helpers.config import DDPGConfig


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


class DQNAgent:
    """Online and target Q-networks over a fixed grid of actions, with a compiled update."""

    def __init__(self, obs_dim: int, grid: np.ndarray, config: DQNConfig = DQNConfig()):
        self.config = config
        self.grid = np.asarray(grid, dtype=np.float32)
        self.q = build_q_network(obs_dim, len(self.grid), config.hidden_sizes, "q")
        self.target_q = build_q_network(obs_dim, len(self.grid), config.hidden_sizes, "target_q")
        self.target_q.set_weights(self.q.get_weights())
        self.optimizer = keras.optimizers.Adam(config.critic_lr)
        self.optimizer.build(self.q.trainable_variables)
        self._grid = tf.constant(self.grid)
        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        d = self.grid.shape[1]
        obs_spec = tf.TensorSpec([None, obs_dim], tf.float32)
        self._greedy = tf.function(self._greedy_graph, input_signature=[obs_spec]).get_concrete_function()
        stack = [tf.TensorSpec([None, None, obs_dim], tf.float32), tf.TensorSpec([None, None, d], tf.float32),
                 tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([None, None, obs_dim], tf.float32),
                 tf.TensorSpec([None, None], tf.float32)]
        self._update = tf.function(self._update_graph, input_signature=stack, jit_compile=True)

    @classmethod
    def for_env(cls, env, config: DQNConfig = DQNConfig()) -> "DQNAgent":
        grid = action_grid(env.action_space.low, env.action_space.high, config.bins)
        return cls(env.observation_space.shape[0], grid, config)

    def _greedy_graph(self, obs):
        return tf.argmax(self.q(obs, training=False), axis=1, output_type=tf.int32)

    def greedy_index(self, obs: np.ndarray) -> np.ndarray:
        """Index of the best joint action for each observation in a batch."""
        return self._greedy(tf.constant(np.asarray(obs, np.float32))).numpy()

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy continuous action(s) for one observation or a batch, as ``DDPGAgent.act``."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return self.grid[self.greedy_index(obs[None])[0]]
        return self.grid[self.greedy_index(obs)]

    def _train_step(self, obs, action, reward, next_obs, terminated):
        # The buffer holds the executed grid actions; recover their indices exactly.
        distance = tf.reduce_sum(tf.square(action[:, None, :] - self._grid[None, :, :]), axis=2)
        index = tf.argmin(distance, axis=1, output_type=tf.int32)
        next_q = tf.reduce_max(self.target_q(next_obs, training=False), axis=1)
        y = reward + self._gamma * (1.0 - terminated) * next_q  # truncation still bootstraps
        with tf.GradientTape() as tape:
            q = tf.gather(self.q(obs, training=True), index, axis=1, batch_dims=1)
            loss = tf.reduce_mean(tf.square(y - q))
        ok = tf.math.is_finite(loss)
        if ok:
            grads = tape.gradient(loss, self.q.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.q.trainable_variables))
            soft_update(self.target_q.weights, self.q.weights, self._tau)
        return tf.stack([loss, tf.zeros([]), tf.reduce_mean(q)]), ok

    def _update_graph(self, obs, action, reward, next_obs, terminated):
        return run_updates(self._train_step, obs, action, reward, next_obs, terminated)

    def update(self, batches) -> UpdateStats:
        """One update per batch in a stack; ``critic_loss`` holds the TD loss, ``actor_loss`` zeros."""
        stats = self._update(*batches).numpy()
        return UpdateStats(stats[:, 0], stats[:, 1], stats[:, 2])


class EpsilonGreedy:
    """Behaviour policy for DQN: a random grid action with probability epsilon, else the greedy one.

    Epsilon is 1 during the warm-up, then falls linearly to ``epsilon_end``.
    """

    def __init__(self, agent: DQNAgent, config: DQNConfig, rng: np.random.Generator):
        self.agent, self.config, self.rng = agent, config, rng

    def epsilon(self, step: int) -> float:
        c = self.config
        progress = min(max(step - c.warmup_steps, 0) / c.epsilon_decay_steps, 1.0)
        return 1.0 + progress * (c.epsilon_end - 1.0)

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        if self.rng.random() < self.epsilon(step):
            return self.agent.grid[self.rng.integers(len(self.agent.grid))]
        return self.agent.act(obs)

    def reset(self) -> None:
        """Epsilon-greedy has no memory across steps."""


def train_dqn(config: DQNConfig, env_fn=None, progress: bool = True, buffer=None):
    """Train DQN with ``helpers.training.train``: same loop, buffer, evaluation and history as DDPG."""
    from functools import partial

    from helpers.envs import make_env, seed_everything
    from helpers.training import train

    env_fn = env_fn or partial(make_env, config.env_id)
    seed_everything(config.seed)  # seeds the Q-networks' initial weights
    env = env_fn()
    agent = DQNAgent.for_env(env, config)
    env.close()
    explorer = EpsilonGreedy(agent, config, np.random.default_rng([config.seed, 2]))
    return train(config, env_fn, progress=progress, agent=agent, buffer=buffer, explorer=explorer)
