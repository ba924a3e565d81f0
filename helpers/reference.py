"""Reference policies to read a learning curve against.

For Pendulum-v1 (and ``MultiPendulum-v0``, one per pendulum): do nothing, a constant torque, a classical
swing-up controller, and the optimum computed from the known dynamics by dynamic programming. For MuJoCo's
InvertedPendulum-v5: do nothing, a constant push, random actions, and an LQR controller built from the model.

Pendulum-v1's dynamics are known: with theta = 0 upright, theta'' = 15 sin(theta) + 3 u (g = 10, m = l = 1),
u in [-2, 2]. The energy E = theta'^2 / 2 + 15 (cos(theta) - 1) is 0 upright and at rest, and dE/dt = 3 u theta',
so pushing along the velocity pumps energy in. ``swing_up_controller`` pumps the energy to 0 far from the top
and holds the pendulum there with a linear (PD) feedback once it is near upright.
"""

from __future__ import annotations

import numpy as np

from helpers.envs import make_env
from helpers.evaluation import Policy, evaluate

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


PENDULUM_DT, PENDULUM_STEPS = 0.05, 200


def _pendulum_step(theta, theta_dot, torque):
    """Pendulum-v1's update (gymnasium 1.x), vectorised: semi-implicit Euler with the speed clipped to +-8."""
    theta_dot = np.clip(theta_dot + (15.0 * np.sin(theta) + 3.0 * torque) * PENDULUM_DT, -8.0, 8.0)
    return theta + theta_dot * PENDULUM_DT, theta_dot


def _wrap(theta):
    return (theta + np.pi) % (2 * np.pi) - np.pi


class OptimalPendulumPolicy:
    """The best 200-step policy for Pendulum-v1, from backward induction on a state grid (dynamic programming).

    Pendulum-v1's dynamics and reward are known, so the optimal value V_t(theta, theta') of the remaining
    200 - t steps follows from V_200 = 0 and V_t(s) = max_u [r(s, u) + V_{t+1}(f(s, u))], with V interpolated
    bilinearly between grid points (periodic in theta, theta' in [-8, 8]) and u on ``torques`` levels. Acting
    then picks, among 161 torque levels, the one with the best r + V_{t+1}: a closed-loop policy, so small
    grid errors do not compound the way an open-loop action sequence's would on an unstable pendulum.

    The policy is time-dependent: call ``reset()`` before an episode, then call it once per step with every
    episode's observation (the course's evaluation runs all episodes side by side, one call per step).
    With the default 252 x 251 grid (both with a point at upright and at rest) it scores -126.3 over the 100
    evaluation starts; a 501 x 401 grid gives -126.0, so the grid costs less than half a point.
    It is an achievable return, so the true optimum is at least as good.
    """

    def __init__(self, grid: tuple[int, int] = (252, 251), torques: int = 21):
        self.n_theta, self.n_speed = grid
        theta = np.linspace(-np.pi, np.pi, self.n_theta, endpoint=False)
        speed = np.linspace(-8.0, 8.0, self.n_speed)
        u = np.linspace(-2.0, 2.0, torques)
        th, sp, uu = np.meshgrid(theta, speed, u, indexing="ij")
        reward = -(th**2 + 0.1 * sp**2 + 0.001 * uu**2)  # theta on the grid is already in [-pi, pi)
        where = self._cell(*_pendulum_step(th, sp, uu))
        values = [np.zeros((self.n_theta, self.n_speed))]
        for _ in range(PENDULUM_STEPS):
            values.append((reward + self._lookup(values[-1], where)).max(axis=-1))
        self.values = values[::-1]  # values[t]: the best return of steps t .. 199
        self.fine = np.linspace(-2.0, 2.0, 161)
        self.t = 0

    def _cell(self, theta, speed):
        x = (_wrap(theta) + np.pi) / (2 * np.pi) * self.n_theta
        i = np.floor(x).astype(np.int64)
        y = (speed + 8.0) / 16.0 * (self.n_speed - 1)
        j = np.clip(np.floor(y).astype(np.int64), 0, self.n_speed - 2)
        return i % self.n_theta, (i + 1) % self.n_theta, j, x - np.floor(x), y - j

    @staticmethod
    def _lookup(v, where):
        i0, i1, j, wx, wy = where
        return (1 - wx) * ((1 - wy) * v[i0, j] + wy * v[i0, j + 1]) + wx * ((1 - wy) * v[i1, j] + wy * v[i1, j + 1])

    def value(self, theta, theta_dot, t: int = 0) -> np.ndarray:
        """The grid's estimate of the best return from (theta, theta') with steps t .. 199 to go."""
        return self._lookup(self.values[t], self._cell(np.asarray(theta, float), np.asarray(theta_dot, float)))

    def reset(self) -> None:
        self.t = 0

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.t >= PENDULUM_STEPS:
            raise RuntimeError("OptimalPendulumPolicy has acted 200 steps: call reset() before the next episode")
        theta = np.arctan2(obs[:, 1], obs[:, 0]).astype(float)[:, None]
        speed = obs[:, 2].astype(float)[:, None]
        q = -0.001 * self.fine**2 + self._lookup(self.values[self.t + 1],
                                                 self._cell(*_pendulum_step(theta, speed, self.fine[None])))
        self.t += 1
        return self.fine[q.argmax(axis=1)][:, None].astype(np.float32)


