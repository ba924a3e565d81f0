r"""Overestimation isolated: a task whose values are known exactly, a critic fitted to noisy rewards, an actor
that climbs it, with one critic or with TD3's clipped double-Q target, and a control that differs from each
climbing arm only in the selection (notebook 07).

**The task.** One state, to which every action returns; an action :math:`a \in [-1, 1]` earns
:math:`r(a) = r_0 - k (a - a^*)^2` plus Gaussian noise. A deterministic policy that always plays :math:`\mu` is
worth exactly :math:`Q^\mu(\mu) = r(\mu) / (1 - \gamma)`, so the error of a critic's :math:`\hat Q(\mu)` is known
exactly at every update.

**The learner**, DDPG's update with nothing but the essentials:

- a replay buffer of ``samples`` actions drawn uniformly, each with one noisy reward. *Offline* it never grows;
  *online* the actor's own action plus Gaussian exploration noise joins it every ``add_every`` updates, so the
  actor decides where the critic gets its data;
- a critic that is linear in Gaussian bumps (its own random centres per critic, as each of TD3's critics has its own
  random initial weights) plus a constant, fitted *exactly* at every update to the targets
  :math:`y_i = r_i + \gamma \bar Q(\bar\mu)` by ridge regression (the constant is not penalised), so no
  optimiser noise enters;
- an actor that takes one gradient-ascent step on :math:`\hat Q_1` per update, :math:`\mu \leftarrow
  \operatorname{clip}(\mu + \eta\, \partial \hat Q_1 / \partial a)`;
- target copies that follow by Polyak averaging with :math:`\tau`: the target critics start from zero weights, the
  target actor at the actor's start.

**Arms.** Two climbing arms, **one critic** (DDPG) and **clipped double-Q** (the target takes the smaller of two
target critics, the actor climbs the first, as in TD3), share each seed's buffer and exploration noise. Each has a
**replayed** control: the same critic or critics, the same buffer actions, but rewards with *fresh* noise, and an
actor that does not climb but replays the climbing arm's actions update by update. The control's critic is fitted
at the same actions from the same design, so its fit error has the same shrinkage; only its actor did not pick
those actions by looking at this noise. The paired difference, climbing minus replayed, is the maximization bias.

At every update the error :math:`\hat Q_1(\mu) - Q^\mu(\mu)` splits exactly into two parts. *Lag*: the critic's
value minus the value it would reach if the actor stopped where it is (its fixed point under the targets). *Fixed-point
bias*: that fixed point minus the true value. Lag comes from the zero start and the slow targets and dies out.

Two properties hold by construction, and the tests check them: with one state the bootstrap adds the same constant to
every action's target, so the actor climbs the same fitted reward with one critic or two and follows the same path;
and the minimum of two critics can only lower the fixed point. The experiment measures how large the effects are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from helpers.envs import rng as seeded_rng

ARMS = ("one critic", "clipped double-Q")
REPLAYED = " replayed"
"""Suffix of each climbing arm's control: ``"one critic replayed"``."""


