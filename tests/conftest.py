"""Shared test fixtures: tiny envs with known behaviour."""

import gymnasium as gym
import numpy as np
import pytest

import helpers  # noqa: F401  (imports TensorFlow quietly before anything else)


class PointMass(gym.Env):
    """A 2-D point that moves by its action; reward -|position|.

    Asymmetric action bounds and two action dimensions exercise what Pendulum
    cannot. The episode terminates when the point leaves the box |x| > 2, and
    is truncated after ``horizon`` steps.
    """

    def __init__(self, horizon: int = 30, nan_at: int | None = None, render_mode=None):
        self.action_space = gym.spaces.Box(low=np.array([-0.5, 0.0], np.float32), high=np.array([0.5, 1.0], np.float32))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.horizon, self.nan_at, self.steps_total = horizon, nan_at, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, size=2).astype(np.float32)
        self.t = 0
        return self.pos.copy(), {}

    def step(self, action):
        self.t += 1
        self.steps_total += 1
        # Shift the second action dimension so both have a zero-motion point inside the box.
        self.pos = (self.pos + 0.2 * (np.asarray(action) - np.array([0.0, 0.5]))).astype(np.float32)
        reward = -float(np.linalg.norm(self.pos))
        if self.nan_at is not None and self.steps_total >= self.nan_at:
            reward = float("nan")
        terminated = bool(np.any(np.abs(self.pos) > 2.0))
        truncated = self.t >= self.horizon
        return self.pos.copy(), reward, terminated, truncated, {}


@pytest.fixture
def point_mass():
    return PointMass