def per_pendulum(policy: Policy) -> Policy:
    """Apply a one-pendulum policy to each pendulum of ``MultiPendulum-v0`` (observations (n, 3d) -> (n, d)).

    The pendulums are independent and the reward is their sum, so the per-pendulum optimum applied to each
    pendulum is the optimum of the whole task.
    """

    def policy_d(obs: np.ndarray) -> np.ndarray:
        n = len(obs)
        return np.asarray(policy(obs.reshape(-1, 3))).reshape(n, -1)

    return policy_d


def pendulum_references(episodes: int = 10, optimum: OptimalPendulumPolicy | None = None) -> dict[str, float]:
    """Mean returns of the reference policies on the first ``episodes`` evaluation starts of Pendulum-v1.

    Scored with the agents' own protocol (``helpers.evaluation.evaluate``): do nothing (zero torque), the
    swing-up controller, and the dynamic-programming optimum (built here unless ``optimum`` is given; about
    10 s on a 2-core CPU).
    """
    optimum = optimum or OptimalPendulumPolicy()
    optimum.reset()

    def env_fn():
        return make_env("Pendulum-v1")

    return {"do nothing": float(evaluate(constant_policy(0.0), env_fn, episodes).mean()),
            "swing-up controller": float(evaluate(swing_up_controller(), env_fn, episodes).mean()),
            "optimum (dynamic programming)": float(evaluate(optimum, env_fn, episodes).mean())}


def pendulum_discounted_returns(policy: Policy, obs: np.ndarray, gamma: float = 0.99, steps: int = 1000) -> np.ndarray:
    """The discounted return that ``policy`` actually collects from each Pendulum-v1 observation in ``obs``.

    Every state is rolled forward with Pendulum-v1's own dynamics and reward, all states side by side, for
    ``steps`` steps with no time limit: the critic estimates the value of an episode that continues (the
    course bootstraps through truncation), and gamma ** 1000 < 5e-5 makes the cut-off negligible. Compare it
    with the critic's Q(s, mu(s)) to measure over- or underestimation (Fujimoto et al., 2018, Figure 1).
    """
    obs = np.asarray(obs, np.float32)
    theta, speed = np.arctan2(obs[:, 1], obs[:, 0]).astype(float), obs[:, 2].astype(float)
    total, discount = np.zeros(len(obs)), 1.0
    for _ in range(steps):
        current = np.stack([np.cos(theta), np.sin(theta), speed], axis=1).astype(np.float32)
        u = np.clip(np.asarray(policy(current), float).reshape(-1), -2.0, 2.0)
        total += discount * -(_wrap(theta) ** 2 + 0.1 * speed**2 + 0.001 * u**2)
        theta, speed = _pendulum_step(theta, speed, u)
        discount *= gamma
    return total


