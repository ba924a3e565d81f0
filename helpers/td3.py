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
and reuses its critic and actor steps. ``TD3Config`` lives in ``helpers.config``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from helpers.agent import DDPGAgent, bootstrapped, soft_update
from helpers.backend import tf
from helpers.config import DDPG_SWITCHES, TD3Config
from helpers.envs import rng
from helpers.group import AdamState, NetWeights, UpdateStats, adam_init, keep_if

__all__ = ["DDPG_SWITCHES", "Switches", "TD3Agent", "TD3Config", "TD3State"]


class Switches(NamedTuple):
    """Two of one seed's fixes, kept as numbers in its state so that seeds with different fixes share one graph.
    (The third, smoothing, is the noise itself: zero for a seed without it.)"""

    twin_critics: np.bool_
    policy_delay: np.int32

    @classmethod
    def of(cls, config: TD3Config) -> "Switches":
        return cls(np.bool_(config.twin_critics), np.int32(config.policy_delay))


class TD3State(NamedTuple):
    """DDPG's state plus the second critic, its target copy and its own Adam memory, the seed's switches, and
    the number of updates it has made (the clock of the delayed policy updates)."""

    actor: NetWeights
    critic: NetWeights
    target_actor: NetWeights
    target_critic: NetWeights
    actor_adam: AdamState
    critic_adam: AdamState
    critic2: NetWeights
    target_critic2: NetWeights
    critic2_adam: AdamState
    switches: Switches
    updates: np.int32


