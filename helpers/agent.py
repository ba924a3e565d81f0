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
and seed. It also keeps a seed's old state when a loss is not finite. A single
run is a group of one.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from helpers.backend import keras, tf
from helpers.config import DDPGConfig
from helpers.envs import seed_everything
from helpers.group import AdamState, GroupLearner, NetWeights, PureModel, UpdateStats, adam, adam_init
from helpers.networks import build_actor, build_critic

__all__ = ["DDPGAgent", "DDPGState", "UpdateStats", "bootstrapped", "soft_update"]


class DDPGState(NamedTuple):
    """Everything one seed's DDPG agent learns: four networks and two separate Adam memories."""

    actor: NetWeights
    critic: NetWeights
    target_actor: NetWeights
    target_critic: NetWeights
    actor_adam: AdamState
    critic_adam: AdamState


def soft_update(target, online, tau):
    """Polyak averaging, theta' <- tau * theta + (1 - tau) * theta', for every array of a network's weights.

    It applies to the non-trainable weights too, so the batch-norm running
    statistics of a target network follow the online network.
    """
    return tf.nest.map_structure(lambda t, o: tau * o + (1.0 - tau) * t, target, online)


def bootstrapped(reward, terminated, next_value, gamma):
    """The TD target y = r + gamma * (1 - terminated) * next_value.

    Only a true terminal state stops bootstrapping. A time-limit truncation
    was stored with terminated = 0, so its target still includes gamma * next_value.
    """
    return reward + gamma * (1.0 - terminated) * next_value


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
        variants: Sequence[DDPGConfig] | None = None,
    ):
        self.config = config
        self.obs_dim = int(obs_dim)
        self.action_low = np.asarray(action_low, dtype=np.float32).reshape(-1)
        self.action_high = np.asarray(action_high, dtype=np.float32).reshape(-1)
        self.action_dim = self.action_low.size
        # Plain Keras models, used as pure functions of the weights (helpers.group.PureModel).
        self.actor_net, self.critic_net = PureModel(self._new_actor()), PureModel(self._new_critic())
        self._gamma = tf.constant(config.gamma, tf.float32)
        self._tau = tf.constant(config.tau, tf.float32)
        self._q_fn = None
        self._build_group(seeds, initial_states, variants)

    @classmethod
    def for_env(cls, env, config: DDPGConfig = DDPGConfig(), seeds: Sequence[int] | None = None,
                variants: Sequence[DDPGConfig] | None = None) -> "DDPGAgent":
        """An agent sized for ``env``, with action bounds read from its action space."""
        return cls(env.observation_space.shape[0], env.action_space.low, env.action_space.high, config, seeds,
                   variants=variants)

    def _env_args(self) -> tuple:
        return self.obs_dim, self.action_low, self.action_high

    def _new_actor(self) -> keras.Model:
        return build_actor(self.obs_dim, self.action_low, self.action_high, self.config.hidden_sizes,
                           self.config.normalization)

    def _new_critic(self) -> keras.Model:
        return build_critic(self.obs_dim, self.action_dim, self.config.hidden_sizes, self.config.normalization,
                            self.config.critic_action)

    def _init_state(self, seed: int, variant: DDPGConfig | None = None) -> DDPGState:
        """Fresh networks for one seed; the targets start as exact copies of them."""
        seed_everything(seed)
        actor = self.actor_net.weights_of(self._new_actor())
        critic = self.critic_net.weights_of(self._new_critic())
        return DDPGState(actor, critic, actor, critic, adam_init(actor.trainable), adam_init(critic.trainable))

    def make_explorer(self, config: DDPGConfig, envs: list):
        """DDPG's behaviour policy for this group: mu(s) plus the config's noise, clipped to the action box."""
        from helpers.noise import NoisyExplorer

        return NoisyExplorer.for_config(self, config, envs)

    # ----- acting -------------------------------------------------------
    def _policy(self, s: DDPGState, obs):
        return self.actor_net(s.actor, obs)  # inference mode: batch norm uses its running statistics

    def _value(self, s: DDPGState, obs):
        """The critic's value of the actor's action, Q(s, mu(s)), both networks in inference mode."""
        return self.critic_net(s.critic, [obs, self.actor_net(s.actor, obs)])[:, 0]

    def q_group(self, obs: np.ndarray) -> np.ndarray:
        """Q(s, mu(s)) from every seed's critic: observations (group, n, obs_dim) -> values (group, n)."""
        if self._q_fn is None:
            self._q_fn = self.per_seed(self._value)
        return self._q_fn(tf.constant(np.asarray(obs, np.float32))).numpy()

    # ----- learning -----------------------------------------------------
    def td_target(self, s: DDPGState, reward, next_obs, terminated):
        """y = r + gamma * (1 - terminated) * Q'(s', mu'(s')), from the target networks (in inference mode)."""
        next_q = self.critic_net(s.target_critic, [next_obs, self.actor_net(s.target_actor, next_obs)])
        return bootstrapped(reward, terminated, next_q[:, 0], self._gamma)

    def _critic_step(self, critic: NetWeights, critic_adam: AdamState, obs, action, y):
        """One Adam step on the mean squared TD error at the stored (s, a): the new critic, its Adam memory, the
        loss and Q(s, a)."""
        with tf.GradientTape() as tape:
            tape.watch(critic.trainable)  # the weights are plain tensors: the tape is told to follow them
            q, critic_bn = self.critic_net.train_mode(critic, [obs, action])  # and the batch-norm statistics
            loss = tf.reduce_mean(tf.square(y - q[:, 0]))
        grads = tape.gradient(loss, critic.trainable)
        weights, critic_adam = adam(critic.trainable, grads, critic_adam, self.config.critic_lr)
        return NetWeights(weights, critic_bn), critic_adam, loss, q

    def _actor_step(self, actor: NetWeights, actor_adam: AdamState, critic: NetWeights, obs):
        """One Adam step of the actor on -mean Q(s, mu(s)): the new actor, its Adam memory, the loss, and the
        critic (its batch-norm statistics saw the actor's actions; its weights are unchanged)."""
        with tf.GradientTape() as tape:
            tape.watch(actor.trainable)
            mu, actor_bn = self.actor_net.train_mode(actor, obs)
            q_mu, critic_bn = self.critic_net.train_mode(critic, [obs, mu])
            # Minimizing -Q is gradient ascent on Q; the gradient reaches the actor
            # only through dQ/da, the deterministic policy gradient.
            loss = -tf.reduce_mean(q_mu)
        grads = tape.gradient(loss, actor.trainable)
        weights, actor_adam = adam(actor.trainable, grads, actor_adam, self.config.actor_lr)
        return NetWeights(weights, actor_bn), actor_adam, loss, NetWeights(critic.trainable, critic_bn)

    def _train_step(self, s: DDPGState, batch):
        """One DDPG update of one seed: the new state, and the critic loss, actor loss and mean Q it measured."""
        obs, action, reward, next_obs, terminated = batch
        # y is computed outside the tapes: a constant, so no gradient flows into Q' or mu'.
        y = self.td_target(s, reward, next_obs, terminated)
        critic, critic_adam, critic_loss, q = self._critic_step(s.critic, s.critic_adam, obs, action, y)
        # The actor climbs the freshly updated critic; critic_seen is that critic with the batch-norm statistics
        # of the actor's pass (the same critic when there is no batch norm).
        actor, actor_adam, actor_loss, critic_seen = self._actor_step(s.actor, s.actor_adam, critic, obs)
        new = DDPGState(actor, critic_seen, soft_update(s.target_actor, actor, self._tau),
                        soft_update(s.target_critic, critic_seen, self._tau), actor_adam, critic_adam)
        return new, UpdateStats(critic_loss, actor_loss, tf.reduce_mean(q))

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
        # Anything else in the state (TD3's switches) stays as it is, but for TD3's update counter, the clock of
        # its delayed actor updates, which restarts with the Adam memories.
        current = self.seed_state(index)
        kept = {f: getattr(current, f) for f in self._State._fields if f not in loaded and f not in adams}
        if "updates" in kept:
            kept["updates"] = np.zeros_like(kept["updates"])
        state = self._State(**loaded, **adams, **kept)
        tf.nest.map_structure(lambda var, value: var[index].assign(value), self.state, state)
