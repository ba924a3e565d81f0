"""Reference policies for Pendulum-v1, to read a learning curve against: do nothing, a constant torque, and a
classical swing-up controller.

Pendulum-v1's dynamics are known: with theta = 0 upright, theta'' = 15 sin(theta) + 3 u (g = 10, m = l = 1),
u in [-2, 2]. The energy E = theta'^2 / 2 + 15 (cos(theta) - 1) is 0 upright and at rest, and dE/dt = 3 u theta',
so pushing along the velocity pumps energy in. ``swing_up_controller`` pumps the energy to 0 far from the top
and holds the pendulum there with a linear (PD) feedback once it is near upright.
"""

from __future__ import annotations

import numpy as np

from helpers.evaluation import Policy

SWING_UP_GAINS = {"energy": 0.5, "angle": 12.0, "velocity": 3.0, "catch_cos": 0.85}
"""Chosen by a grid search (energy 0.5, 2, 10; angle 8, 12, 20; velocity 1, 2, 3; catch_cos 0.7, 0.85, 0.95)
for the best mean over the course's 100 evaluation starts: a reference tuned on the very starts it is scored on."""


def swing_up_controller(energy: float = SWING_UP_GAINS["energy"], angle: float = SWING_UP_GAINS["angle"],
                        velocity: float = SWING_UP_GAINS["velocity"],
                        catch_cos: float = SWING_UP_GAINS["catch_cos"]) -> Policy:
    """Energy pumping far from upright, PD feedback u = -(angle * theta + velocity * theta') near it.

    The policy maps Pendulum-v1 observations (n, 3) = (cos theta, sin theta, theta') to torques (n, 1).
    """

    def policy(obs: np.ndarray) -> np.ndarray:
        cos, sin, theta_dot = obs[:, 0], obs[:, 1], obs[:, 2]
        theta = np.arctan2(sin, cos)
        e = 0.5 * theta_dot**2 + 15.0 * (cos - 1.0)
        pump = -energy * e * theta_dot  # along the velocity while E < 0, against it when E > 0
        hold = -(angle * theta + velocity * theta_dot)
        return np.clip(np.where(cos > catch_cos, hold, pump), -2.0, 2.0)[:, None].astype(np.float32)

    return policy


def constant_policy(torque: float, action_dim: int = 1) -> Policy:
    """The same action in every state: 0 is 'do nothing'; a bound is what a saturated tanh actor does."""

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.full((len(obs), action_dim), torque, np.float32)

    return policy
