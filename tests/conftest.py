"""Shared test fixtures: tiny envs with known behaviour."""

import gymnasium as gym
import numpy as np
import pytest

import helpers.backend  # noqa: F401  (TensorFlow, imported quietly before anything else)


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
    for item in items:  # the fast tier, `pytest -m "not slow"`, skips every notebook and every learning run
        if item.path.suffix == ".ipynb" or is_slow(item.path.name, item.name):
            item.add_marker(pytest.mark.slow)


SLOW = {
    "test_cli.py": ("",),  # every test runs a command in a fresh Python, which imports TensorFlow
    "test_training.py": ("",),  # learning runs
    "test_checkpoint.py": ("test_the_command_line_resumes", "test_a_resumed_run_ends_as_the_uninterrupted_one"),
    "test_experiments.py": ("test_the_first_evaluations_of_a_stored_run_come_back_exactly",
                            "test_an_experiment_interrupted_and_resumed", "test_the_stored_actor_is_the_median_seed"),
    "test_group.py": ("test_first_updates_of_a_group_equal_each_seed_alone[batch",
                      "test_first_updates_of_a_group_equal_each_seed_alone[layer",
                      "test_a_group_run_is_deterministic_and_its_seeds_differ"),
    "test_td3.py": ("test_an_ablation_group_trains_each_seed_as_its_own_variant_would_alone",
                    "test_the_loop_builds_td3_for_a_td3_config", "test_train_arms_splits_one_group_run_into_arms"),
    "test_dqn.py": ("test_dqn_trains_through_the_shared_loop", "test_dqn_learns_pendulum"),
    "test_reference.py": ("test_the_dynamic_programming_optimum", "test_the_optimum_of_a_pendulum",
                          "test_the_optimal_policy", "test_multi_pendulum_references"),  # the DP solve
}
"""Tests that train for many steps, solve a dynamic program or start a new Python: per file, the prefixes
of their names ("" for the whole file). The fast tier keeps one normalization of the group property test."""


def is_slow(file_name: str, test_name: str) -> bool:
    return any(test_name.startswith(prefix) for prefix in SLOW.get(file_name, ()))