def multi_pendulum_references(n: int, episodes: int = 10, optimum: OptimalPendulumPolicy | None = None,
                              include_optimum: bool = True) -> dict[str, float]:
    """``pendulum_references`` for ``n`` pendulums (``MultiPendulum-v0``): each reference drives every pendulum.

    Do nothing, a constant torque of +2 on every pendulum (a saturated actor), the swing-up controller on each
    pendulum, and the dynamic-programming optimum on each, which is the optimum of the whole task
    (``include_optimum=False`` leaves it out and saves building it, about 10 s).
    """
    from helpers.envs import multi_pendulum_fn

    env_fn = multi_pendulum_fn(n)
    references = {
        "do nothing": float(evaluate(constant_policy(0.0, n), env_fn, episodes).mean()),
        "constant +2 N·m": float(evaluate(constant_policy(2.0, n), env_fn, episodes).mean()),
        "swing-up controller": float(evaluate(per_pendulum(swing_up_controller()), env_fn, episodes).mean()),
    }
    if include_optimum:
        optimum = optimum or OptimalPendulumPolicy()
        optimum.reset()
        references["optimum (dynamic programming)"] = float(evaluate(per_pendulum(optimum), env_fn, episodes).mean())
    return references


def inverted_pendulum_lqr(q=(1.0, 10.0, 0.1, 0.1), r: float = 0.1) -> Policy:
    """A linear-quadratic regulator for MuJoCo's ``InvertedPendulum-v5``, from its own model.

    The env's step (two MuJoCo steps with the control held) is linearised around the upright cart at rest
    by central finite differences of the simulator itself; the discrete Riccati equation then gives the
    gain K of u = -K x, x = (cart position, pole angle, their velocities) = the observation. The action
    is clipped to the env's box. Needs ``gymnasium[mujoco]``.
    """
    import mujoco
    import scipy.linalg

    env = make_env("InvertedPendulum-v5")
    model, data, substeps = env.unwrapped.model, env.unwrapped.data, env.unwrapped.frame_skip
    low, high = env.action_space.low, env.action_space.high
    env.close()

    def step(x, u):
        data.qpos[:], data.qvel[:], data.ctrl[:] = x[: model.nq], x[model.nq :], u
        mujoco.mj_step(model, data, substeps)
        return np.concatenate([data.qpos, data.qvel])

    eps, x0, u0 = 1e-5, np.zeros(2 * model.nv), np.zeros(model.nu)
    a = np.stack([(step(x0 + eps * e, u0) - step(x0 - eps * e, u0)) / (2 * eps) for e in np.eye(x0.size)], 1)
    b = np.stack([(step(x0, u0 + eps * e) - step(x0, u0 - eps * e)) / (2 * eps) for e in np.eye(u0.size)], 1)
    q_matrix, r_matrix = np.diag(q), r * np.eye(u0.size)
    p = scipy.linalg.solve_discrete_are(a, b, q_matrix, r_matrix)
    gain = np.linalg.solve(r_matrix + b.T @ p @ b, b.T @ p @ a)

    def policy(obs: np.ndarray) -> np.ndarray:
        return np.clip(-np.asarray(obs, np.float64) @ gain.T, low, high).astype(np.float32)

    policy.gain = gain
    return policy


def inverted_pendulum_references(episodes: int = 10) -> dict[str, float]:
    """Mean returns on the first ``episodes`` evaluation starts of ``InvertedPendulum-v5``: do nothing, a
    constant push at the action bound (what a saturated actor does), uniform random actions, and the LQR
    controller (``inverted_pendulum_lqr``), which balances all 1,000 steps: the maximum return."""

    def env_fn():
        return make_env("InvertedPendulum-v5")

    rng = np.random.default_rng(0)

    def random_policy(obs):
        return rng.uniform(-3.0, 3.0, (len(obs), 1)).astype(np.float32)

    return {"do nothing": float(evaluate(constant_policy(0.0), env_fn, episodes).mean()),
            "constant +3 (bound)": float(evaluate(constant_policy(3.0), env_fn, episodes).mean()),
            "random actions": float(evaluate(random_policy, env_fn, episodes).mean()),
            "LQR controller": float(evaluate(inverted_pendulum_lqr(), env_fn, episodes).mean())}
