"""Making environments and seeding a run, in one place."""

from __future__ import annotations

import warnings
from typing import Callable

import gymnasium as gym
import numpy as np

EnvFactory = Callable[..., gym.Env]
"""Anything that returns a fresh env; it may take ``render_mode=...``."""


class EnvError(ValueError):
    """The env cannot be used by DDPG; the message says why in one line."""


MUJOCO_WARNINGS_DROPPED = ("settotalmass",)
"""MuJoCo warnings about gymnasium's own model files that a user can do nothing about: HalfCheetah's
``half_cheetah.xml`` sets the deprecated ``<compiler settotalmass=...>``, and MuJoCo warns on every load."""


def quiet_mujoco() -> None:
    """Send MuJoCo's warnings to Python's ``warnings``, less those in ``MUJOCO_WARNINGS_DROPPED``.

    Without a handler MuJoCo prints each warning and appends it to ``MUJOCO_LOG.TXT`` in the working directory,
    which would litter a notebook's output and the repository. Does nothing where MuJoCo is not installed."""
    try:
        import mujoco
    except ImportError:
        return

    def handler(message: str) -> None:
        if not any(part in message for part in MUJOCO_WARNINGS_DROPPED):
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(handler)


def make_env(env_id: str, render_mode: str | None = None) -> gym.Env:
    """``gymnasium.make`` with a check that the action space is a bounded Box.

    ``env_id`` may be ``"module:EnvId"``: gymnasium imports ``module`` first, so
    an env that a user's package registers on import works too.
    """
    quiet_mujoco()
    try:
        env = gym.make(env_id, render_mode=render_mode)
    # Unknown id or namespace, a module that fails to import, a malformed "module:" prefix,
    # or an env class that rejects render_mode: all are the user's input, so all get one line.
    except (gym.error.Error, ImportError, ValueError, TypeError) as exc:
        raise EnvError(f"cannot make env {env_id!r}: {exc}") from None
    check_continuous(env, env_id)
    return env


def check_continuous(env: gym.Env, env_id: str = "env") -> None:
    """Raise ``EnvError`` unless ``env`` has a finite, 1-D Box action space."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        env.close()
        raise EnvError(
            f"{env_id} has a {type(space).__name__} action space; DDPG needs continuous "
            "(Box) actions. Use DQN for discrete actions."
        )
    if len(space.shape) != 1 or not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        env.close()
        raise EnvError(f"{env_id} needs a 1-D action Box with finite bounds, got {space}")
    if len(env.observation_space.shape or ()) != 1:
        env.close()
        raise EnvError(f"{env_id} needs flat (1-D) observations, got {env.observation_space}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy's global state and TensorFlow/Keras once (the networks' initial weights come from them).

    Everything else random in a run draws from a generator of its own (``rng(seed, stream)``). The env is
    seeded separately, by ``env.reset(seed=seed)`` once per run and ``env.action_space.seed(seed)``. Reseeding
    every episode would repeat the same start state over and over.
    """
    from helpers.backend import keras  # imported here so that using the env helpers alone stays light

    keras.utils.set_random_seed(seed)  # seeds Python's random, NumPy's global state and TensorFlow


RNG_STREAMS = {"exploration": None, "replay": 1, "target_smoothing": 2, "epsilon_greedy": 2, "toy_critics": 7,
               "toy_noise": 8, "toy_fresh": 9, "toy_explore": 10}
"""Each seed's random streams: ``exploration`` (the action noise) is ``default_rng(seed)`` itself, the others
``default_rng([seed, k])``, so that no two consumers of one run share numbers. TD3's target smoothing and DQN's
epsilon-greedy share k = 2: no agent has both. ``toy_critics``, ``toy_noise``, ``toy_fresh`` and ``toy_explore``
draw the data of notebook 07's toy task."""


def rng(seed: int, stream: str) -> np.random.Generator:
    """The generator of one named stream (``RNG_STREAMS``) of seed ``seed``."""
    if stream not in RNG_STREAMS:
        raise ValueError(f"stream must be one of {list(RNG_STREAMS)}, got {stream!r}")
    k = RNG_STREAMS[stream]
    return np.random.default_rng(seed if k is None else [seed, k])


