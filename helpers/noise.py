"""Exploration noise added to the deterministic action.

The names follow Stable-Baselines3: an ``ActionNoise`` is called once per step
to draw a sample and ``reset()`` at the start of every episode. ``NoisyExplorer``
is DDPG's behaviour policy for a group of seeds: the actor's action plus noise.
"""

from __future__ import annotations

import copy

import numpy as np

from helpers.config import DDPGConfig
from helpers.envs import rng


class ActionNoise:
    """Base class: ``noise()`` draws one sample, ``reset()`` starts a new episode."""

    def __call__(self) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        """Gaussian noise has no memory, so there is nothing to reset."""


class NormalActionNoise(ActionNoise):
    """Independent Gaussian noise N(mean, sigma^2) at every step."""

    def __init__(self, mean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), self.mean.shape).copy()
        self.rng = rng

    def __call__(self) -> np.ndarray:
        return self.mean + self.sigma * self.rng.standard_normal(self.mean.shape)

    def __repr__(self) -> str:
        return f"NormalActionNoise(mean={self.mean}, sigma={self.sigma})"


class OrnsteinUhlenbeckActionNoise(ActionNoise):
    r"""Ornstein-Uhlenbeck process, discretized with Euler-Maruyama.

    The SDE is :math:`dx = \theta(\mu - x)\,dt + \sigma\,dW`. One step is

    .. math:: x_{t+1} = x_t + \theta(\mu - x_t)\,dt + \sigma\sqrt{dt}\,\varepsilon,
              \quad \varepsilon \sim N(0, I).

    Its stationary law is N(mu, sigma^2 / (2 theta)) (for small dt) and its
    correlation time is 1 / (theta dt) steps. With theta=0.15 and dt=0.01 that
    is about 667 steps: longer than a 200-step Pendulum episode, so without
    ``reset()`` one episode's noise leaks into the next.
    """

    def __init__(
        self,
        mean: np.ndarray,
        sigma: np.ndarray,
        rng: np.random.Generator,
        theta: float = 0.15,
        dt: float = 1e-2,
        initial_noise: np.ndarray | None = None,
    ):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), self.mean.shape).copy()
        self.theta = float(theta)
        self.dt = float(dt)
        self.initial_noise = None if initial_noise is None else np.asarray(initial_noise, np.float64)
        self.rng = rng
        self.reset()

    def __call__(self) -> np.ndarray:
        self.x = (
            self.x
            + self.theta * (self.mean - self.x) * self.dt
            + self.sigma * np.sqrt(self.dt) * self.rng.standard_normal(self.mean.shape)
        )
        return self.x.copy()

    def reset(self) -> None:
        """Start the process again from ``initial_noise`` (zeros when not given)."""
        self.x = np.zeros_like(self.mean) if self.initial_noise is None else self.initial_noise.copy()

    def stationary_std(self) -> np.ndarray:
        """Exact stationary std of the discretized process: sigma*sqrt(dt / (1 - (1 - theta dt)^2))."""
        a = 1.0 - self.theta * self.dt
        return self.sigma * np.sqrt(self.dt / (1.0 - a * a))

    def correlation_time(self) -> float:
        """Steps for the autocorrelation to fall to 1/e: -1 / ln(1 - theta dt) ~ 1 / (theta dt)."""
        return -1.0 / np.log(1.0 - self.theta * self.dt)

    def __repr__(self) -> str:
        return (
            f"OrnsteinUhlenbeckActionNoise(mean={self.mean}, sigma={self.sigma}, "
            f"theta={self.theta}, dt={self.dt})"
        )


def make_noise(
    kind: str, sigma: np.ndarray, rng: np.random.Generator, theta: float = 0.15, dt: float = 1e-2
) -> ActionNoise | None:
    """Build the noise named by ``DDPGConfig.noise``; ``"none"`` gives ``None``."""
    sigma = np.asarray(sigma, dtype=np.float64)
    mean = np.zeros_like(sigma)
    if kind == "gaussian":
        return NormalActionNoise(mean, sigma, rng)
    if kind == "ou":
        return OrnsteinUhlenbeckActionNoise(mean, sigma, rng, theta=theta, dt=dt)
    if kind == "none":
        return None
    raise ValueError(f"unknown noise {kind!r}; expected 'gaussian', 'ou' or 'none'")


class NoisyExplorer:
    """DDPG's behaviour policy for a group: uniform random actions during the warm-up, then
    mu(s) + noise, clipped to the action box. Each seed has its own noise and action space."""

    def __init__(self, agent, noises: list, action_spaces: list, warmup_steps: int):
        self.agent, self.noises, self.spaces, self.warmup_steps = agent, noises, action_spaces, warmup_steps
        self.low, self.high = action_spaces[0].low, action_spaces[0].high

    @classmethod
    def for_config(cls, agent, config: DDPGConfig, envs: list) -> "NoisyExplorer":
        """The config's noise for every seed of ``agent``, each drawn from the seed's ``exploration`` stream."""
        low, high = envs[0].action_space.low, envs[0].action_space.high
        noises = [make_noise(config.noise, config.noise_sigma * (high - low) / 2.0, rng(seed, "exploration"),
                             config.ou_theta, config.ou_dt) for seed in agent.seeds]
        return cls(agent, noises, [env.action_space for env in envs], config.warmup_steps)

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        """Actions (group, action_dim) for observations (group, obs_dim)."""
        if step <= self.warmup_steps:
            return np.stack([space.sample() for space in self.spaces])
        action = self.agent.act_group(obs[:, None])[:, 0]
        if self.noises[0] is None:
            return action
        return np.clip(action + np.stack([noise() for noise in self.noises]), self.low, self.high)

    def checkpoint_state(self):
        """The noise processes with their random streams and OU states, for a checkpoint."""
        return copy.deepcopy(self.noises)

    def restore_checkpoint_state(self, noises) -> None:
        self.noises = copy.deepcopy(noises)

    def reset(self, index: int) -> None:
        """A new episode began in seed ``index``'s env: OU noise must not carry the last one's drift."""
        if self.noises[index] is not None:
            self.noises[index].reset()


def sample_path(noise: ActionNoise, steps: int, reset_every: int | None = None) -> np.ndarray:
    """Draw ``steps`` consecutive samples, shape (steps, dim), resetting every ``reset_every`` steps."""
    path = np.empty((steps, np.size(noise.mean)))
    for t in range(steps):
        if reset_every and t % reset_every == 0:
            noise.reset()
        path[t] = noise()
    return path


def autocorrelation(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Empirical autocorrelation of a 1-D series at lags 0..max_lag (1 at lag 0)."""
    x = np.asarray(x, dtype=float) - np.mean(x)
    denom = np.dot(x, x)
    return np.array([np.dot(x[: len(x) - k], x[k:]) / denom for k in range(max_lag + 1)])
