import numpy as np
import pytest

from helpers.buffer import ReplayBuffer, ReplayBufferSamples


def filled(capacity, n):
    buffer = ReplayBuffer(capacity, obs_dim=3, action_dim=2, rng=np.random.default_rng(0))
    for i in range(n):
        buffer.add(np.full(3, i), np.full(2, i), float(i), np.full(3, i + 1), terminated=(i % 2 == 0))
    return buffer


def test_wraps_around_and_overwrites_the_oldest():
    buffer = filled(capacity=5, n=8)
    assert len(buffer) == 5 and buffer.pos == 3
    # slots 0..2 now hold transitions 5, 6, 7; slots 3, 4 still hold 3, 4
    assert buffer.rewards.tolist() == [5, 6, 7, 3, 4]
    assert buffer.observations[:, 0].tolist() == [5, 6, 7, 3, 4]
    assert buffer.next_observations[:, 0].tolist() == [6, 7, 8, 4, 5]


def test_sample_shapes_and_dtypes():
    buffer = filled(capacity=100, n=50)
    batch = buffer.sample(32)
    assert isinstance(batch, ReplayBufferSamples)
    assert batch.observations.shape == (32, 3) and batch.next_observations.shape == (32, 3)
    assert batch.actions.shape == (32, 2)
    assert batch.rewards.shape == (32,) and batch.terminated.shape == (32,)
    assert all(field.dtype == np.float32 for field in batch)
    stack = buffer.sample(16, n_batches=4)
    assert stack.observations.shape == (4, 16, 3) and stack.rewards.shape == (4, 16)


def test_samples_only_filled_slots_and_keeps_transitions_whole():
    buffer = filled(capacity=100, n=10)
    batch = buffer.sample(500)
    assert batch.rewards.max() <= 9
    np.testing.assert_array_equal(batch.observations[:, 0], batch.rewards)
    np.testing.assert_array_equal(batch.next_observations[:, 0], batch.rewards + 1)
    np.testing.assert_array_equal(batch.terminated, (batch.rewards % 2 == 0).astype(np.float32))


def test_same_seed_same_samples():
    a, b = filled(100, 50), filled(100, 50)
    np.testing.assert_array_equal(a.sample(64).rewards, b.sample(64).rewards)


def test_empty_buffer_and_bad_capacity():
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(10, 1, 1, np.random.default_rng(0)).sample(4)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, 1, 1, np.random.default_rng(0))
