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


def _notebook_minutes() -> dict[str, float]:
    """Each notebook's measured run time in minutes, as the reading guide's *run* column states it."""
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parent.parent / "notebooks" / "README.md").read_text()
    rows = re.findall(r"\[`(\w+)\.ipynb`\]\([^)]*\) \| [^|]* \| ([\d.]+) (min|s) \|", guide)
    return {name: float(value) / (60.0 if unit == "s" else 1.0) for name, value, unit in rows}


def pytest_collection_modifyitems(config, items):
    """Slowest files first: the notebooks by their measured run time, then their solutions, then the unit tests.

    With one worker per core (pytest-xdist, ``--no-loadscope-reorder``), a long notebook that started last would
    run alone at the end while the other workers sat idle; started first, the short files fill in around it.
    """
    minutes = _notebook_minutes()

    def rank(item):
        path = item.path
        if path.suffix == ".ipynb":
            solution = path.parent.name == "solutions"
            return (0 if not solution else 1, -minutes.get(path.stem, 0.0))
        return (2, 0.0)

    items.sort(key=rank)  # a stable sort: each file's items stay together and in order
