"""The course's algorithms in one table: the name on the command line, the config class and the agent class.

The table imports no TensorFlow: an agent class is named by its module and imported when first asked for, so
the command line can check its arguments, and ``helpers.records`` can describe a run, without starting TF.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from helpers.config import DDPGConfig, DQNConfig, TD3Config


class Algorithm(NamedTuple):
    name: str
    """Its name on the command line (``--algo``) and in run folders."""
    config: type[DDPGConfig]
    """Its settings; a config of exactly this class asks for this algorithm."""
    agent: str
    """Its agent class, as ``module:Class``."""
    summary: str
    """One line for ``--help``."""


ALGORITHMS = {a.name: a for a in (
    Algorithm("ddpg", DDPGConfig, "helpers.agent:DDPGAgent", "DDPG"),
    Algorithm("td3", TD3Config, "helpers.td3:TD3Agent", "DDPG with TD3's three fixes"),
    Algorithm("dqn", DQNConfig, "helpers.dqn:DQNAgent", "DQN on a grid of actions (notebook 01's baseline)"),
)}


def algorithm_of(config: DDPGConfig) -> Algorithm:
    """The algorithm whose config class is exactly ``type(config)`` (a subclass is another algorithm)."""
    for algorithm in ALGORITHMS.values():
        if type(config) is algorithm.config:
            return algorithm
    raise TypeError(f"no algorithm takes a {type(config).__name__}; known: "
                    + ", ".join(a.config.__name__ for a in ALGORITHMS.values()))


def agent_class(config: DDPGConfig) -> type:
    """The agent class that ``config`` asks for, e.g. ``TD3Agent`` for a ``TD3Config``."""
    module, name = algorithm_of(config).agent.split(":")
    return getattr(importlib.import_module(module), name)
