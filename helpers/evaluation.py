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


def evaluate(policy: Policy, env_fn: EnvFactory, episodes: int = 10, seed: int = EVAL_SEED) -> np.ndarray:
    """Return the undiscounted return of each of ``episodes`` episodes.

    The episodes run side by side, one env each, so the policy is called once
    per time step for all of them; that makes a 100-episode evaluation cost
    about as many policy calls as a single episode.
    """
    if episodes <= 0:
        raise ValueError(f"episodes must be positive, got {episodes}")
    envs = [env_fn() for _ in range(episodes)]
    try:
        low, high = envs[0].action_space.low, envs[0].action_space.high
        obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)
        returns = np.zeros(episodes)
        running = np.ones(episodes, dtype=bool)
        while running.any():
            idx = np.flatnonzero(running)
            actions = np.clip(np.asarray(policy(obs[idx])), low, high)
            for row, i in enumerate(idx):
                obs[i], reward, terminated, truncated, _ = envs[i].step(actions[row])
                returns[i] += reward
                if terminated or truncated:
                    running[i] = False
        return returns
    finally:
        for env in envs:
            env.close()
