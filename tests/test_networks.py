import keras
import numpy as np
import pytest

from helpers.networks import FINAL_INIT, build_actor, build_critic


@pytest.mark.parametrize(
    "low, high",
    [([-2.0], [2.0]), ([-1.0], [1.0]), ([0.0], [5.0]), ([-0.5, 0.0, -3.0], [0.5, 1.0, -1.0])],
)
def test_actor_outputs_stay_inside_the_bounds(low, high):
    keras.utils.set_random_seed(0)
    actor = build_actor(4, low, high, hidden_sizes=(32, 32))
    # Blow up the last layer so tanh saturates: outputs must reach but not cross the bounds.
    last = actor.get_layer("tanh")
    last.kernel.assign(last.kernel * 1e4)
    obs = np.random.default_rng(0).normal(scale=10, size=(2000, 4)).astype(np.float32)
    actions = actor(obs, training=False).numpy()
    assert actions.shape == (2000, len(low))
    assert np.all(actions >= np.array(low, np.float32) - 1e-6)
    assert np.all(actions <= np.array(high, np.float32) + 1e-6)
    # Both ends of the box are reached, so the scaling uses the full range.
    np.testing.assert_allclose(actions.min(axis=0), low, atol=1e-3)
    np.testing.assert_allclose(actions.max(axis=0), high, atol=1e-3)


def test_untrained_actor_starts_near_the_centre_of_the_box():
    actor = build_actor(3, [0.0], [4.0])
    obs = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    assert np.all(np.abs(actor(obs).numpy() - 2.0) < 0.2)
    kernel = actor.get_layer("tanh").kernel.numpy()
    assert np.all(np.abs(kernel) <= FINAL_INIT)


def test_bad_bounds_raise():
    with pytest.raises(ValueError, match="high > low"):
        build_actor(3, [1.0], [-1.0])
    with pytest.raises(ValueError, match="finite"):
        build_actor(3, [-np.inf], [np.inf])


def test_critic_shape_and_where_the_action_joins():
    critic = build_critic(3, 2, hidden_sizes=(16, 8))  # default: with the observation, at the input
    q = critic([np.zeros((5, 3), np.float32), np.zeros((5, 2), np.float32)])
    assert q.shape == (5, 1)
    assert critic.get_layer("dense_0").kernel.shape == (3 + 2, 16)
    assert np.all(np.abs(critic.get_layer("q").kernel.numpy()) <= FINAL_INIT)
    paper = build_critic(3, 2, hidden_sizes=(16, 8), action_input="hidden")  # the DDPG paper: second layer
    assert paper.get_layer("dense_0").kernel.shape == (3, 16)
    assert paper.get_layer("dense_1").kernel.shape == (16 + 2, 8)
    with pytest.raises(ValueError, match="action_input"):
        build_critic(3, 2, action_input="output")


def names(model, kind):
    return [layer.name for layer in model.layers if isinstance(layer, kind)]


def test_batch_norm_variant_places_layers_as_in_the_paper():
    actor = build_actor(3, [-1.0], [1.0], hidden_sizes=(8, 8), normalization="batch")
    critic = build_critic(3, 1, hidden_sizes=(8, 8, 8), normalization="batch", action_input="hidden")
    bn = keras.layers.BatchNormalization
    assert names(actor, bn) == ["bn_obs", "bn_0", "bn_1"]
    assert names(critic, bn) == ["bn_obs", "bn_0"]  # none after the action joins
    joined_first = build_critic(3, 1, hidden_sizes=(8, 8), normalization="batch")
    assert names(joined_first, bn) == ["bn_obs", "bn_0", "bn_1"]
    assert not names(build_actor(3, [-1.0], [1.0]), bn) and not names(build_critic(3, 1), bn)


def test_layer_norm_variant_normalizes_hidden_layers_only():
    actor = build_actor(3, [-1.0], [1.0], hidden_sizes=(8, 8), normalization="layer")
    critic = build_critic(3, 1, hidden_sizes=(8, 8, 8), normalization="layer")
    ln = keras.layers.LayerNormalization
    assert names(actor, ln) == ["ln_0", "ln_1"] and names(critic, ln) == ["ln_0", "ln_1", "ln_2"]
    assert not names(actor, keras.layers.BatchNormalization)
    with pytest.raises(ValueError, match="normalization"):
        build_actor(3, [-1.0], [1.0], normalization="group")


def test_batch_norm_modes_differ():
    keras.utils.set_random_seed(0)
    actor = build_actor(2, [-1.0], [1.0], hidden_sizes=(8,), normalization="batch")
    obs = np.random.default_rng(0).normal(loc=50, scale=5, size=(64, 2)).astype(np.float32)
    # training=True normalizes with the batch, training=False with the running statistics.
    assert not np.allclose(actor(obs, training=True).numpy(), actor(obs, training=False).numpy())


@pytest.mark.parametrize("action_input", ["input", "hidden"])
def test_batch_input_normalizes_the_observation_and_nothing_else(action_input):
    actor = build_actor(3, [-2.0], [2.0], hidden_sizes=(16, 16), normalization="batch_input")
    critic = build_critic(3, 1, hidden_sizes=(16, 16), normalization="batch_input", action_input=action_input)
    for model in (actor, critic):
        norms = [layer.name for layer in model.layers if "norm" in type(layer).__name__.lower()]
        assert norms == ["bn_obs"]
