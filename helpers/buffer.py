"""Experience replay over preallocated float32 arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ReplayBufferSamples(NamedTuple):
    """A batch of transitions; every field has the batch size as its first axis."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray


class ReplayBuffer:
    """A ring buffer of fixed capacity that samples transitions uniformly.

    It stores ``terminated``, never ``terminated or truncated``. A time-limit
    truncation (Pendulum-v1 ends every episode this way after 200 steps) is
    not a terminal state: the pendulum would go on swinging, so the critic's
    target must still bootstrap from the next state.
    """

    def __init__(self, capacity: int, obs_dim: int, action_dim: int, rng: np.random.Generator):
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = int(capacity)
        self.rng = rng
        self.observations = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros((capacity,), dtype=np.float32)
        self.next_observations = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros((capacity,), dtype=np.float32)
        self.pos = 0  # where the next transition goes
        self.size = 0  # how many slots hold data

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition, overwriting the oldest one once the buffer is full.

        ``next_obs`` must be the observation returned by ``env.step``, even when
        the episode was truncated there (not the reset observation of the next episode).
        """
        i = self.pos
        self.observations[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_observations[i] = next_obs
        self.terminated[i] = float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample_indices(self, batch_size: int, n_batches: int | None = None) -> np.ndarray:
        """Uniform indices with replacement, shape (batch_size,) or (n_batches, batch_size)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        shape = (batch_size,) if n_batches is None else (n_batches, batch_size)
        return self.rng.integers(0, self.size, size=shape)

    def sample(self, batch_size: int, n_batches: int | None = None) -> ReplayBufferSamples:
        """Draw a batch, or with ``n_batches`` a stack of batches with a leading axis."""
        idx = self.sample_indices(batch_size, n_batches)
        return ReplayBufferSamples(
            self.observations[idx],
            self.actions[idx],
            self.rewards[idx],
            self.next_observations[idx],
            self.terminated[idx],
        )
