r"""The DDPG learning rule: critic step, actor step and soft target update.

One update on a batch :math:`\{(s, a, r, s', d)\}`, with ``d`` = terminated:

.. math::
    y = r + \gamma (1 - d)\, Q'(s', \mu'(s'))

    L_Q = \operatorname{mean}\big(y - Q(s, a)\big)^2, \qquad
    L_\mu = -\operatorname{mean}\, Q(s, \mu(s))

    \theta' \leftarrow \tau \theta + (1 - \tau)\, \theta'

Everything runs inside one compiled TensorFlow graph. ``update`` takes a
stack of batches and loops over them in that graph, so the Python-to-graph
call costs once per stack rather than once per update.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers.config import DDPGConfig
from helpers.networks import build_actor, build_critic


class UpdateStats(NamedTuple):
    """Per-update diagnostics, one entry per update that ran."""

    critic_loss: np.ndarray
    actor_loss: np.ndarray
    mean_q: np.ndarray


class DDPGAgent:
    """Actor, critic, their target copies and two separate Adam optimizers."""

    def __init__(
        self,
        obs_dim: int,
        action_low: Sequence[float],
        action_high: Sequence[float],
        config: DDPGConfig = DDPGConfig(),
    ):
        self.config = config
        self.obs_dim = int(obs_dim)
        self.action_low = np.asarray(action_low, dtype=np.float32).reshape(-1)
        self.action_high = np.asarray(action_high, dtype=np.float32).reshape(-1)
        self.action_dim = self.action_low.size

        def actor(name):
            return build_actor(
                self.obs_dim, self.action_low, self.action_high, config.hidden_sizes, config.normalization, name=name
            )

        def critic(name):
            return build_critic(self.obs_dim, self.action_dim, config.hidden_sizes, config.normalization, name=name)

        self.actor, self.target_actor = actor("actor"), actor("target_actor")
        self.critic, self.target_critic = critic("critic"), critic("target_critic")
        # Targets start as exact copies. This is the only get/set_weights call:
        # per-step target updates happen inside the compiled graph.
        self.target_actor.set_weights(self.actor.get_weights())
        self.target_critic.set_weights(self.critic.get_weights())

        # Two optimizers: a shared Adam would mix the moment estimates of two
        # different losses and could not have two learning rates.
        self.actor_optimizer = keras.optimizers.Adam(config.actor_lr)
        self.critic_optimizer = keras.optimizers.Adam(config.critic_lr)
        self.actor_optimizer.build(self.actor.trainable_variables)
        self.critic_optimizer.build(self.critic.trainable_variables)

        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        obs_spec = tf.TensorSpec([None, self.obs_dim], tf.float32)
        stack = [
            tf.TensorSpec([None, None, self.obs_dim], tf.float32),
            tf.TensorSpec([None, None, self.action_dim], tf.float32),
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None, None, self.obs_dim], tf.float32),
            tf.TensorSpec([None, None], tf.float32),
        ]
        # Calling the concrete function directly skips the argument binding of
        # tf.function, which costs more than the tiny forward pass itself.
        self._policy = tf.function(self._policy_graph, input_signature=[obs_spec]).get_concrete_function()
        # XLA fuses the many small ops of one update (Adam, Polyak, activations).
        self._update = tf.function(self._update_graph, input_signature=stack, jit_compile=True)

    @classmethod
    def for_env(cls, env, config: DDPGConfig = DDPGConfig()) -> "DDPGAgent":
        """An agent sized for ``env``, with action bounds read from its action space."""
        return cls(env.observation_space.shape[0], env.action_space.low, env.action_space.high, config)

    # ----- acting -------------------------------------------------------
    def _policy_graph(self, obs):
        # training=False: batch norm uses its running statistics when acting.
        return self.actor(obs, training=False)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Noise-free action mu(s) for one observation (obs_dim,) or a batch (n, obs_dim)."""
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return self._policy(tf.constant(obs[None])).numpy()[0]
        return self._policy(tf.constant(obs)).numpy()

    # ----- learning -----------------------------------------------------
    def td_target(self, reward, next_obs, terminated):
        """y = r + gamma * (1 - terminated) * Q'(s', mu'(s')), from the target networks."""
        next_obs = tf.convert_to_tensor(next_obs, tf.float32)
        # Target networks run in inference mode (batch norm uses running statistics).
        next_action = self.target_actor(next_obs, training=False)
        next_q = tf.squeeze(self.target_critic([next_obs, next_action], training=False), axis=1)
        # Only a true terminal state stops bootstrapping. A time-limit truncation
        # was stored with terminated = 0, so its target still includes gamma * Q'.
        return reward + self._gamma * (1.0 - terminated) * next_q

    def _train_step(self, obs, action, reward, next_obs, terminated):
        """One DDPG update, guarded against non-finite losses.

        A non-finite critic loss skips the whole update. The actor loss uses the
        freshly updated critic; if it is non-finite, the actor and target updates
        are skipped (the critic step stays). Batch-norm running statistics, if
        any, are updated by the forward passes before either check.
        """
        # y is computed outside the tape: a constant, so no gradient flows into Q' or mu'.
        y = self.td_target(reward, next_obs, terminated)
        with tf.GradientTape() as tape:
            q = tf.squeeze(self.critic([obs, action], training=True), axis=1)
            critic_loss = tf.reduce_mean(tf.square(y - q))
        critic_ok = tf.math.is_finite(critic_loss)
        if critic_ok:
            grads = tape.gradient(critic_loss, self.critic.trainable_variables)
            self.critic_optimizer.apply_gradients(zip(grads, self.critic.trainable_variables))

        with tf.GradientTape() as tape:
            # Minimizing -Q is gradient ascent on Q; the gradient reaches the actor
            # only through dQ/da, the deterministic policy gradient.
            actor_loss = -tf.reduce_mean(self.critic([obs, self.actor(obs, training=True)], training=True))
        ok = critic_ok and tf.math.is_finite(actor_loss)
        if ok:
            grads = tape.gradient(actor_loss, self.actor.trainable_variables)
            self.actor_optimizer.apply_gradients(zip(grads, self.actor.trainable_variables))
            soft_update(self.target_actor.weights, self.actor.weights, self._tau)
            soft_update(self.target_critic.weights, self.critic.weights, self._tau)
        return tf.stack([critic_loss, actor_loss, tf.reduce_mean(q)]), ok

    def _update_graph(self, obs, action, reward, next_obs, terminated):
        return run_updates(self._train_step, obs, action, reward, next_obs, terminated)

    def update(self, batches) -> UpdateStats:
        """Run one update per batch in a stack (leading axis = number of updates).

        ``batches`` is a ``ReplayBufferSamples`` from ``ReplayBuffer.sample(b, n)``.
        Returns the losses of every update that ran; fewer than n means a loss
        went non-finite and the loop stopped there.
        """
        stats = self._update(*batches).numpy()
        return UpdateStats(stats[:, 0], stats[:, 1], stats[:, 2])

    # ----- persistence --------------------------------------------------
    def _models(self) -> dict[str, keras.Model]:
        return {
            "actor": self.actor,
            "critic": self.critic,
            "target_actor": self.target_actor,
            "target_critic": self.target_critic,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the weights of all four networks as ``<name>.weights.h5`` files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name, model in self._models().items():
            model.save_weights(directory / f"{name}.weights.h5")
        return directory

    def load(self, directory: str | Path) -> None:
        """Read weights written by ``save`` into networks of the same shape."""
        directory = Path(directory)
        for name, model in self._models().items():
            path = directory / f"{name}.weights.h5"
            if not path.exists():
                raise FileNotFoundError(f"no saved weights at {path}")
            model.load_weights(path)


def run_updates(train_step, obs, action, reward, next_obs, terminated):
    """Graph loop over a stack of batches: one ``train_step`` per batch, stats stacked.

    ``train_step`` returns (a vector of 3 statistics, whether its losses were
    finite). The loop stops at the first non-finite loss, so no later update
    trains on garbage; the stats of the updates that ran are returned.
    """
    n = tf.shape(obs)[0]
    stats = tf.TensorArray(tf.float32, size=n, element_shape=[3])
    i, ok = tf.constant(0), tf.constant(True)
    while i < n and ok:
        row, ok = train_step(obs[i], action[i], reward[i], next_obs[i], terminated[i])
        stats = stats.write(i, row)
        i += 1
    return stats.stack()[:i]


def soft_update(target_weights, source_weights, tau) -> None:
    """Polyak averaging, theta' <- tau * theta + (1 - tau) * theta', for every variable.

    It covers non-trainable variables too, so batch-norm running statistics of
    a target network follow the online network as well.
    """
    for target, source in zip(target_weights, source_weights):
        target.assign(tau * source + (1.0 - tau) * target)