def scaled_env_fn(env_id: str, scale) -> EnvFactory:
    """A factory for ``env_id`` whose observations are multiplied componentwise by ``scale``.

    It makes the mixed-units problem of real robots (metres next to
    milliradians per second) on any env, without changing its dynamics.
    """
    scale = np.asarray(scale, dtype=np.float32)

    def make(render_mode: str | None = None) -> gym.Env:
        env = make_env(env_id, render_mode=render_mode)
        space = env.observation_space
        if space.shape != scale.shape:
            env.close()
            raise EnvError(f"scale has shape {scale.shape}, but {env_id} observations have shape {space.shape}")
        low, high = np.sort(np.stack([space.low * scale, space.high * scale]), axis=0)
        box = gym.spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
        return gym.wrappers.TransformObservation(env, lambda obs: (obs * scale).astype(np.float32), box)

    return make


def command_pendulum(render_mode: str | None = None) -> gym.Env:
    """Pendulum-v1 driven by a command in [0, 1], as a motor driver that takes a duty cycle: torque = 4c - 2.

    The same task as Pendulum-v1 with an asymmetric action box (c = 0.5 is no torque): what an actor that
    assumes ``low = -high``, or hard-codes its bounds, gets wrong (notebook 06).
    """
    env = make_env("Pendulum-v1", render_mode=render_mode)
    box = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    return gym.wrappers.TransformAction(env, lambda c: (4.0 * np.clip(c, 0.0, 1.0) - 2.0).astype(np.float32), box)


class MultiPendulumEnv(gym.Env):
    """``n`` independent pendulums, each Pendulum-v1's physics, driven by one n-dimensional torque.

    The observation concatenates each pendulum's (cos angle, sin angle, angular
    velocity); the reward is the sum of the pendulums' Pendulum-v1 rewards, so a
    policy that is good for one pendulum and applied to each scores about ``n``
    times its Pendulum-v1 return. It is a task whose action dimension can be
    dialled, cheap enough to train many seeds: register it as
    ``MultiPendulum-v0`` (two pendulums, 200 steps), or make it with ``n=...``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}
    MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0

    def __init__(self, n: int = 2, render_mode: str | None = None):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        self.n = int(n)
        high = np.tile(np.array([1.0, 1.0, self.MAX_SPEED], np.float32), self.n)
        self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-self.MAX_TORQUE, self.MAX_TORQUE, shape=(self.n,), dtype=np.float32)
        self.render_mode = render_mode

    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        self.theta = self.np_random.uniform(-np.pi, np.pi, self.n)
        self.theta_dot = self.np_random.uniform(-1.0, 1.0, self.n)
        return self._obs(), {}

    def step(self, action):
        u = np.clip(np.asarray(action, np.float64), -self.MAX_TORQUE, self.MAX_TORQUE)
        upright = (self.theta + np.pi) % (2 * np.pi) - np.pi  # angle from upright, in [-pi, pi)
        cost = upright**2 + 0.1 * self.theta_dot**2 + 0.001 * u**2
        accel = 3 * self.G / (2 * self.L) * np.sin(self.theta) + 3.0 / (self.M * self.L**2) * u
        self.theta_dot = np.clip(self.theta_dot + accel * self.DT, -self.MAX_SPEED, self.MAX_SPEED)
        self.theta = self.theta + self.theta_dot * self.DT
        return self._obs(), -float(cost.sum()), False, False, {}

    def _obs(self) -> np.ndarray:
        return np.stack([np.cos(self.theta), np.sin(self.theta), self.theta_dot], axis=1).reshape(-1).astype(np.float32)

    def render(self) -> np.ndarray:
        """The pendulums side by side, upright = rod pointing up, as an RGB array (160 x 160n pixels)."""
        size, half_width = 160, 4
        image = np.full((size, size * self.n, 3), 255, np.uint8)
        along = np.linspace(0.0, 0.4 * size, 120)
        for k, theta in enumerate(self.theta):
            cx, cy = size * k + size // 2, size // 2
            x = (cx + along * np.sin(theta)).astype(int)
            y = (cy - along * np.cos(theta)).astype(int)
            for dx in range(-half_width, half_width + 1):
                for dy in range(-half_width, half_width + 1):
                    image[np.clip(y + dy, 0, size - 1), np.clip(x + dx, 0, size * self.n - 1)] = (204, 77, 77)
            image[cy - 2 : cy + 3, cx - 2 : cx + 3] = 0  # the pivot
        return image


def multi_pendulum_fn(n: int) -> EnvFactory:
    """A factory for ``n`` pendulums (``MultiPendulumEnv``) with Pendulum-v1's 200-step time limit."""
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, got {n}")

    def make(render_mode: str | None = None) -> gym.Env:
        return gym.make("MultiPendulum-v0", n=int(n), render_mode=render_mode)

    return make


if "MultiPendulum-v0" not in gym.registry:
    gym.register("MultiPendulum-v0", entry_point=MultiPendulumEnv, max_episode_steps=200, kwargs={"n": 2})
