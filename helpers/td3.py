r"""TD3 (Fujimoto, van Hoof and Meger, 2018): DDPG plus three fixes, each switchable on its own.

1. **Clipped double-Q learning** (``twin_critics``): two critics learn from the
   same target, and the target takes the smaller of the two target critics,

   .. math:: y = r + \gamma (1 - d) \min_{j=1,2} Q'_j(s', \tilde a').

2. **Delayed policy updates** (``policy_delay``): the critics update every step,
   the actor and all target networks every ``policy_delay`` steps.

3. **Target-policy smoothing** (``target_noise``): the target action is the
   target actor's action plus clipped Gaussian noise,
   :math:`\tilde a' = \operatorname{clip}(\mu'(s') + \operatorname{clip}(\epsilon, -c, c), a_{low}, a_{high})`.

With all three off, ``TD3Agent`` performs exactly DDPG's update (a test checks
it). Everything else (networks, replay, exploration, evaluation, training in
groups of seeds) is DDPG's: ``TD3Agent`` subclasses ``helpers.agent.DDPGAgent``
and reuses its critic and actor steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from helpers.agent import DDPGAgent, soft_update
from helpers.config import DDPGConfig
from helpers.group import AdamState, NetWeights, adam_init, keep_if
from helpers.networks import build_critic

__all__ = ["TD3Agent", "TD3Config", "TD3State"]


@dataclass(frozen=True)
class TD3Config(DDPGConfig):
    """DDPGConfig's settings plus TD3's three fixes. The defaults turn all three on, as in the paper."""

    twin_critics: bool = True
    """Clipped double-Q learning: two critics, and the TD target uses the smaller target critic."""

    policy_delay: int = 2
    """Critic updates per actor update; the target networks update with the actor. 1 turns the delay off."""

    target_noise: float = 0.2
    """Target-policy smoothing: std of the Gaussian noise on the target action, as a fraction of the
    action half-range (high - low) / 2. 0 turns smoothing off."""

    target_noise_clip: float = 0.5
    """The smoothing noise is clipped to +-this fraction of the action half-range."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.twin_critics, bool):
            raise ValueError(f"twin_critics must be True or False, got {self.twin_critics!r}")
        if not (isinstance(self.policy_delay, int) and self.policy_delay >= 1):
            raise ValueError(f"policy_delay must be an integer >= 1, got {self.policy_delay!r}")
        if self.target_noise < 0:
            raise ValueError(f"target_noise must be >= 0, got {self.target_noise}")
        if self.target_noise_clip < 0:
            raise ValueError(f"target_noise_clip must be >= 0, got {self.target_noise_clip}")

    @property
    def fixes(self) -> str:
        """Which of the three fixes are on, e.g. ``"twin + delay + smoothing"`` (``"none"``: plain DDPG)."""
        on = [name for name, flag in (("twin", self.twin_critics), ("delay", self.policy_delay > 1),
                                      ("smoothing", self.target_noise > 0)) if flag]
        return " + ".join(on) or "none"


class TD3State(NamedTuple):
    """DDPG's state plus the second critic, its target copy and its own Adam memory."""

    actor: NetWeights
    critic: NetWeights
    target_actor: NetWeights
    target_critic: NetWeights
    actor_adam: AdamState
    critic_adam: AdamState
    critic2: NetWeights
    target_critic2: NetWeights
    critic2_adam: AdamState


