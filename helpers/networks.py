"""Builders for the DDPG actor mu(s) and critic Q(s, a), as Keras functional models.

The networks know nothing of the learning rule; that lives in ``helpers.agent``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from helpers.backend import keras
from helpers.config import CRITIC_ACTION_INPUTS, NORMALIZATIONS

layers = keras.layers

FINAL_INIT = 3e-3
"""Half-width of the uniform init of both output layers (DDPG paper, section 7)."""


class ScaleToBounds(layers.Layer):
    """Maps a tanh output in [-1, 1] affinely onto the box [low, high].

    The bounds come from ``env.action_space`` and may differ per dimension;
    multiplying by ``high`` alone would be wrong whenever ``low != -high``.
    """

    def __init__(self, low: Sequence[float], high: Sequence[float], **kwargs):
        super().__init__(**kwargs)
        self.low = np.asarray(low, dtype=np.float32)
        self.high = np.asarray(high, dtype=np.float32)
        if self.low.shape != self.high.shape or not np.all(self.high > self.low):
            raise ValueError(f"action bounds need high > low elementwise, got low={low}, high={high}")
        if not (np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high))):
            raise ValueError("action bounds must be finite for a tanh actor")
        self.center = (self.high + self.low) / 2.0
        self.half_range = (self.high - self.low) / 2.0

    def call(self, x):
        return self.center + self.half_range * x

    def get_config(self):
        return {**super().get_config(), "low": self.low.tolist(), "high": self.high.tolist()}


def _normalize(x, kind: str, name: str):
    """Batch norm ("batch"), layer norm ("layer") or nothing ("none", "batch_input") applied to a hidden layer x."""
    if kind == "batch":
        return layers.BatchNormalization(name=f"bn_{name}")(x)
    if kind == "layer":
        return layers.LayerNormalization(name=f"ln_{name}")(x)
    if kind in ("none", "batch_input"):  # "batch_input" normalizes the observation only
        return x
    raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")


def _final_init(seed: int | None) -> keras.initializers.Initializer:
    return keras.initializers.RandomUniform(-FINAL_INIT, FINAL_INIT, seed=seed)


def build_actor(
    obs_dim: int,
    action_low: Sequence[float],
    action_high: Sequence[float],
    hidden_sizes: Sequence[int] = (256, 256),
    normalization: str = "none",
    seed: int | None = None,
    name: str = "actor",
) -> keras.Model:
    """mu(s): observation -> action inside [action_low, action_high].

    ``normalization="batch"`` normalizes the observation and every hidden layer,
    as in the DDPG paper. Call the model with ``training=False`` to act and to
    compute targets: that uses the running statistics, not the current batch.
    ``"layer"`` puts layer norm on every hidden layer; it has no running
    statistics, and it is not applied to the raw observation, where averaging
    over a handful of unrelated components would erase their scales.
    ``"batch_input"`` batch-normalizes the observation only, to separate the
    input rescaling from the normalization of hidden layers.
    """
    action_dim = len(np.atleast_1d(action_low))
    obs = keras.Input(shape=(obs_dim,), name="observation")
    x = _normalize(obs, "batch", "obs") if normalization in ("batch", "batch_input") else obs
    for i, units in enumerate(hidden_sizes):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        x = _normalize(x, normalization, str(i))
        x = layers.Activation("relu", name=f"relu_{i}")(x)
    # A tiny final layer keeps the first actions near the centre of the box,
    # where tanh is not saturated and its gradient is not vanishing.
    x = layers.Dense(action_dim, activation="tanh", kernel_initializer=_final_init(seed), name="tanh")(x)
    action = ScaleToBounds(np.atleast_1d(action_low), np.atleast_1d(action_high), name="scale")(x)
    return keras.Model(obs, action, name=name)


def build_critic(
    obs_dim: int,
    action_dim: int,
    hidden_sizes: Sequence[int] = (256, 256),
    normalization: str = "none",
    action_input: str = "input",
    seed: int | None = None,
    name: str = "critic",
) -> keras.Model:
    """Q(s, a): (observation, action) -> one scalar per row, shape (batch, 1).

    ``action_input="input"`` concatenates the action with the observation
    before the first layer (as TD3, Stable-Baselines3 and CleanRL do);
    ``"hidden"`` lets the action join at the second hidden layer, as in the
    DDPG paper. With ``normalization="batch"`` the observation is normalized,
    and so is the layer before the action input in the paper's placement (or
    every hidden layer with ``"input"``); ``"batch_input"`` the observation only;
    ``"layer"`` normalizes every hidden layer.
    """
    if action_input not in CRITIC_ACTION_INPUTS:
        raise ValueError(f"action_input must be one of {CRITIC_ACTION_INPUTS}, got {action_input!r}")
    obs = keras.Input(shape=(obs_dim,), name="observation")
    action = keras.Input(shape=(action_dim,), name="action")
    x = _normalize(obs, "batch", "obs") if normalization in ("batch", "batch_input") else obs
    if action_input == "input":
        x = layers.Concatenate(name="join_action")([x, action])
    for i, units in enumerate(hidden_sizes):
        x = layers.Dense(units, name=f"dense_{i}")(x)
        # The paper normalizes only the layer before the action joins; no normalization after it.
        paper_after_join = action_input == "hidden" and normalization == "batch" and i > 0
        x = _normalize(x, "none" if paper_after_join else normalization, str(i))
        x = layers.Activation("relu", name=f"relu_{i}")(x)
        if action_input == "hidden" and i == 0:
            x = layers.Concatenate(name="join_action")([x, action])
    q = layers.Dense(1, kernel_initializer=_final_init(seed), name="q")(x)
    return keras.Model([obs, action], q, name=name)
