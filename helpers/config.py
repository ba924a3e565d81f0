"""One dataclass holds every setting of a run: ``DDPGConfig``, and ``TD3Config`` and ``DQNConfig`` built on it.

Change a field with ``dataclasses.replace(config, field=value)``; the copy is
validated again, so a bad value fails at once with a one-line ``ValueError``
instead of producing a silently wrong run. This module imports no TensorFlow.
"""

from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, fields
from typing import ClassVar, Sequence

NOISE_TYPES = ("gaussian", "ou", "none")
NORMALIZATIONS = ("none", "batch", "layer", "batch_input")
CRITIC_ACTION_INPUTS = ("input", "hidden")


@dataclass(frozen=True)
class DDPGConfig:
    """Hyperparameters of one DDPG run. Each field is documented below it."""

    SWITCHES: ClassVar[tuple[str, ...]] = ()
    """The fields in which the seeds of one group may differ (besides ``seed``): none for DDPG."""

    env_id: str = "Pendulum-v1"
    """Gymnasium id passed to ``gymnasium.make``; ``"module:EnvId"`` imports ``module`` first."""

    seed: int = 0
    """Seeds Python, NumPy, TensorFlow/Keras, the first ``env.reset`` and the action space."""

    total_steps: int = 10_000
    """Environment steps of the whole run, warm-up included."""

    warmup_steps: int = 1_000
    """Steps with uniformly random actions before the actor acts; updates start after them."""

    buffer_size: int = 100_000
    """Capacity of the replay buffer; when full, the oldest transitions are overwritten."""

    batch_size: int = 64
    """Transitions per gradient update."""

    gamma: float = 0.99
    """Discount factor, in [0, 1)."""

    tau: float = 0.005
    """Polyak factor of the soft target update theta' <- tau*theta + (1 - tau)*theta', in (0, 1]."""

    actor_lr: float = 1e-3
    """Adam learning rate of the actor."""

    critic_lr: float = 1e-3
    """Adam learning rate of the critic (it has its own optimizer)."""

    hidden_sizes: tuple[int, ...] = (256, 256)
    """Units of each hidden layer, used by both actor and critic."""

    normalization: str = "none"
    """``"batch"``: batch normalization where the DDPG paper puts it; ``"batch_input"``: batch
    normalization of the observation input only; ``"layer"``: layer normalization on the hidden
    layers; ``"none"`` (see ``helpers.networks``)."""

    critic_action: str = "input"
    """Where the action enters the critic: ``"input"``, concatenated with the observation
    (TD3, Stable-Baselines3, CleanRL), or ``"hidden"``, at the second hidden layer (the
    DDPG paper)."""

    noise: str = "gaussian"
    """Exploration noise: ``"gaussian"``, ``"ou"`` (Ornstein-Uhlenbeck) or ``"none"``."""

    noise_sigma: float = 0.1
    """Noise scale as a fraction of the action half-range (high - low) / 2: the std of
    the Gaussian noise, or the diffusion sigma of the OU process."""

    ou_theta: float = 0.15
    """Mean-reversion rate theta of the OU process."""

    ou_dt: float = 1e-2
    """Time step dt of the OU discretization; correlation time is 1 / (theta * dt) steps."""

    update_every: int = 50
    """Env steps between update phases. Each phase runs that many updates in one compiled
    call, so there is still exactly one gradient update per env step."""

    eval_every: int = 1_000
    """Env steps between noise-free evaluations during training; 0 turns them off."""

    eval_episodes: int = 10
    """Episodes per evaluation during training."""

    def __post_init__(self) -> None:
        checks = [
            (isinstance(self.env_id, str) and self.env_id != "", "env_id must be a non-empty string"),
            (0 <= self.seed < 2**32, f"seed must be in [0, 2**32), got {self.seed}"),
            (self.total_steps > 0, f"total_steps must be positive, got {self.total_steps}"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}"),
            (
                self.warmup_steps < self.total_steps,
                f"warmup_steps ({self.warmup_steps}) must be smaller than total_steps ({self.total_steps})",
            ),
            (self.batch_size > 0, f"batch_size must be positive, got {self.batch_size}"),
            (
                self.buffer_size >= self.batch_size,
                f"batch_size ({self.batch_size}) cannot exceed buffer_size ({self.buffer_size})",
            ),
            (0.0 <= self.gamma < 1.0, f"gamma must be in [0, 1), got {self.gamma}"),
            (0.0 < self.tau <= 1.0, f"tau must be in (0, 1], got {self.tau}"),
            (self.actor_lr > 0, f"actor_lr must be positive, got {self.actor_lr}"),
            (self.critic_lr > 0, f"critic_lr must be positive, got {self.critic_lr}"),
            (
                len(self.hidden_sizes) > 0 and all(int(h) > 0 for h in self.hidden_sizes),
                f"hidden_sizes must be positive layer widths, got {self.hidden_sizes}",
            ),
            (
                self.normalization in NORMALIZATIONS,
                f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}",
            ),
            (
                self.critic_action in CRITIC_ACTION_INPUTS,
                f"critic_action must be one of {CRITIC_ACTION_INPUTS}, got {self.critic_action!r}",
            ),
            (self.noise in NOISE_TYPES, f"noise must be one of {NOISE_TYPES}, got {self.noise!r}"),
            (self.noise_sigma >= 0, f"noise_sigma must be >= 0, got {self.noise_sigma}"),
            (self.ou_theta > 0, f"ou_theta must be positive, got {self.ou_theta}"),
            (self.ou_dt > 0, f"ou_dt must be positive, got {self.ou_dt}"),
            (self.update_every > 0, f"update_every must be positive, got {self.update_every}"),
            (self.eval_every >= 0, f"eval_every must be >= 0, got {self.eval_every}"),
            (
                self.update_every <= 0 or self.eval_every % self.update_every == 0,
                f"eval_every ({self.eval_every}) must be a multiple of update_every ({self.update_every}), "
                "so that every evaluation sees all the updates of the steps before it",
            ),
            (self.eval_episodes > 0, f"eval_episodes must be positive, got {self.eval_episodes}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class TD3Config(DDPGConfig):
    """DDPGConfig's settings plus TD3's three fixes. The defaults turn all three on, as in the paper."""

    SWITCHES: ClassVar[tuple[str, ...]] = ("twin_critics", "policy_delay", "target_noise", "target_noise_clip")
    """TD3's own fields: the seeds of one ``TD3Agent`` group may differ in them (an ablation in one group)."""

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


DDPG_SWITCHES = {"twin_critics": False, "policy_delay": 1, "target_noise": 0.0}
"""TD3's three fixes turned off: ``TD3Agent`` then performs DDPG's update exactly (``tests/test_td3.py``)."""


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


RUN_FIELDS = ("env_id", "seed", "total_steps", "warmup_steps", "buffer_size", "batch_size", "noise", "noise_sigma",
              "ou_theta", "ou_dt", "update_every", "eval_every", "eval_episodes", "epsilon_end", "epsilon_decay_steps")
"""Settings read by the training loop and the explorer; every other field shapes the agent itself."""


def learning_fields(config: DDPGConfig) -> set[str]:
    """The fields of ``config`` that an agent is built with (networks, losses, optimizers, TD3's fixes)."""
    return {f.name for f in fields(config)} - set(RUN_FIELDS)


def check_variants(config: DDPGConfig, variants: Sequence[DDPGConfig], group_size: int) -> None:
    """One config per seed of a group, each of ``config``'s type and with its learning settings
    (``learning_fields``), ``config.SWITCHES`` aside: one compiled update serves the whole group. Run settings
    may differ (a group assembled to evaluate seeds of other runs); ``helpers.loop.train_group`` trains every
    seed with the run settings of the config it is given. A one-line ``ValueError`` (or ``TypeError``)
    otherwise."""
    if any(type(v) is not type(config) for v in variants):
        raise TypeError(f"every seed of a {type(config).__name__} group needs a {type(config).__name__}")
    if len(variants) != group_size:
        raise ValueError(f"variants: one {type(config).__name__} per seed is needed ({group_size}), "
                         f"got {len(variants)}")
    for v in variants:
        others = sorted(f for f in learning_fields(config) - set(config.SWITCHES)
                        if getattr(v, f) != getattr(config, f))
        if others and config.SWITCHES:
            raise ValueError(f"the seeds of one group may differ only in {', '.join(config.SWITCHES)} of their "
                             f"learning settings; a variant differs in {', '.join(others)}")
        if others:
            raise ValueError(f"the seeds of one {type(config).__name__} group share their learning settings; a "
                             f"variant differs in {', '.join(others)}")


def field_docs(cls=DDPGConfig) -> dict[str, str]:
    """The docstring under each field of a config dataclass (and its bases), read from the source."""
    sources = [inspect.getsource(c) for c in cls.__mro__ if "__dataclass_fields__" in vars(c)]
    docs = {}
    for f in fields(cls):
        source = next(s for s in sources if f"\n    {f.name}:" in s)
        after = source.split(f"\n    {f.name}:", 1)[1].split("\n", 1)[1].lstrip()
        docs[f.name] = " ".join(after.split('"""')[1].split()) if after.startswith('"""') else ""
    return docs
