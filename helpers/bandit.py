r"""A one-step continuous-action problem whose policy gradient is known exactly.

Contexts :math:`s \sim N(0, 1)`, a scalar action, and the reward

.. math:: r(s, a) = -\big(a - (w s + b)\big)^2,

so :math:`Q(s, a) = r(s, a)` (one step, nothing to bootstrap). For the linear
policy :math:`\mu_\theta(s) = \theta_0 + \theta_1 s`,

.. math:: J(\theta) = \mathbb E_s\, Q(s, \mu_\theta(s)) = -(\theta_0 - b)^2 - (\theta_1 - w)^2,
          \qquad \nabla_\theta J = \big(-2(\theta_0 - b),\ -2(\theta_1 - w)\big).

Both estimators below are unbiased for that gradient; they differ in variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LinearQuadraticBandit:
    """The contextual bandit above, with the best action w*s + b."""

    w: float = 1.5
    """Slope of the best action as a function of the context."""
    b: float = -0.5
    """Offset of the best action."""

    def features(self, s: np.ndarray) -> np.ndarray:
        """d mu / d theta for the linear policy: the rows (1, s)."""
        return np.stack([np.ones_like(s), s], axis=-1)

    def policy(self, theta: np.ndarray, s: np.ndarray) -> np.ndarray:
        return self.features(s) @ np.asarray(theta, dtype=float)

    def q(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        return -(a - (self.w * s + self.b)) ** 2

    def dq_da(self, s: np.ndarray, a: np.ndarray) -> np.ndarray:
        """The critic's action gradient, here exact: -2 (a - a*(s))."""
        return -2.0 * (a - (self.w * s + self.b))

    def objective(self, theta: np.ndarray) -> float:
        """J(theta) in closed form (s ~ N(0, 1): E[s] = 0, E[s^2] = 1)."""
        return -((theta[0] - self.b) ** 2) - (theta[1] - self.w) ** 2

    def true_gradient(self, theta: np.ndarray) -> np.ndarray:
        return np.array([-2.0 * (theta[0] - self.b), -2.0 * (theta[1] - self.w)])

    def sample_contexts(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(n)


def dpg_estimate(bandit: LinearQuadraticBandit, theta: np.ndarray, s: np.ndarray) -> np.ndarray:
    r"""Deterministic policy gradient: mean over states of grad_theta mu(s) * dQ/da at a = mu(s).

    No action is sampled: the only randomness is which states were drawn.
    """
    a = bandit.policy(theta, s)
    return (bandit.features(s) * bandit.dq_da(s, a)[:, None]).mean(axis=0)


def reinforce_estimate(
    bandit: LinearQuadraticBandit,
    theta: np.ndarray,
    s: np.ndarray,
    sigma: float,
    rng: np.random.Generator,
    baseline: bool = False,
) -> np.ndarray:
    r"""Likelihood-ratio gradient of a Gaussian policy N(mu_theta(s), sigma^2), one action per state.

    grad log pi(a|s) = (a - mu(s)) / sigma^2 * grad mu(s). With ``baseline``,
    the value of the mean action, Q(s, mu(s)), is subtracted from the reward:
    it leaves the estimate unbiased and removes much of its variance.

    The Gaussian policy's objective is J(theta) - sigma^2, whose gradient in
    theta equals the deterministic one, so both estimators aim at the same vector.
    """
    mu = bandit.policy(theta, s)
    a = mu + sigma * rng.standard_normal(s.shape)
    reward = bandit.q(s, a)
    if baseline:
        reward = reward - bandit.q(s, mu)
    score = ((a - mu) / sigma**2)[:, None] * bandit.features(s)
    return (score * reward[:, None]).mean(axis=0)


def estimator_spread(estimate, bandit, theta, n_samples: int, repeats: int, rng) -> tuple[np.ndarray, float]:
    """Mean estimate and total variance (trace of the covariance) over ``repeats`` draws of n states."""
    draws = np.array([estimate(bandit.sample_contexts(n_samples, rng)) for _ in range(repeats)])
    return draws.mean(axis=0), float(draws.var(axis=0).sum())


def quadratic_features(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """(1, s, a, s^2, s a, a^2): a critic family that contains the true Q exactly."""
    return np.stack([np.ones_like(s), s, a, s * s, s * a, a * a], axis=-1)


def fit_quadratic_critic(s: np.ndarray, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Least-squares weights of a quadratic critic fitted to (s, a, r) samples.

    When the actions carry no exploration (a is an exact function of s), the
    columns are linearly dependent and the fit cannot tell the action's effect
    from the state's: ``lstsq`` returns one of many equally good fits, and its
    action gradient can be anything.
    """
    weights, *_ = np.linalg.lstsq(quadratic_features(s, a), r, rcond=None)
    return weights


def critic_dq_da(weights: np.ndarray, s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Action gradient of the fitted quadratic critic: w_a + w_sa s + 2 w_aa a."""
    return weights[2] + weights[4] * s + 2.0 * weights[5] * a


def dpg_with_critic(bandit: LinearQuadraticBandit, theta: np.ndarray, s: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The DPG estimate with a learned critic's action gradient in place of the true one."""
    a = bandit.policy(theta, s)
    return (bandit.features(s) * critic_dq_da(weights, s, a)[:, None]).mean(axis=0)
