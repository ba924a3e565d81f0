"""One evaluation protocol for every notebook: the noise-free policy, fixed reset seeds."""

from __future__ import annotations

from typing import Callable

import numpy as np

from helpers.envs import EnvFactory

EVAL_SEED = 10_000
"""Episode i of every evaluation starts from ``env.reset(seed=EVAL_SEED + i)``.

The same start states for every training seed and every checkpoint make
evaluations comparable; they are far from the seeds used for training."""

Policy = Callable[[np.ndarray], np.ndarray]
"""Maps a batch of observations (n, obs_dim) to a batch of actions (n, action_dim)."""


AT_BOUND = 0.02
"""An action component is *at a bound* when it lies within this fraction of the half-range of ``low`` or
``high`` (see ``share_at_bounds``)."""


class Evaluator:
    """Runs ``episodes`` evaluation episodes side by side, for one policy or a group of them.

    Its envs are made once and reset from the same fixed seeds at every call,
    so repeated evaluations during training cost no env construction. Each call
    also leaves ``share_at_bounds``: per policy, the share of its actions that
    sat at a bound of the action box (see ``share_at_bounds``).
    """

    def __init__(self, env_fn: EnvFactory, episodes: int = 10, group_size: int = 1, seed: int = EVAL_SEED,
                 tolerance: float = AT_BOUND):
        if episodes <= 0:
            raise ValueError(f"episodes must be positive, got {episodes}")
        self.episodes, self.group_size, self.seed, self.tolerance = episodes, group_size, seed, tolerance
        self.envs = [env_fn() for _ in range(group_size * episodes)]
        self.share_at_bounds = np.full(group_size, np.nan)

    def __call__(self, policy: Policy) -> np.ndarray:
        """Undiscounted returns, shape (group_size, episodes).

        ``policy`` receives observations of shape (group_size, episodes, obs_dim),
        one row per policy, and returns actions of shape (group_size, episodes,
        action_dim): one call per time step serves every episode of every policy.
        """
        g, e = self.group_size, self.episodes
        low, high = self.envs[0].action_space.low, self.envs[0].action_space.high
        margin = self.tolerance * (high - low) / 2
        at_bound, counted = np.zeros(g * e), np.zeros(g * e)

        def count_bounds(actions, running):  # only the steps of episodes still running count
            nonlocal at_bound, counted
            at_bound += running * ((actions <= low + margin) | (actions >= high - margin)).mean(axis=-1)
            counted += running

        returns = rollout(self.envs, reset_to_eval_starts(self.envs, e, self.seed), policy, g, watch=count_bounds)
        self.share_at_bounds = at_bound.reshape(g, e).sum(axis=1) / counted.reshape(g, e).sum(axis=1)
        return returns.reshape(g, e)

    def close(self) -> None:
        for env in self.envs:
            env.close()


def reset_to_eval_starts(envs: list, episodes: int, seed: int) -> np.ndarray:
    """Reset env i to evaluation start ``i % episodes`` (``env.reset(seed=seed + i % episodes)``): observations
    (len(envs), obs_dim)."""
    return np.stack([env.reset(seed=seed + i % episodes)[0] for i, env in enumerate(envs)]).astype(np.float32)


def rollout(envs: list, obs: np.ndarray, group_policy, group_size: int, gamma: float = 1.0,
            max_steps: int | None = None, through_time_limit: bool = False, watch=None) -> np.ndarray:
    """Run every env from ``obs`` until its episode ends, all side by side; returns each env's (discounted) return.

    The envs are ``group_size`` blocks, one per policy of the group: ``group_policy`` maps observations
    (group_size, n, obs_dim) to actions (group_size, n, action_dim), clipped to the action box here. With
    ``through_time_limit`` a time limit's ``truncated`` does not end an episode (only ``terminated`` does) and
    ``max_steps`` caps it. ``watch(actions, running)`` sees every step's actions before they are taken. ``obs``
    is updated in place.
    """
    low, high = envs[0].action_space.low, envs[0].action_space.high
    returns, discount, steps = np.zeros(len(envs)), 1.0, 0
    running = np.ones(len(envs), dtype=bool)
    while running.any() and (max_steps is None or steps < max_steps):
        actions = np.clip(np.asarray(group_policy(obs.reshape(group_size, -1, obs.shape[-1])))
                          .reshape(len(envs), -1), low, high)
        if watch is not None:
            watch(actions, running)
        for i in np.flatnonzero(running):  # an ended episode takes no more actions
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += discount * reward
            running[i] = not (terminated or (truncated and not through_time_limit))
        discount *= gamma
        steps += 1
    return returns