class TD3Agent(DDPGAgent):
    """A DDPG agent with TD3's fixes, switched by a ``TD3Config``. Trains in groups of seeds like DDPG.

    The second critic always exists (so saving, loading and inspection work the
    same for every ablation); with ``twin_critics=False`` it is never trained or used.
    """

    config: TD3Config
    _NETWORKS = DDPGAgent._NETWORKS + ("critic2", "target_critic2")
    _State = TD3State

    def __init__(self, obs_dim, action_low, action_high, config: TD3Config = TD3Config(),
                 seeds: Sequence[int] | None = None, initial_states: Sequence[TD3State] | None = None):
        if not isinstance(config, TD3Config):
            raise TypeError(f"TD3Agent needs a TD3Config, got {type(config).__name__}")
        super().__init__(obs_dim, action_low, action_high, config, seeds, initial_states)
        half_range = (self.action_high - self.action_low) / 2.0
        self._noise_std = config.target_noise * half_range
        self._noise_clip = config.target_noise_clip * half_range
        # The smoothing noise has a random stream of its own per seed, apart from exploration and replay.
        self._noise_rngs = [np.random.default_rng([seed, 2]) for seed in self.seeds]
        self._batch_shapes = self._batch_shapes + [[self.action_dim]]

    def _init_state(self, seed: int) -> TD3State:
        """DDPG's initial networks for this seed (so both algorithms start alike), then a second critic."""
        ddpg = super()._init_state(seed)  # seeds everything; the second critic is drawn after the first
        critic2 = self.critic_net.weights_of(build_critic(self.obs_dim, self.action_dim, self.config.hidden_sizes,
                                                          self.config.normalization, self.config.critic_action))
        return TD3State(*ddpg, critic2, critic2, adam_init(critic2.trainable))

    def update_group(self, batches):
        """DDPG's ``update_group`` with one more batch part: the clipped smoothing noise of every target action."""
        batches = [np.asarray(b) for b in batches]
        group, k, size = batches[0].shape[:3]
        noise = np.zeros((group, k, size, self.action_dim), np.float32)
        if self.config.target_noise > 0:
            for i, rng in enumerate(self._noise_rngs):
                draw = rng.standard_normal((k, size, self.action_dim)) * self._noise_std
                noise[i] = np.clip(draw, -self._noise_clip, self._noise_clip)
        return super().update_group([*batches, noise])

    def td_target(self, s: TD3State, reward, next_obs, terminated, noise=None):
        """y = r + gamma * (1 - terminated) * min_j Q'_j(s', clip(mu'(s') + noise)), as the config switches."""
        next_action, _ = self.actor_net(s.target_actor, next_obs, training=False)
        if self.config.target_noise > 0:  # target-policy smoothing
            next_action = tf.clip_by_value(next_action + noise, self.action_low, self.action_high)
        next_q, _ = self.critic_net(s.target_critic, [next_obs, next_action], training=False)
        if self.config.twin_critics:  # clipped double-Q: the smaller of the two target critics
            next_q2, _ = self.critic_net(s.target_critic2, [next_obs, next_action], training=False)
            next_q = tf.minimum(next_q, next_q2)
        # As in DDPG, only a true terminal state stops bootstrapping.
        return reward + self._gamma * (1.0 - terminated) * next_q[:, 0]

    def _train_step(self, s: TD3State, batch):
        """One TD3 update of one seed: returns the new state, [critic loss, actor loss, mean Q], ok."""
        obs, action, reward, next_obs, terminated, noise = batch
        y = self.td_target(s, reward, next_obs, terminated, noise)
        critic, critic_adam, critic_loss, q = self._critic_step(s.critic, s.critic_adam, obs, action, y)
        critic2, critic2_adam = s.critic2, s.critic2_adam
        if self.config.twin_critics:  # both critics regress on the same target
            critic2, critic2_adam, loss2, _ = self._critic_step(s.critic2, s.critic2_adam, obs, action, y)
            critic_loss = (critic_loss + loss2) / 2.0
        # The actor follows the first critic, as in the paper.
        actor, actor_adam, actor_loss, critic = self._actor_step(s.actor, s.actor_adam, critic, obs)
        polyak = lambda target, online: NetWeights(*(soft_update(t, o, self._tau)  # noqa: E731
                                                    for t, o in zip(target, online)))
        slow = (actor, actor_adam, polyak(s.target_actor, actor), polyak(s.target_critic, critic),
                polyak(s.target_critic2, critic2))
        if self.config.policy_delay > 1:  # actor and targets move only on every policy_delay-th critic update
            due = tf.equal(tf.math.floormod(critic_adam.step, float(self.config.policy_delay)), 0.0)
            slow = keep_if(due, slow, (s.actor, s.actor_adam, s.target_actor, s.target_critic, s.target_critic2))
        actor, actor_adam, target_actor, target_critic, target_critic2 = slow
        new = TD3State(actor, critic, target_actor, target_critic, actor_adam, critic_adam,
                       critic2, target_critic2, critic2_adam)
        ok = tf.logical_and(tf.math.is_finite(critic_loss), tf.math.is_finite(actor_loss))
        return keep_if(ok, new, s), tf.stack([critic_loss, actor_loss, tf.reduce_mean(q)]), ok
