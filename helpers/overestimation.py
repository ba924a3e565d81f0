r"""Overestimation isolated: a task whose values are known exactly, a critic fitted to noisy rewards, an actor
that climbs it, with one critic or with TD3's clipped double-Q target (notebook 07).

**The task.** One state, to which every action returns; an action :math:`a \in [-1, 1]` earns
:math:`r(a) = r_0 - k (a - a^*)^2` plus Gaussian noise. A deterministic policy that always plays :math:`\mu` is
worth exactly :math:`Q^\mu(\mu) = r(\mu) / (1 - \gamma)`, so the error of a critic's :math:`\hat Q(\mu)` is known
exactly at every update.

**The learner**, DDPG's update with nothing but the essentials:

- a replay buffer of ``samples`` actions drawn uniformly, each with one noisy reward, that no longer grows;
- a critic that is linear in Gaussian bumps (its own random centres per critic, as each of TD3's critics has its own
  random initial weights) plus a constant, fitted *exactly* at every update to the targets
  :math:`y_i = r_i + \gamma \bar Q(\bar\mu)` by ridge regression (the constant is not penalised), so no
  optimiser noise enters;
- an actor that takes one gradient-ascent step on :math:`\hat Q_1` per update, :math:`\mu \leftarrow
  \operatorname{clip}(\mu + \eta\, \partial \hat Q_1 / \partial a)`;
- target copies that follow by Polyak averaging with :math:`\tau`: the target critics start from zero weights, the
  target actor at the actor's start.

Three arms share each seed's buffer and first critic, so their differences are paired: **fixed actor** (the actor
stays at :math:`a^*`, no maximization), **one critic** (DDPG), **clipped double-Q** (the target takes the smaller
of two target critics, and the actor climbs the first, as in TD3).

At every update the error :math:`\hat Q_1(\mu) - Q^\mu(\mu)` splits exactly into two parts. *Lag*: the critic's
value minus the value it would reach if the actor stopped where it is (its fixed point under the targets). *Fixed-point
bias*: that fixed point minus the true value; it is the fit's own error at the actor's action plus, for an actor
that climbs, the maximization bias (the actor picks an action where the fitted rewards came out high). Lag comes from
the zero start and the slow targets and dies out; the fixed-point bias remains.

Two properties hold by construction, and the tests check them: with one state the bootstrap adds the same constant to
every action's target, so the actor climbs the same fitted reward with one critic or two and follows the same path;
and the minimum of two critics can only lower the fixed point. The experiment measures how large the effects are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from helpers.envs import rng as seeded_rng

ARMS = ("fixed actor", "one critic", "clipped double-Q")


@dataclass(frozen=True)
class ToyTask:
    """The one-state task, the buffer, the critic's features and the learning rates (the course's gamma and tau)."""

    best_action: float = 0.3
    base_reward: float = -1.0
    curvature: float = 2.0
    reward_noise: float = 0.3
    """Standard deviation of the noise on each stored reward."""
    samples: int = 40
    """Transitions in the replay buffer."""
    bumps: int = 10
    bump_width: float = 0.3
    ridge: float = 0.1
    """Ridge penalty on the bump weights (the constant is not penalised)."""
    gamma: float = 0.99
    tau: float = 0.005
    actor_step: float = 0.05
    start_action: float = -0.5

    def reward(self, action):
        """The noise-free reward r(a)."""
        return self.base_reward - self.curvature * (np.asarray(action) - self.best_action) ** 2

    def true_value(self, action):
        """Q^mu(mu) = r(mu) / (1 - gamma): the exact discounted return of always playing ``action``."""
        return self.reward(action) / (1.0 - self.gamma)


class Critics(NamedTuple):
    """Per seed: the bump centres of each critic and the buffer, with everything the exact fit needs."""

    centres: np.ndarray  # (seeds, 2, bumps)
    actions: np.ndarray  # (seeds, samples)
    rewards: np.ndarray  # (seeds, samples)
    hat: np.ndarray      # (seeds, 2, bumps + 1, samples): weights = hat @ targets


def features(task: ToyTask, centres: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Gaussian bumps at ``centres`` (..., bumps) for ``actions`` (..., n), plus a constant: shape (..., n, bumps+1)."""
    bumps = np.exp(-0.5 * ((actions[..., :, None] - centres[..., None, :]) / task.bump_width) ** 2)
    return np.concatenate([bumps, np.ones_like(bumps[..., :1])], axis=-1)


