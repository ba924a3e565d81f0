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

import numbers
from dataclasses import dataclass, fields
from typing import NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from helpers.agent import DDPGAgent, soft_update
from helpers.config import DDPGConfig
from helpers.group import AdamState, NetWeights, adam_init, keep_if
from helpers.networks import build_critic

__all__ = ["SWITCHES", "TD3Agent", "TD3Config", "TD3State"]


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
        if not (isinstance(self.policy_delay, numbers.Integral) and self.policy_delay >= 1):
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


SWITCHES = ("twin_critics", "policy_delay", "target_noise", "target_noise_clip")
"""The fields in which the seeds of one ``TD3Agent`` group may differ (see ``TD3Agent(variants=...)``)."""


class TD3State(NamedTuple):
    """DDPG's state plus the second critic, its target copy and its own Adam memory, and the seed's switches."""

    actor: NetWeights
    critic: NetWeights
    target_actor: NetWeights
    target_critic: NetWeights
    actor_adam: AdamState
    critic_adam: AdamState
    critic2: NetWeights
    target_critic2: NetWeights
    critic2_adam: AdamState
    switches: np.ndarray
    """[twin critics (1 or 0), policy delay]: data, not code, so seeds with different fixes share one graph."""


class TD3Agent(DDPGAgent):
    """A DDPG agent with TD3's fixes, switched by a ``TD3Config``. Trains in groups of seeds like DDPG.

    ``variants`` (one ``TD3Config`` per seed) lets the seeds of one group differ in the three fixes
    (the fields in ``SWITCHES``) and in nothing else: an ablation then trains all its arms in one compiled
    call. The switches are part of each seed's state, so the update reads them as numbers; a seed computes
    the second critic and the actor step even where its switches then discard them. The second critic
    always exists (so saving, loading and inspection work the same for every ablation); with
    ``twin_critics=False`` it is never used and never changes.
    """

    config: TD3Config
    _NETWORKS = DDPGAgent._NETWORKS + ("critic2", "target_critic2")
    _State = TD3State

    def __init__(self, obs_dim, action_low, action_high, config: TD3Config = TD3Config(),
                 seeds: Sequence[int] | None = None, initial_states: Sequence[TD3State] | None = None,
                 variants: Sequence[TD3Config] | None = None):
        seeds = list(seeds) if seeds is not None else [config.seed]
        self.variants = tuple(variants) if variants is not None else (config,) * len(seeds)
        check_variants(config, self.variants, len(seeds))
        super().__init__(obs_dim, action_low, action_high, config, seeds, initial_states)
        half_range = (self.action_high - self.action_low) / 2.0
        self._noise = [(v.target_noise * half_range, v.target_noise_clip * half_range) for v in self.variants]
        # The smoothing noise has a random stream of its own per seed, apart from exploration and replay.
        self._noise_rngs = [np.random.default_rng([seed, 2]) for seed in self.seeds]
        self._batch_shapes = self._batch_shapes + [[self.action_dim]]

    def _build_group(self, seeds, initial_states=None) -> None:
        if initial_states is None:  # each seed with its own variant's switches
            initial_states = [self._init_state(seed, variant) for seed, variant in zip(seeds, self.variants)]
        for state, variant in zip(initial_states, self.variants):
            if not np.array_equal(state.switches, [float(variant.twin_critics), float(variant.policy_delay)]):
                raise ValueError("an initial state's switches differ from its variant: pass variants= to match")
        super()._build_group(seeds, initial_states)

    def _init_state(self, seed: int, variant: TD3Config | None = None) -> TD3State:
        """DDPG's initial networks for this seed (so both algorithms start alike), then a second critic."""
        variant = variant or self.config
        ddpg = super()._init_state(seed)  # seeds everything; the second critic is drawn after the first
        critic2 = self.critic_net.weights_of(build_critic(self.obs_dim, self.action_dim, self.config.hidden_sizes,
                                                          self.config.normalization, self.config.critic_action))
        switches = np.array([float(variant.twin_critics), float(variant.policy_delay)], np.float32)
        return TD3State(*ddpg, critic2, critic2, adam_init(critic2.trainable), switches)

    def config_of(self, index: int) -> TD3Config:
        return self.variants[index]

    @classmethod
    def group_of(cls, agents: Sequence["TD3Agent"]) -> "TD3Agent":
        """One group holding the seeds of several TD3 agents, each seed keeping its own variant of the fixes."""
        first = agents[0]
        return cls(first.obs_dim, first.action_low, first.action_high, first.config,
                   [seed for a in agents for seed in a.seeds],
                   [a.seed_state(i) for a in agents for i in range(a.group_size)],
                   variants=[a.config_of(i) for a in agents for i in range(a.group_size)])

    def update_group(self, batches):
        """DDPG's ``update_group`` with one more batch part: the clipped smoothing noise of every target action
        (zero for a seed without smoothing)."""
        batches = [np.asarray(b) for b in batches]
        group, k, size = batches[0].shape[:3]
        noise = np.zeros((group, k, size, self.action_dim), np.float32)
        for i, (rng, (std, clip)) in enumerate(zip(self._noise_rngs, self._noise)):
            if np.any(std > 0):
                noise[i] = np.clip(rng.standard_normal((k, size, self.action_dim)) * std, -clip, clip)
        return super().update_group([*batches, noise])

    def td_target(self, s: TD3State, reward, next_obs, terminated, noise=None):
        """y = r + gamma * (1 - terminated) * min_j Q'_j(s', clip(mu'(s') + noise)), as the switches say."""
        next_action, _ = self.actor_net(s.target_actor, next_obs, training=False)
        if noise is not None:  # target-policy smoothing (the noise is zero for a seed without it)
            next_action = tf.clip_by_value(next_action + noise, self.action_low, self.action_high)
        next_q, _ = self.critic_net(s.target_critic, [next_obs, next_action], training=False)
        next_q2, _ = self.critic_net(s.target_critic2, [next_obs, next_action], training=False)
        # Clipped double-Q: the smaller of the two target critics, for a seed with twin critics.
        next_q = tf.where(s.switches[0] > 0.5, tf.minimum(next_q, next_q2), next_q)
        # As in DDPG, only a true terminal state stops bootstrapping.
        return reward + self._gamma * (1.0 - terminated) * next_q[:, 0]

    def _train_step(self, s: TD3State, batch):
        """One TD3 update of one seed: returns the new state, [critic loss, actor loss, mean Q], ok."""
        obs, action, reward, next_obs, terminated, noise = batch
        twin, delay = s.switches[0] > 0.5, s.switches[1]
        y = self.td_target(s, reward, next_obs, terminated, noise)
        critic, critic_adam, critic_loss, q = self._critic_step(s.critic, s.critic_adam, obs, action, y)
        # Both critics regress on the same target; without twin critics the second one keeps its weights.
        critic2, critic2_adam, loss2, _ = self._critic_step(s.critic2, s.critic2_adam, obs, action, y)
        critic2, critic2_adam = keep_if(twin, (critic2, critic2_adam), (s.critic2, s.critic2_adam))
        critic_loss = tf.where(twin, (critic_loss + loss2) / 2.0, critic_loss)
        # The actor follows the first critic, as in the paper. (The critic it returns carries the batch-norm
        # statistics of the (s, mu(s)) pass, which count only if the actor step does.)
        actor, actor_adam, actor_loss, critic_seen = self._actor_step(s.actor, s.actor_adam, critic, obs)

        def polyak(target, online):
            return NetWeights(*(soft_update(t, o, self._tau) for t, o in zip(target, online)))

        # Delayed updates: the actor and all targets move only on every `delay`-th critic update.
        due = tf.equal(tf.math.floormod(critic_adam.step, delay), 0.0)
        actor, actor_adam, critic, target_actor, target_critic, target_critic2 = keep_if(
            due,
            (actor, actor_adam, critic_seen, polyak(s.target_actor, actor), polyak(s.target_critic, critic_seen),
             polyak(s.target_critic2, critic2)),
            (s.actor, s.actor_adam, critic, s.target_actor, s.target_critic, s.target_critic2))
        new = TD3State(actor, critic, target_actor, target_critic, actor_adam, critic_adam,
                       critic2, target_critic2, critic2_adam, s.switches)
        ok = tf.logical_and(tf.math.is_finite(critic_loss), tf.math.is_finite(actor_loss))
        return keep_if(ok, new, s), tf.stack([critic_loss, actor_loss, tf.reduce_mean(q)]), ok


