"""DQN on a discretized action box: the baseline that DDPG is compared with in notebook 01.

Each action dimension is cut into ``bins`` evenly spaced values, and the
Q-network has one output per *joint* action: ``bins ** action_dim`` outputs.
The agent plugs into ``helpers.loop.train_group`` through an epsilon-greedy
explorer, so both algorithms run through the same loop and evaluation:
``train_group(DQNConfig(...))`` trains DQN (``DQNConfig`` lives in ``helpers.config``).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from helpers.agent import bootstrapped, soft_update
from helpers.backend import keras, tf
from helpers.config import DQNConfig
from helpers.envs import rng, seed_everything
from helpers.group import AdamState, GroupLearner, NetWeights, PureModel, UpdateStats, adam, adam_init

__all__ = ["DQNAgent", "DQNConfig", "EpsilonGreedy", "action_grid", "build_q_network"]


def action_grid(low, high, bins: int) -> np.ndarray:
    """Every joint action of the grid, shape (bins ** d, d): all combinations of per-dimension values."""
    axes = [np.linspace(lo, hi, bins, dtype=np.float32) for lo, hi in zip(np.atleast_1d(low), np.atleast_1d(high))]
    return np.array(list(itertools.product(*axes)), dtype=np.float32)


def build_q_network(obs_dim: int, n_actions: int, hidden_sizes=(256, 256), name: str = "q") -> keras.Model:
    """Q(s, .): observation -> one value per joint action, shape (batch, n_actions)."""
    obs = keras.Input(shape=(obs_dim,), name="observation")
    x = obs
    for i, units in enumerate(hidden_sizes):
        x = keras.layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    return keras.Model(obs, keras.layers.Dense(n_actions, name="q_values")(x), name=name)


class DQNState(NamedTuple):
    """Everything one seed's DQN agent learns: online and target Q-networks and Adam's memory."""

    q: NetWeights
    target_q: NetWeights
    adam: AdamState


class DQNAgent(GroupLearner):
    """Online and target Q-networks over a fixed grid of actions, for one seed or a group of seeds."""

    def __init__(self, obs_dim: int, grid: np.ndarray, config: DQNConfig = DQNConfig(), seeds=None,
                 initial_states=None, variants=None):
        self.config = config
        self.grid = np.asarray(grid, dtype=np.float32)
        self.obs_dim, self.action_dim = int(obs_dim), self.grid.shape[1]
        self.q_net = PureModel(self._new_q())
        self._grid = tf.constant(self.grid)
        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        self._build_group(seeds, initial_states, variants)

    @classmethod
    def for_env(cls, env, config: DQNConfig = DQNConfig(), seeds=None, variants=None) -> "DQNAgent":
        grid = action_grid(env.action_space.low, env.action_space.high, config.bins)
        return cls(env.observation_space.shape[0], grid, config, seeds, variants=variants)

    def _env_args(self) -> tuple:
        return self.obs_dim, self.grid

    def _new_q(self) -> keras.Model:
        return build_q_network(self.obs_dim, len(self.grid), self.config.hidden_sizes, "q")

    def _init_state(self, seed: int, variant: DQNConfig | None = None) -> DQNState:
        seed_everything(seed)  # seeds the Q-network's initial weights
        q = self.q_net.weights_of(self._new_q())
        return DQNState(q, q, adam_init(q.trainable))

    def make_explorer(self, config: DQNConfig, envs: list) -> "EpsilonGreedy":
        return EpsilonGreedy(self, config)

    def _policy(self, s: DQNState, obs):
        """The greedy grid action for each observation."""
        return tf.gather(self._grid, tf.argmax(self.q_net(s.q, obs), axis=1, output_type=tf.int32))

    def _train_step(self, s: DQNState, batch):
        """One DQN update of one seed: regress Q(s, a) on y = r + gamma (1 - terminated) max_a' Q'(s', a')."""
        obs, action, reward, next_obs, terminated = batch
        # The buffer holds the executed grid actions; recover their indices exactly.
        distance = tf.reduce_sum(tf.square(action[:, None, :] - self._grid[None, :, :]), axis=2)
        index = tf.argmin(distance, axis=1, output_type=tf.int32)
        y = bootstrapped(reward, terminated, tf.reduce_max(self.q_net(s.target_q, next_obs), axis=1), self._gamma)
        with tf.GradientTape() as tape:
            tape.watch(s.q.trainable)
            q_values, _ = self.q_net.train_mode(s.q, obs)  # the Q-network has no batch norm to update
            q = tf.gather(q_values, index, axis=1, batch_dims=1)
            loss = tf.reduce_mean(tf.square(y - q))
        grads = tape.gradient(loss, s.q.trainable)
        weights, adam_state = adam(s.q.trainable, grads, s.adam, self.config.critic_lr)
        q_new = NetWeights(weights, s.q.non_trainable)
        new = DQNState(q_new, soft_update(s.target_q, q_new, self._tau), adam_state)
        return new, UpdateStats(loss, tf.zeros([]), tf.reduce_mean(q))  # DQN has no actor


class EpsilonGreedy:
    """Behaviour policy for DQN, for a group: per seed, a random grid action with probability epsilon,
    else the greedy one. Epsilon is 1 during the warm-up, then falls linearly to ``epsilon_end``.

    Seed ``s`` draws from its ``epsilon_greedy`` stream, the same numbers as when trained alone.
    """

    def __init__(self, agent: DQNAgent, config: DQNConfig):
        self.agent, self.config = agent, config
        self.generators = [rng(seed, "epsilon_greedy") for seed in agent.seeds]

    def epsilon(self, step: int) -> float:
        c = self.config
        progress = min(max(step - c.warmup_steps, 0) / c.epsilon_decay_steps, 1.0)
        return 1.0 + progress * (c.epsilon_end - 1.0)

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        """Actions (group, action_dim) for observations (group, obs_dim)."""
        eps = self.epsilon(step)
        picks = [g.integers(len(self.agent.grid)) if g.random() < eps else None for g in self.generators]
        if all(p is not None for p in picks):
            return self.agent.grid[picks]
        greedy = self.agent.act_group(obs[:, None])[:, 0]
        return np.stack([greedy[i] if p is None else self.agent.grid[p] for i, p in enumerate(picks)])

    def checkpoint_state(self) -> list:
        return [g.bit_generator.state for g in self.generators]

    def restore_checkpoint_state(self, states: list) -> None:
        for generator, state in zip(self.generators, states):
            generator.bit_generator.state = state

    def reset(self, index: int) -> None:
        """Epsilon-greedy has no memory across steps."""