def slopes(task: ToyTask, centres: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """d features / d action, same shape as ``features`` (the constant's slope is 0)."""
    phi = features(task, centres, actions)[..., :-1]
    slope = -phi * (actions[..., :, None] - centres[..., None, :]) / task.bump_width ** 2
    return np.concatenate([slope, np.zeros_like(slope[..., :1])], axis=-1)


def make_critics(task: ToyTask, seeds) -> Critics:
    """Each seed's buffer (uniform actions, noisy rewards) and its two critics' random bump centres."""
    centres, actions, rewards = [], [], []
    for seed in seeds:
        rng = seeded_rng(seed, "toy_critics")
        actions.append(rng.uniform(-1.0, 1.0, task.samples))
        rewards.append(task.reward(actions[-1]) + task.reward_noise * rng.standard_normal(task.samples))
        centres.append(rng.uniform(-1.0, 1.0, (2, task.bumps)))
    centres, actions, rewards = np.array(centres), np.array(actions), np.array(rewards)
    phi = features(task, centres, actions[:, None, :])  # (seeds, 2, samples, bumps+1)
    penalty = task.ridge * np.diag(np.r_[np.ones(task.bumps), 0.0])
    gram = np.einsum("kcnp,kcnq->kcpq", phi, phi) + penalty
    hat = np.linalg.solve(gram, np.swapaxes(phi, -1, -2))  # ridge: (phi' phi + penalty)^-1 phi'
    return Critics(centres, actions, rewards, hat)


class ToyRun(NamedTuple):
    updates: np.ndarray
    """The updates at which the measurements were taken."""
    q: np.ndarray
    """Q_1(mu), shape (checkpoints, seeds)."""
    fixed_point: np.ndarray
    """The value Q_1(mu) would reach if the actor stopped at its current action (its fixed point)."""
    true: np.ndarray
    """Q^mu(mu), the exact value of the current action."""
    action: np.ndarray

    @property
    def error(self) -> np.ndarray:
        return self.q - self.true

    @property
    def lag(self) -> np.ndarray:
        return self.q - self.fixed_point

    @property
    def fixed_point_bias(self) -> np.ndarray:
        return self.fixed_point - self.true


def run_arm(task: ToyTask, critics: Critics, arm: str, updates: int, checkpoints) -> ToyRun:
    """Train one arm on every seed (vectorized over seeds) for ``updates`` updates; measure at ``checkpoints``."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    seeds, twin = critics.actions.shape[0], arm == "clipped double-Q"

    def value(weights, action):  # each critic's Q at each seed's action: (seeds, 2)
        phi = features(task, critics.centres, np.repeat(action[:, None, None], 2, axis=1))[:, :, 0]
        return np.einsum("kcp,kcp->kc", weights, phi)

    weights = np.zeros(critics.hat.shape[:3])  # the online critics' weights, (seeds, 2, bumps + 1)
    target_weights = np.zeros_like(weights)  # target critics, starting at zero like the online ones
    mu = np.full(seeds, task.best_action if arm == "fixed actor" else task.start_action)
    target_mu = mu.copy()
    fitted_rewards = np.einsum("kcpn,kn->kcp", critics.hat, critics.rewards)  # each critic's fit of the rewards
    out = {name: [] for name in ToyRun._fields[1:]}
    for t in range(1, updates + 1):
        next_q = value(target_weights, target_mu)  # both target critics at the target actor's action
        bootstrap = next_q.min(axis=1) if twin else next_q[:, 0]
        targets = critics.rewards + task.gamma * bootstrap[:, None]  # the same targets for both critics
        weights = np.einsum("kcpn,kn->kcp", critics.hat, targets)  # the critic step, solved exactly
        if arm != "fixed actor":  # the actor step: one gradient step up the first critic
            grad = np.einsum("kp,kp->k", weights[:, 0], slopes(task, critics.centres[:, 0], mu[:, None])[:, 0])
            mu = np.clip(mu + task.actor_step * grad, -1.0, 1.0)
        target_weights = task.tau * weights + (1 - task.tau) * target_weights
        target_mu = task.tau * mu + (1 - task.tau) * target_mu
        if t in checkpoints:
            # With the actor held at mu, the critics settle where Q_j(mu) = r_hat_j(mu) + gamma * b, b being the
            # bootstrap value: Q_1(mu) for one critic, min_j Q_j(mu) for two. So b = min_j r_hat_j(mu) / (1 - gamma)
            # with two critics, and r_hat_1(mu) / (1 - gamma) with one.
            r_hat = value(fitted_rewards, mu)
            b = (r_hat.min(axis=1) if twin else r_hat[:, 0]) / (1 - task.gamma)
            out["q"].append(value(weights, mu)[:, 0])
            out["fixed_point"].append(r_hat[:, 0] + task.gamma * b)
            out["true"].append(task.true_value(mu))
            out["action"].append(mu.copy())
    return ToyRun(np.array(sorted(checkpoints)), *(np.array(v) for v in out.values()))


def run_toy(task: ToyTask = ToyTask(), seeds=range(20), updates: int = 100_000, points: int = 40) -> dict[str, ToyRun]:
    """Every arm on every seed; measured at ``points`` log-spaced updates from 1 to ``updates``."""
    checkpoints = np.unique(np.geomspace(1, updates, points).round().astype(int))
    critics = make_critics(task, list(seeds))
    return {arm: run_arm(task, critics, arm, updates, set(checkpoints.tolist())) for arm in ARMS}