def evaluate(policy: Policy, env_fn: EnvFactory, episodes: int = 10, seed: int = EVAL_SEED) -> np.ndarray:
    """Return the undiscounted return of each of ``episodes`` episodes of one policy.

    The episodes run side by side, one env each, so the policy is called once
    per time step for all of them; that makes a 100-episode evaluation cost
    about as many policy calls as a single episode.
    """
    evaluator = Evaluator(env_fn, episodes, 1, seed)
    try:
        return evaluator(lambda obs: np.asarray(policy(obs[0]))[None])[0]
    finally:
        evaluator.close()


def evaluate_group(agent, env_fn: EnvFactory, episodes: int = 10, seed: int = EVAL_SEED) -> np.ndarray:
    """Returns of every seed of a group agent (one with ``act_group``), shape (group_size, episodes)."""
    evaluator = Evaluator(env_fn, episodes, agent.group_size, seed)
    try:
        return evaluator(agent.act_group)
    finally:
        evaluator.close()


def group_share_at_bounds(agent, env_fn: EnvFactory, episodes: int = 10, tolerance: float = AT_BOUND,
                          seed: int = EVAL_SEED) -> np.ndarray:
    """``share_at_bounds`` for every seed of a group agent (one with ``act_group``) at once, shape (group_size,)."""
    return _share_at_bounds(agent.act_group, env_fn, episodes, agent.group_size, tolerance, seed)


def share_at_bounds(policy: Policy, env_fn: EnvFactory, episodes: int = 10, tolerance: float = AT_BOUND,
                    seed: int = EVAL_SEED) -> float:
    """The share of a policy's evaluation actions that sit at a bound of the action box.

    An action component counts when it is within ``tolerance`` of the half-range from ``low`` or ``high``.
    A tanh actor that has collapsed onto a bound scores 1.0: its tanh is saturated, its gradient vanishes,
    and the actor loss can no longer move it. Evaluated with the same protocol (starts, noise-free policy)
    as ``evaluate``; only the steps of episodes still running count.
    """
    return float(_share_at_bounds(lambda obs: np.asarray(policy(obs[0]))[None], env_fn, episodes, 1, tolerance,
                                  seed)[0])


def _share_at_bounds(group_policy, env_fn, episodes, group_size, tolerance, seed) -> np.ndarray:
    evaluator = Evaluator(env_fn, episodes, group_size, seed, tolerance)
    try:
        evaluator(group_policy)
    finally:
        evaluator.close()
    return evaluator.share_at_bounds


def q_against_return(agent, env_fn: EnvFactory, episodes: int = 5, steps: int = 600,
                     seed: int = EVAL_SEED) -> tuple[np.ndarray, np.ndarray]:
    """How well each seed's critic knows its own policy: Q(s0, mu(s0)) next to the discounted return.

    For every seed of ``agent`` and each of the first ``episodes`` evaluation starts s0, it returns the
    critic's estimate Q(s0, mu(s0)) and the discounted return (the agent's gamma) that the noise-free
    policy actually collects from s0, both of shape (group, episodes). The rollout steps on past the
    time limit (its ``truncated`` is ignored), so it does not cut the episode: the critic values an episode
    that continues, because training bootstraps through truncation. A termination ends it. After ``steps`` steps the
    rest weighs gamma ** steps (0.0024 for gamma = 0.99 and 600 steps). Q above the return is
    overestimation (Fujimoto et al., 2018, Figure 1).
    """
    g, e = agent.group_size, episodes
    envs = [env_fn() for _ in range(g * e)]
    try:
        obs = reset_to_eval_starts(envs, e, seed)
        q = agent.q_group(obs.reshape(g, e, -1))
        # The time limit's `truncated` is ignored: stepping on past it continues the same episode.
        returns = rollout(envs, obs, agent.act_group, g, agent.config.gamma, steps, through_time_limit=True)
    finally:
        for env in envs:
            env.close()
    return q, returns.reshape(g, e)


class OverestimationTracker:
    """``on_step`` callback for ``helpers.loop.train_group``: every ``every`` env steps it records
    ``q_against_return`` for the whole group. After training, ``steps`` lists when, and ``q`` and
    ``returns`` have shape (checkpoints, group, episodes)."""

    def __init__(self, env_fn: EnvFactory, every: int, episodes: int = 5, horizon: int = 600):
        self.env_fn, self.every, self.episodes, self.horizon = env_fn, every, episodes, horizon
        self.steps: list[int] = []
        self._q: list[np.ndarray] = []
        self._returns: list[np.ndarray] = []

    def __call__(self, step: int, agent) -> None:
        if step % self.every == 0:
            q, returns = q_against_return(agent, self.env_fn, self.episodes, self.horizon)
            self.steps.append(step)
            self._q.append(q)
            self._returns.append(returns)

    @property
    def q(self) -> np.ndarray:
        return np.array(self._q)

    @property
    def returns(self) -> np.ndarray:
        return np.array(self._returns)

    def bias(self) -> np.ndarray:
        """Q minus return, averaged over the starts: shape (checkpoints, group); above 0 is overestimation."""
        return (self.q - self.returns).mean(axis=-1)
