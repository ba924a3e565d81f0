r"""The DDPG learning rule: critic step, actor step and soft target update.

One update on a batch :math:`\{(s, a, r, s', d)\}`, with ``d`` = terminated:

.. math::
    y = r + \gamma (1 - d)\, Q'(s', \mu'(s'))

    L_Q = \operatorname{mean}\big(y - Q(s, a)\big)^2, \qquad
    L_\mu = -\operatorname{mean}\, Q(s, \mu(s))

    \theta' \leftarrow \tau \theta + (1 - \tau)\, \theta'

``_train_step`` is that update for one seed, written once as a pure function
of the weights. ``helpers.group.GroupLearner`` runs it for a whole group of
seeds in one XLA-compiled call, and loops over a stack of batches inside that
call, so the Python-to-graph cost is paid once per stack, not once per update
and seed. A single run is a group of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import keras
import numpy as np
import tensorflow as tf

from helpers.config import DDPGConfig
from helpers.envs import seed_everything
from helpers.group import AdamState, GroupLearner, NetWeights, PureModel, UpdateStats, adam, adam_init, keep_if
from helpers.networks import build_actor, build_critic

__all__ = ["DDPGAgent", "DDPGState", "UpdateStats", "soft_update"]


class DDPGState(NamedTuple):
    """Everything one seed's DDPG agent learns: four networks and two separate Adam memories."""

    actor: NetWeights
    critic: NetWeights
    target_actor: NetWeights
    target_critic: NetWeights
    actor_adam: AdamState
    critic_adam: AdamState


def soft_update(target: list, online: list, tau) -> list:
    """Polyak averaging, theta' <- tau * theta + (1 - tau) * theta', for every array in the list.

    The training step applies it to the non-trainable weights too, so the
    batch-norm running statistics of a target network follow the online network.
    """
    return [tau * o + (1.0 - tau) * t for t, o in zip(target, online)]


