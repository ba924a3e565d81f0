"""Checkpoints of a group run: everything an exact continuation needs, so that a long run survives an interruption.

``train_group(config, ..., checkpoint=Checkpointing(folder, every))`` writes ``folder/checkpoint.pkl`` every
``every`` env steps (a multiple of ``config.update_every``, so that no update is owed at that moment), through a
temporary file, so an interruption never leaves half a checkpoint. ``train_group(config, resume=folder)`` continues
from it and ends with the same numbers as a run that was never interrupted (``tests/test_checkpoint.py``).

What is saved: the agent's state (networks, Adam memories, TD3's switches and counters, which seeds are frozen), its
own random streams (TD3's smoothing noise), every seed's replay buffer with its sampling stream, the explorer's
noise and random streams, every env's exact state, the current observations, and the run's records so far. A
MuJoCo env is saved through MuJoCo's own integration state (``mj_getState``), its random streams and its time
limit's step count; any other env is pickled whole.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

FILE = "checkpoint.pkl"


class Checkpointing(NamedTuple):
    """Where and how often ``train_group`` saves its run."""

    folder: Path
    every: int
    """Env steps between checkpoints; a multiple of ``config.update_every``."""
    meta: dict | None = None
    """Anything the caller wants back on resuming (the command line writes its arguments here)."""

    def check(self, update_every: int) -> None:
        if self.every <= 0 or self.every % update_every:
            raise ValueError(f"checkpoints every {self.every} env steps: that must be a positive multiple of "
                             f"update_every ({update_every}), so that no update is owed at a checkpoint")


class Position(NamedTuple):
    """Where the loop stands: the last env step taken, the last step whose update ran, and the observations."""

    step: int
    last_update: int
    obs: np.ndarray | None


def _time_limit(env):
    import gymnasium as gym

    while hasattr(env, "env"):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = env.env
    return None


def env_state(env) -> dict:
    """Everything needed to put a fresh env of the same kind exactly where ``env`` is."""
    inner = env.unwrapped
    if not hasattr(inner, "mujoco_renderer"):
        try:
            return {"pickled": pickle.dumps(env)}
        except Exception as exc:  # a lambda in a wrapper, an open file, ...
            raise ValueError(f"this env cannot be checkpointed: {exc}") from None
    import mujoco

    kind = mujoco.mjtState.mjSTATE_INTEGRATION
    state = np.empty(mujoco.mj_stateSize(inner.model, kind))
    mujoco.mj_getState(inner.model, inner.data, state, kind)
    limit = _time_limit(env)
    return {"mujoco": state, "rng": copy.deepcopy(inner.np_random.bit_generator.state),
            "space_rng": copy.deepcopy(env.action_space.np_random.bit_generator.state),
            "elapsed": limit._elapsed_steps if limit is not None else None}


def restore_env(state: dict, env_fn):
    """An env in the state ``env_state`` saved: unpickled, or a fresh MuJoCo env from ``env_fn`` set to it."""
    if "pickled" in state:
        return pickle.loads(state["pickled"])
    import mujoco

    env = env_fn()
    env.reset(seed=0)  # sets up the wrappers' bookkeeping; everything it draws is overwritten below
    inner = env.unwrapped
    mujoco.mj_setState(inner.model, inner.data, state["mujoco"], mujoco.mjtState.mjSTATE_INTEGRATION)
    inner.np_random.bit_generator.state = state["rng"]
    env.action_space.np_random.bit_generator.state = state["space_rng"]
    limit = _time_limit(env)
    if limit is not None:
        limit._elapsed_steps = state["elapsed"]
    return env


def save(checkpointing: Checkpointing, position: Position, agent, buffers, explorer, envs, log) -> Path:
    """Write the whole run at ``position`` to ``checkpointing.folder/checkpoint.pkl``."""
    folder = Path(checkpointing.folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": checkpointing.meta or {},
        "position": position,
        "agent": {"seeds": list(agent.seeds), "state": [v.numpy() for v in _variables(agent)],
                  "training": agent.training.numpy(), "extra": agent.extra_state()},
        "buffers": buffers,
        "explorer": explorer.checkpoint_state(),
        "envs": [env_state(env) for env in envs.envs],
        "log": log.checkpoint_state(),
    }
    path, tmp = folder / FILE, folder / (FILE + ".tmp")
    tmp.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)
    return path


def load(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / FILE
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint in {folder} (expected {FILE})")
    return pickle.loads(path.read_bytes())


def restore_agent(agent, saved: dict) -> None:
    """Put ``saved`` (the ``agent`` entry of a checkpoint) into ``agent``, built with the same config and seeds."""
    if list(agent.seeds) != saved["seeds"]:
        raise ValueError(f"the checkpoint holds seeds {saved['seeds']}, the agent {list(agent.seeds)}")
    for variable, value in zip(_variables(agent), saved["state"]):
        variable.assign(value)
    agent.training.assign(saved["training"])
    agent.set_extra_state(saved["extra"])


def _variables(agent) -> list:
    from helpers.backend import tf

    return tf.nest.flatten(agent.state)