def check_variants(config: TD3Config, variants: Sequence[TD3Config], group_size: int) -> None:
    """One ``TD3Config`` per seed, each differing from ``config`` in the ``SWITCHES`` fields at most."""
    if not isinstance(config, TD3Config) or not all(isinstance(v, TD3Config) for v in variants):
        raise TypeError(f"TD3Agent needs TD3Config settings, got {type(config).__name__}")
    if len(variants) != group_size:
        raise ValueError(f"variants: one TD3Config per seed is needed ({group_size}), got {len(variants)}")
    for v in variants:
        others = [f for f in fields(TD3Config) if f.name not in SWITCHES + ("seed",)
                  and getattr(v, f.name) != getattr(config, f.name)]
        if others:
            raise ValueError("the seeds of one group may differ only in " + ", ".join(SWITCHES)
                             + f"; a variant differs in {', '.join(f.name for f in others)}")


def train_arms(arms: dict[str, TD3Config], seeds: Sequence[int], env_fn=None, progress: bool = False,
               on_step=None) -> dict:
    """Train every arm (a ``TD3Config``) on every seed, all arms side by side in one group.

    The arms may differ only in TD3's switches (``SWITCHES``); DDPG is the arm with all three off. One compiled
    act call per env step and one compiled update call per update phase serve every seed of every arm, which
    is cheaper than one group per arm. Returns ``{label: [Run, ...]}`` with one ``helpers.loop.Run`` per seed,
    as ``train_seeds`` does, and prints one line per arm. ``on_step(step, agent)`` sees the whole group, arms
    in the order given, ``len(seeds)`` seeds each.
    """
    from functools import partial

    from helpers.envs import make_env
    from helpers.loop import Run, train_group

    labels, configs, seeds = list(arms), list(arms.values()), list(seeds)
    env_fn = env_fn or partial(make_env, configs[0].env_id)
    probe = env_fn()
    agent = TD3Agent(probe.observation_space.shape[0], probe.action_space.low, probe.action_space.high,
                     configs[0], seeds * len(configs), variants=[c for c in configs for _ in seeds])
    probe.close()
    run = train_group(configs[0], env_fn=env_fn, progress=progress, agent=agent, on_step=on_step)
    out = {}
    for a, label in enumerate(labels):
        index = range(a * len(seeds), (a + 1) * len(seeds))
        out[label] = [Run(run.histories[i].seed, agent.seed_agent(i), run.histories[i], run.buffers[i])
                      for i in index]
        last = np.mean([run.histories[i].eval_means()[-1] for i in index]) if run.histories[0].eval_steps else np.nan
        print(f"{label}: {len(seeds)} seeds, last evaluation {last:.1f} (mean over seeds)", flush=True)
    h = run.histories[0]
    print(f"{len(labels)} arms × {len(seeds)} seeds trained side by side in {h.wall_s:.0f} s "
          f"({h.steps_per_s * h.group_size:.0f} env steps/s in all)", flush=True)
    return out
