"""Notebook 08's pieces for the MuJoCo walkers: published reference numbers, reference policies, the stored actors,
and what a walker's return is made of.

The published numbers live in ``results/published/`` (their sources and protocols in ``mujoco_ddpg_td3.md``):
the TD3 paper's own per-seed learning curves (``td3_paper_curves.json``) and other benchmarks' means and standard
deviations at 200,000 and 300,000 steps (``at_200k_300k.json``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from helpers.envs import make_env
from helpers.evaluation import EVAL_SEED, Policy, evaluate, reset_to_eval_starts

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = ROOT / "results" / "published"

REWARD_PARTS = ("reward_forward", "reward_ctrl", "reward_survive")
"""The terms of a gymnasium MuJoCo walker's reward, as its ``info`` reports them each step (HalfCheetah has no
survival term): forward velocity, minus the control cost, plus a constant for every step the walker stays up."""


def task_family(env_id: str) -> str:
    """``"Hopper-v5"`` -> ``"Hopper"``: the task under every version."""
    return env_id.split(":")[-1].rsplit("-v", 1)[0]


def paper_curves(env_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The TD3 paper's learning curves of the same task (its v1 version): steps, and returns (seeds, evaluations)."""
    data = json.loads((PUBLISHED / "td3_paper_curves.json").read_text())
    for version, curves in data["tasks"].items():
        if task_family(version) == task_family(env_id):
            return np.array(curves["steps"]), np.array(curves["per_seed"])
    raise KeyError(f"the TD3 paper's curves do not include {task_family(env_id)}")


def published_at(env_id: str, steps: int) -> list[dict]:
    """Other benchmarks' results on the same task at ``steps``: dicts with source, algorithm, task (their version),
    seeds, mean, sd (over seeds) and approximate (read off a plot)."""
    data = json.loads((PUBLISHED / "at_200k_300k.json").read_text())
    return [{**{k: r[k] for k in ("source", "algorithm", "task", "seeds", "approximate")},
             "mean": r["at"][str(steps)][0], "sd": r["at"][str(steps)][1]}
            for r in data["results"] if task_family(r["task"]) == task_family(env_id) and str(steps) in r["at"]]


def walker_references(env_id: str, episodes: int = 10) -> dict[str, float]:
    """Mean returns on the first ``episodes`` evaluation starts: doing nothing (all torques 0), every joint pushed
    to the upper or to the lower bound (what a saturated actor does), and uniform random actions."""
    env = make_env(env_id)
    low, high = env.action_space.low, env.action_space.high
    env.close()
    rng = np.random.default_rng(0)

    def constant(value):
        return lambda obs: np.broadcast_to(value, (len(obs), len(low))).astype(np.float32)

    def random_policy(obs):
        return rng.uniform(low, high, (len(obs), len(low))).astype(np.float32)

    policies = {"do nothing": constant(np.zeros_like(low)), "all joints at +bound": constant(high),
                "all joints at -bound": constant(low), "random actions": random_policy}
    return {name: float(evaluate(policy, lambda: make_env(env_id), episodes).mean())
            for name, policy in policies.items()}


def reward_parts(policy: Policy, env_id: str, episodes: int = 10, noise: float = 0.0, seed: int = 0,
                 start_seed: int = EVAL_SEED) -> dict[str, np.ndarray]:
    """Run ``policy`` (observations (n, obs_dim) -> actions) for ``episodes`` episodes from the evaluation starts,
    side by side, with Gaussian action noise of standard deviation ``noise`` (a share of the half-range), and
    add up each episode's reward terms (``REWARD_PARTS``). Returns per episode: ``return``, each term present,
    ``steps``, ``distance`` (the x position at the end minus at the start) and ``largest_reward`` (its largest
    one-step reward, for the bound on what a critic may predict)."""
    envs = [make_env(env_id) for _ in range(episodes)]
    low, high = envs[0].action_space.low, envs[0].action_space.high
    rng = np.random.default_rng(seed)
    obs = reset_to_eval_starts(envs, episodes, start_seed)
    start_x = np.array([env.unwrapped.data.qpos[0] for env in envs])
    totals = {"return": np.zeros(episodes), "steps": np.zeros(episodes, int),
              "largest_reward": np.full(episodes, -np.inf)}
    running, end_x = np.ones(episodes, bool), start_x.copy()
    while running.any():
        actions = np.asarray(policy(obs), np.float64)
        actions = np.clip(actions + noise * (high - low) / 2 * rng.standard_normal(actions.shape), low, high)
        for i in np.flatnonzero(running):
            obs[i], reward, terminated, truncated, info = envs[i].step(actions[i].astype(np.float32))
            totals["return"][i] += reward
            totals["largest_reward"][i] = max(totals["largest_reward"][i], reward)
            totals["steps"][i] += 1
            for part in REWARD_PARTS:
                if part in info:
                    totals.setdefault(part, np.zeros(episodes))[i] += info[part]
            end_x[i] = info["x_position"]
            running[i] = not (terminated or truncated)
    for env in envs:
        env.close()
    return {**totals, "distance": end_x - start_x}