class TD3Agent(DDPGAgent):
    """A DDPG agent with TD3's fixes, switched by a ``TD3Config``. Trains in groups of seeds like DDPG.

    ``variants`` (one ``TD3Config`` per seed) lets the seeds of one group differ in the three fixes
    (``TD3Config.SWITCHES``) and in nothing else: an ablation then trains all its arms in one compiled call.
    A seed computes the second critic and the actor step even where its switches then discard them. The second
    critic always exists (so saving, loading and inspection work the same for every ablation); with
    ``twin_critics=False`` it is never used and never changes.
    """

    config: TD3Config
    _NETWORKS = DDPGAgent._NETWORKS + ("critic2", "target_critic2")
    _State = TD3State

    def __init__(self, obs_dim, action_low, action_high, config: TD3Config = TD3Config(),
                 seeds: Sequence[int] | None = None, initial_states: Sequence[TD3State] | None = None,
                 variants: Sequence[TD3Config] | None = None):
        if not isinstance(config, TD3Config):
            raise TypeError(f"TD3Agent needs TD3Config settings, got {type(config).__name__}")
        super().__init__(obs_dim, action_low, action_high, config, seeds, initial_states, variants)
        half_range = (self.action_high - self.action_low) / 2.0
        self._noise = [(v.target_noise * half_range, v.target_noise_clip * half_range) for v in self.variants]
        self._noise_rngs = [rng(seed, "target_smoothing") for seed in self.seeds]
        self._batch_shapes = self._batch_shapes + [[self.action_dim]]

    def _build_group(self, seeds, initial_states=None, variants=None) -> None:
        super()._build_group(seeds, initial_states, variants)
        stored = [Switches(*(np.asarray(v[i]).item() for v in self.state.switches)) for i in range(self.group_size)]
        if stored != [Switches.of(v) for v in self.variants]:
            raise ValueError("an initial state's switches differ from its variant: pass variants= to match")

    def _init_state(self, seed: int, variant: TD3Config | None = None) -> TD3State:
        """DDPG's initial networks for this seed (so both algorithms start alike), then a second critic."""
        ddpg = super()._init_state(seed)  # seeds everything; the second critic is drawn after the first
        critic2 = self.critic_net.weights_of(self._new_critic())
        return TD3State(*ddpg, critic2, critic2, adam_init(critic2.trainable), Switches.of(variant or self.config),
                        np.int32(0))

    def extra_state(self) -> dict:
        return {"noise_rngs": [g.bit_generator.state for g in self._noise_rngs]}

    def set_extra_state(self, extra: dict) -> None:
        for generator, state in zip(self._noise_rngs, extra["noise_rngs"]):
            generator.bit_generator.state = state

    def update_group(self, batches):
        """DDPG's ``update_group`` with one more batch part: the clipped smoothing noise of every target action
        (zero for a seed without smoothing)."""
        batches = [np.asarray(b) for b in batches]
        group, k, size = batches[0].shape[:3]
        noise = np.zeros((group, k, size, self.action_dim), np.float32)
        for i, (generator, (std, clip)) in enumerate(zip(self._noise_rngs, self._noise)):
            if np.any(std > 0):
                noise[i] = np.clip(generator.standard_normal((k, size, self.action_dim)) * std, -clip, clip)
        return super().update_group([*batches, noise])

    def td_target(self, s: TD3State, reward, next_obs, terminated, noise=None):
        """y = r + gamma * (1 - terminated) * min_j Q'_j(s', clip(mu'(s') + noise)), as the switches say."""
        next_action = self.actor_net(s.target_actor, next_obs)
        if noise is not None:  # target-policy smoothing (the noise is zero for a seed without it)
            next_action = tf.clip_by_value(next_action + noise, self.action_low, self.action_high)
        next_q = self.critic_net(s.target_critic, [next_obs, next_action])
        next_q2 = self.critic_net(s.target_critic2, [next_obs, next_action])
        # Clipped double-Q: the smaller of the two target critics, for a seed with twin critics.
        next_q = tf.where(s.switches.twin_critics, tf.minimum(next_q, next_q2), next_q)
        return bootstrapped(reward, terminated, next_q[:, 0], self._gamma)

    def _train_step(self, s: TD3State, batch):
        """One TD3 update of one seed: the new state, and the critic loss, actor loss and mean Q it measured.

        Where the paper writes ``if twin:`` and ``if t % d == 0:``, the step computes both branches and keeps one
        with ``keep_if``, so that seeds with different switches run in one graph."""
        obs, action, reward, next_obs, terminated, noise = batch
        twin, tau = s.switches.twin_critics, self._tau
        y = self.td_target(s, reward, next_obs, terminated, noise)
        critic, critic_adam, critic_loss, q = self._critic_step(s.critic, s.critic_adam, obs, action, y)
        # Both critics regress on the same target; without twin critics the second one keeps its weights.
        critic2, critic2_adam, loss2, _ = self._critic_step(s.critic2, s.critic2_adam, obs, action, y)
        critic2, critic2_adam = keep_if(twin, (critic2, critic2_adam), (s.critic2, s.critic2_adam))
        critic_loss = tf.where(twin, (critic_loss + loss2) / 2.0, critic_loss)

        # Delayed policy updates: every `policy_delay` updates, the actor takes a step (following the first
        # critic, as in the paper) and all targets move. (The critic of the actor step carries the batch-norm
        # statistics of its (s, mu(s)) pass, which count only when the step does.)
        t = s.updates + 1
        due = t % s.switches.policy_delay == 0
        stepped_actor, stepped_adam, actor_loss, critic_seen = self._actor_step(s.actor, s.actor_adam, critic, obs)
        actor, actor_adam, critic_kept = keep_if(due, (stepped_actor, stepped_adam, critic_seen),
                                                 (s.actor, s.actor_adam, critic))
        target_actor, target_critic, target_critic2 = keep_if(
            due,
            (soft_update(s.target_actor, actor, tau), soft_update(s.target_critic, critic_kept, tau),
             soft_update(s.target_critic2, critic2, tau)),
            (s.target_actor, s.target_critic, s.target_critic2))
        new = TD3State(actor, critic_kept, target_actor, target_critic, actor_adam, critic_adam,
                       critic2, target_critic2, critic2_adam, s.switches, t)
        # The actor loss is that of the current actor at every update, also where its step was not due.
        return new, UpdateStats(critic_loss, actor_loss, tf.reduce_mean(q))