class DDPGAgent(GroupLearner):
    """Actor, critic, their target copies and two separate Adam optimizers, for one seed or a group.

    ``seeds`` (default: ``(config.seed,)``) lists the seeds trained side by side;
    seed ``s`` starts from the weights it would have if trained alone.
    """

    def __init__(
        self,
        obs_dim: int,
        action_low: Sequence[float],
        action_high: Sequence[float],
        config: DDPGConfig = DDPGConfig(),
        seeds: Sequence[int] | None = None,
        initial_states: Sequence[DDPGState] | None = None,
    ):
        self.config = config
        self.obs_dim = int(obs_dim)
        self.action_low = np.asarray(action_low, dtype=np.float32).reshape(-1)
        self.action_high = np.asarray(action_high, dtype=np.float32).reshape(-1)
        self.action_dim = self.action_low.size
        # Plain Keras models, used as pure functions of the weights (helpers.group.PureModel).
        self.actor_net = PureModel(build_actor(self.obs_dim, self.action_low, self.action_high,
                                               config.hidden_sizes, config.normalization))
        self.critic_net = PureModel(build_critic(self.obs_dim, self.action_dim, config.hidden_sizes,
                                                 config.normalization, config.critic_action))
        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        self._build_group(seeds if seeds is not None else [config.seed], initial_states)

    @classmethod
    def for_env(cls, env, config: DDPGConfig = DDPGConfig(), seeds: Sequence[int] | None = None) -> "DDPGAgent":
        """An agent sized for ``env``, with action bounds read from its action space."""
        return cls(env.observation_space.shape[0], env.action_space.low, env.action_space.high, config, seeds)

    def _init_state(self, seed: int) -> DDPGState:
        """Fresh networks for one seed; the targets start as exact copies of them."""
        seed_everything(seed)
        actor = self.actor_net.weights_of(build_actor(self.obs_dim, self.action_low, self.action_high,
                                                      self.config.hidden_sizes, self.config.normalization))
        critic = self.critic_net.weights_of(build_critic(self.obs_dim, self.action_dim, self.config.hidden_sizes,
                                                         self.config.normalization, self.config.critic_action))
        return DDPGState(actor, critic, actor, critic, adam_init(actor.trainable), adam_init(critic.trainable))

    def seed_agent(self, index: int) -> "DDPGAgent":
        """A group of one holding a copy of the seed at ``index`` (to evaluate, film or save it alone)."""
        return type(self)(self.obs_dim, self.action_low, self.action_high, self.config_of(index),
                          [self.seeds[index]], [self.seed_state(index)])

    def config_of(self, index: int) -> DDPGConfig:
        """The config of the seed at ``index`` (every seed of a DDPG group shares ``config``)."""
        return self.config

    @classmethod
    def group_of(cls, agents: Sequence["DDPGAgent"]) -> "DDPGAgent":
        """One group holding the seeds of several agents with the same config, for example the ``Run.agent`` of
        each seed that ``train_seeds`` returns: acting or evaluating all of them then costs one compiled call."""
        first = agents[0]
        if any(a.config != first.config or a.obs_dim != first.obs_dim for a in agents):
            raise ValueError("group_of needs agents with the same config and observation size")
        return cls(first.obs_dim, first.action_low, first.action_high, first.config,
                   [seed for a in agents for seed in a.seeds],
                   [a.seed_state(i) for a in agents for i in range(a.group_size)])

    # ----- acting -------------------------------------------------------
    def _policy(self, s: DDPGState, obs):
        # training=False: batch norm uses its running statistics when acting.
        action, _ = self.actor_net(s.actor, obs, training=False)
        return action

    def _value(self, s: DDPGState, obs):
        """The critic's value of the actor's action, Q(s, mu(s)), both networks in inference mode."""
        action, _ = self.actor_net(s.actor, obs, training=False)
        q, _ = self.critic_net(s.critic, [obs, action], training=False)
        return q[:, 0]

    def q_group(self, obs: np.ndarray) -> np.ndarray:
        """Q(s, mu(s)) from every seed's critic: observations (group, n, obs_dim) -> values (group, n)."""
        if getattr(self, "_q_fn", None) is None:
            spec = tf.TensorSpec([self.group_size, None, self.obs_dim], tf.float32)

            def graph(obs):
                state = tf.nest.map_structure(tf.convert_to_tensor, self.state)
                return tf.vectorized_map(lambda args: self._value(*args), (state, obs))

            self._q_fn = tf.function(graph, input_signature=[spec], jit_compile=True).get_concrete_function()
        return self._q_fn(tf.constant(np.asarray(obs, np.float32))).numpy()

    # ----- learning -----------------------------------------------------
    def td_target(self, s: DDPGState, reward, next_obs, terminated):
        """y = r + gamma * (1 - terminated) * Q'(s', mu'(s')), from the target networks."""
        # Target networks run in inference mode (batch norm uses running statistics).
        next_action, _ = self.actor_net(s.target_actor, next_obs, training=False)
        next_q, _ = self.critic_net(s.target_critic, [next_obs, next_action], training=False)
        # Only a true terminal state stops bootstrapping. A time-limit truncation
        # was stored with terminated = 0, so its target still includes gamma * Q'.
        return reward + self._gamma * (1.0 - terminated) * next_q[:, 0]

    def _critic_step(self, critic: NetWeights, critic_adam: AdamState, obs, action, y):
        """One Adam step on the mean squared TD error of ``critic`` at the stored (s, a): new weights, Adam, loss, Q."""
        with tf.GradientTape() as tape:
            tape.watch(critic.trainable)
            q, stats = self.critic_net(critic, [obs, action], training=True)
            loss = tf.reduce_mean(tf.square(y - q[:, 0]))
        grads = tape.gradient(loss, critic.trainable)
        weights, critic_adam = adam(critic.trainable, grads, critic_adam, self.config.critic_lr)
        return NetWeights(weights, stats), critic_adam, loss, q

    def _actor_step(self, actor: NetWeights, actor_adam: AdamState, critic: NetWeights, obs):
        """One Adam step of the actor on -mean Q(s, mu(s)): new actor, Adam, loss, and the critic (its
        batch-norm statistics saw the actor's actions)."""
        with tf.GradientTape() as tape:
            tape.watch(actor.trainable)
            mu, actor_stats = self.actor_net(actor, obs, training=True)
            q_mu, critic_stats = self.critic_net(critic, [obs, mu], training=True)
            # Minimizing -Q is gradient ascent on Q; the gradient reaches the actor
            # only through dQ/da, the deterministic policy gradient.
            loss = -tf.reduce_mean(q_mu)
        grads = tape.gradient(loss, actor.trainable)
        weights, actor_adam = adam(actor.trainable, grads, actor_adam, self.config.actor_lr)
        return NetWeights(weights, actor_stats), actor_adam, loss, NetWeights(critic.trainable, critic_stats)

    def _train_step(self, s: DDPGState, batch):
        """One DDPG update of one seed: returns the new state, [critic loss, actor loss, mean Q], ok.

        If either loss is not finite, the seed keeps its old state (ok is False)
        and the training loop stops with an error that names the seed.
        """
        obs, action, reward, next_obs, terminated = batch
        # y is computed outside the tapes: a constant, so no gradient flows into Q' or mu'.
        y = self.td_target(s, reward, next_obs, terminated)
        critic, critic_adam, critic_loss, q = self._critic_step(s.critic, s.critic_adam, obs, action, y)
        actor, actor_adam, actor_loss, critic = self._actor_step(s.actor, s.actor_adam, critic, obs)
        new = DDPGState(
            actor,
            critic,
            NetWeights(*(soft_update(t, o, self._tau) for t, o in zip(s.target_actor, actor))),
            NetWeights(*(soft_update(t, o, self._tau) for t, o in zip(s.target_critic, critic))),
            actor_adam,
            critic_adam,
        )
        ok = tf.logical_and(tf.math.is_finite(critic_loss), tf.math.is_finite(actor_loss))
        return keep_if(ok, new, s), tf.stack([critic_loss, actor_loss, tf.reduce_mean(q)]), ok

    # ----- inspection and persistence -------------------------------------
    def network(self, name: str, index: int = 0) -> keras.Model:
        """The Keras model ``name`` ("actor", "critic", "target_actor" or "target_critic") of one seed.

        The returned model holds a copy of that seed's current weights; training
        does not change it afterwards (ask again).
        """
        if name not in self._NETWORKS:
            raise ValueError(f"name must be one of {self._NETWORKS}, got {name!r}")
        pure = self.actor_net if name.endswith("actor") else self.critic_net
        return pure.load_into_model(getattr(self.seed_state(index), name))

    _NETWORKS = ("actor", "critic", "target_actor", "target_critic")
    _State = DDPGState

    @property
    def actor(self) -> keras.Model:
        return self.network("actor")

    @property
    def critic(self) -> keras.Model:
        return self.network("critic")

    def save(self, directory: str | Path, index: int = 0) -> Path:
        """Write the weights of one seed's four networks as ``<name>.weights.h5`` files."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in self._NETWORKS:
            self.network(name, index).save_weights(directory / f"{name}.weights.h5")
        return directory

    def load(self, directory: str | Path, index: int = 0) -> None:
        """Read weights written by ``save`` into the seed at ``index``; its Adam memory starts afresh."""
        directory = Path(directory)
        loaded = {}
        for name in self._NETWORKS:
            path = directory / f"{name}.weights.h5"
            if not path.exists():
                raise FileNotFoundError(f"no saved weights at {path}")
            pure = self.actor_net if name.endswith("actor") else self.critic_net
            pure.model.load_weights(path)
            loaded[name] = pure.weights_of()
        # Every online network has an Adam memory named after it; it starts afresh.
        adams = {f"{name}_adam": adam_init(loaded[name].trainable) for name in self._NETWORKS
                 if f"{name}_adam" in self._State._fields}
        # Anything else in the state (TD3's switches) stays as it is.
        current = self.seed_state(index)
        kept = {f: getattr(current, f) for f in self._State._fields if f not in loaded and f not in adams}
        state = self._State(**loaded, **adams, **kept)
        tf.nest.map_structure(lambda var, value: var[index].assign(value), self.state, state)