@dataclass(frozen=True)
class ToyTask:
    """The one-state task, the buffer, the critic's features and the learning rates (the course's gamma and tau)."""

    best_action: float = 0.3
    base_reward: float = -1.0
    curvature: float = 2.0
    reward_noise: float = 0.3
    """Standard deviation of the noise on each stored reward."""
    samples: int = 40
    """Transitions in the replay buffer at the start (uniform actions)."""
    online: bool = False
    """Whether the actor's own actions join the buffer as it learns."""
    add_every: int = 500
    """Online: updates between two new transitions."""
    explore: float = 0.1
    """Online: standard deviation of the Gaussian exploration noise on the action that joins the buffer."""
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

    def capacity(self, updates: int) -> int:
        return self.samples + (updates // self.add_every if self.online else 0)


class Draws(NamedTuple):
    """Per seed, everything random, drawn once: the critics' bump centres, the first buffer actions, two streams
    of reward noise (one for the climbing arms, a fresh one for their replayed controls) and exploration noise."""

    centres: np.ndarray   # (seeds, 2, bumps)
    actions: np.ndarray   # (seeds, samples)
    noise: np.ndarray     # (seeds, capacity), standard normal
    fresh: np.ndarray     # (seeds, capacity), standard normal, independent of ``noise``
    explore: np.ndarray   # (seeds, capacity), standard normal


def draw(task: ToyTask, seeds, updates: int) -> Draws:
    """Each seed's random draws, from its own named streams (``helpers.envs.rng``)."""
    n, out = task.capacity(updates), {name: [] for name in Draws._fields}
    for seed in seeds:
        rng = seeded_rng(seed, "toy_critics")
        out["actions"].append(rng.uniform(-1.0, 1.0, task.samples))
        out["centres"].append(rng.uniform(-1.0, 1.0, (2, task.bumps)))
        for name in ("noise", "fresh", "explore"):
            out[name].append(seeded_rng(seed, f"toy_{name}").standard_normal(n))
    return Draws(**{name: np.array(v) for name, v in out.items()})


def features(task: ToyTask, centres: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """Gaussian bumps at ``centres`` (..., bumps) for ``actions`` (..., n), plus a constant: shape (..., n, bumps+1)."""
    bumps = np.exp(-0.5 * ((actions[..., :, None] - centres[..., None, :]) / task.bump_width) ** 2)
    return np.concatenate([bumps, np.ones_like(bumps[..., :1])], axis=-1)


def slopes(task: ToyTask, centres: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """d features / d action, same shape as ``features`` (the constant's slope is 0)."""
    phi = features(task, centres, actions)[..., :-1]
    slope = -phi * (actions[..., :, None] - centres[..., None, :]) / task.bump_width ** 2
    return np.concatenate([slope, np.zeros_like(slope[..., :1])], axis=-1)


def fit(task: ToyTask, centres: np.ndarray, actions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Each critic's ridge fit of ``targets`` (seeds, n) at ``actions`` (seeds, n): weights (seeds, 2, bumps + 1)."""
    phi = features(task, centres, np.repeat(actions[:, None, :], 2, axis=1))  # (seeds, 2, n, bumps+1)
    penalty = task.ridge * np.diag(np.r_[np.ones(task.bumps), 0.0])
    gram = np.einsum("kcnp,kcnq->kcpq", phi, phi) + penalty
    return np.linalg.solve(gram, np.einsum("kcnp,kn->kcp", phi, targets)[..., None])[..., 0]


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
    path: np.ndarray
    """The actor's action after every update, (updates, seeds): what a replayed control plays."""
    buffer: np.ndarray
    """The buffer's actions at the end, (seeds, capacity)."""

    @property
    def error(self) -> np.ndarray:
        return self.q - self.true

    @property
    def lag(self) -> np.ndarray:
        return self.q - self.fixed_point

    @property
    def fixed_point_bias(self) -> np.ndarray:
        return self.fixed_point - self.true


def run_arm(task: ToyTask, draws: Draws, arm: str, updates: int, checkpoints, replay: ToyRun | None = None) -> ToyRun:
    """Train one arm on every seed (vectorized over seeds) for ``updates`` updates; measure at ``checkpoints``.

    ``replay``: a climbing arm's run whose actions this arm plays instead of climbing (its buffer actions too),
    with the fresh reward noise: the control that differs from it only in the selection."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    twin, buffer = arm == "clipped double-Q", _Buffer(task, draws, updates, replay)
    fitted_rewards = buffer.fit()  # each critic's fit of the rewards; a fit of the targets adds gamma * b to it
    target_weights = np.zeros_like(fitted_rewards)  # target critics, starting at zero like the online ones
    mu = np.full(buffer.seeds, task.start_action)
    target_mu, path, out = mu.copy(), np.empty((updates, buffer.seeds)), []
    for t in range(1, updates + 1):
        next_q = _value(task, draws, target_weights, target_mu)  # both target critics at the target actor's action
        bootstrap = next_q.min(axis=1) if twin else next_q[:, 0]
        weights = fitted_rewards.copy()  # the critic step, solved exactly: with one state every target is
        weights[..., -1] += task.gamma * bootstrap[:, None]  # r_i + gamma * b, and the constant is fitted exactly
        if replay is None:  # the actor step: one gradient step up the first critic
            grad = np.einsum("kp,kp->k", weights[:, 0], slopes(task, draws.centres[:, 0], mu[:, None])[:, 0])
            mu = np.clip(mu + task.actor_step * grad, -1.0, 1.0)
        else:
            mu = replay.path[t - 1]
        path[t - 1] = mu
        target_weights = task.tau * weights + (1 - task.tau) * target_weights
        target_mu = task.tau * mu + (1 - task.tau) * target_mu
        if task.online and t % task.add_every == 0:  # the actor's own action, explored, joins the buffer
            fitted_rewards = buffer.grow(mu)
        if t in checkpoints:
            out.append(_measure(task, draws, weights, fitted_rewards, mu, twin))
    return ToyRun(np.array(sorted(checkpoints)), *(np.array(v) for v in zip(*out)), path, buffer.actions)


class _Buffer:
    """A toy arm's replay buffer: its actions (its own, or a replayed arm's), and rewards drawn with its noise."""

    def __init__(self, task: ToyTask, draws: Draws, updates: int, replay: ToyRun | None):
        self.task, self.draws, self.replay, self.n = task, draws, replay, task.samples
        self.seeds = draws.actions.shape[0]
        self.noise = draws.noise if replay is None else draws.fresh
        self.actions = replay.buffer.copy() if replay is not None else np.concatenate(
            [draws.actions, np.zeros((self.seeds, task.capacity(updates) - task.samples))], axis=1)

    def fit(self) -> np.ndarray:
        rewards = self.task.reward(self.actions[:, : self.n]) + self.task.reward_noise * self.noise[:, : self.n]
        return fit(self.task, self.draws.centres, self.actions[:, : self.n], rewards)

    def grow(self, mu: np.ndarray) -> np.ndarray:
        """Add the actor's action plus exploration noise (a replayed arm adds what its arm added); refit."""
        if self.replay is None:
            self.actions[:, self.n] = np.clip(mu + self.task.explore * self.draws.explore[:, self.n], -1.0, 1.0)
        self.n += 1
        return self.fit()


def _value(task: ToyTask, draws: Draws, weights: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Each critic's Q at each seed's action: (seeds, 2)."""
    return np.einsum("kcp,kcp->kc", weights, features(task, draws.centres, action[:, None, None])[:, :, 0])


def _measure(task, draws, weights, fitted_rewards, mu, twin):
    """Q_1(mu), its fixed point, the true value and the action.

    With the actor held at mu, the critics settle where Q_j(mu) = r_hat_j(mu) + gamma * b, b being the bootstrap
    value: Q_1(mu) for one critic, min_j Q_j(mu) for two. So b = min_j r_hat_j(mu) / (1 - gamma) with two critics,
    and r_hat_1(mu) / (1 - gamma) with one."""
    r_hat = _value(task, draws, fitted_rewards, mu)
    b = (r_hat.min(axis=1) if twin else r_hat[:, 0]) / (1 - task.gamma)
    return _value(task, draws, weights, mu)[:, 0], r_hat[:, 0] + task.gamma * b, task.true_value(mu), mu.copy()


def run_toy(task: ToyTask = ToyTask(), seeds=range(20), updates: int = 100_000, points: int = 40) -> dict[str, ToyRun]:
    """Both climbing arms and their replayed controls on every seed; measured at ``points`` log-spaced updates."""
    checkpoints = set(np.unique(np.geomspace(1, updates, points).round().astype(int)).tolist())
    draws, runs = draw(task, list(seeds), updates), {}
    for arm in ARMS:
        runs[arm] = run_arm(task, draws, arm, updates, checkpoints)
        runs[arm + REPLAYED] = run_arm(task, draws, arm, updates, checkpoints, replay=runs[arm])
    return runs
