from dataclasses import replace

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.agent import DDPGAgent, soft_update
from helpers.buffer import ReplayBufferSamples
from helpers.config import DDPGConfig
from helpers.group import adam, adam_init

SMALL = replace(DDPGConfig(), hidden_sizes=(32, 32), batch_size=16)


def make_agent(config=SMALL, low=(-2.0,), high=(2.0,), obs_dim=3, seed=0):
    return DDPGAgent(obs_dim, low, high, replace(config, seed=seed))


def random_batches(n, batch=16, obs_dim=3, action_dim=1, seed=0, terminated=0.0):
    rng = np.random.default_rng(seed)
    f = lambda *shape: rng.normal(size=shape).astype(np.float32)
    return ReplayBufferSamples(
        f(n, batch, obs_dim), f(n, batch, action_dim), f(n, batch),
        f(n, batch, obs_dim), np.full((n, batch), terminated, np.float32),
    )


def weights(agent, name, index=0):
    return [w.numpy().copy() for w in agent.network(name, index).weights]


def test_targets_start_equal_and_adam_states_are_separate():
    agent = make_agent()
    for t, s in zip(weights(agent, "target_actor"), weights(agent, "actor")):
        np.testing.assert_array_equal(t, s)
    for t, s in zip(weights(agent, "target_critic"), weights(agent, "critic")):
        np.testing.assert_array_equal(t, s)
    state = agent.seed_state(0)
    assert len(state.actor_adam.m) == len(state.actor.trainable)
    assert len(state.critic_adam.m) == len(state.critic.trainable)


def test_adam_matches_keras_adam():
    """The hand-written Adam of the compiled update does what keras.optimizers.Adam does."""
    rng = np.random.default_rng(0)
    variables = [tf.Variable(rng.normal(size=(3, 2)).astype(np.float32)), tf.Variable(np.zeros(2, np.float32))]
    ours, state = [v.numpy() for v in variables], adam_init([v.numpy() for v in variables])
    optimizer = keras.optimizers.Adam(0.01)
    for _ in range(5):
        grads = [rng.normal(size=v.shape).astype(np.float32) for v in variables]
        optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
        ours, state = adam(ours, grads, state, 0.01)
    for mine, theirs in zip(ours, variables):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-7)


def test_soft_update_is_the_polyak_formula():
    target = [np.array([1.0, 2.0]), np.array([[0.0]])]
    source = [np.array([3.0, -2.0]), np.array([[10.0]])]
    new = soft_update(target, source, 0.25)
    np.testing.assert_allclose(new[0], [0.25 * 3 + 0.75 * 1, 0.25 * -2 + 0.75 * 2])
    np.testing.assert_allclose(new[1], [[2.5]])


def test_one_update_moves_targets_by_exactly_tau():
    agent = make_agent(replace(SMALL, tau=0.1))
    before = weights(agent, "target_actor") + weights(agent, "target_critic")
    agent.update(random_batches(1))
    online = weights(agent, "actor") + weights(agent, "critic")
    after = weights(agent, "target_actor") + weights(agent, "target_critic")
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))
    for new, old, theta in zip(after, before, online):
        np.testing.assert_allclose(new, 0.1 * theta + 0.9 * old, rtol=1e-6, atol=1e-7)


def test_truncated_is_bootstrapped_and_terminated_is_not():
    agent = make_agent()
    b = random_batches(1)
    reward, next_obs = b.rewards[0], tf.constant(b.next_observations[0])
    target_actor, target_critic = agent.network("target_actor"), agent.network("target_critic")
    next_q = target_critic([next_obs, target_actor(next_obs)]).numpy()[:, 0]
    state = agent.seed_state(0)
    # A truncated transition is stored with terminated = 0 and keeps gamma * Q'.
    y_truncated = agent.td_target(state, reward, next_obs, np.zeros_like(reward)).numpy()
    np.testing.assert_allclose(y_truncated, reward + SMALL.gamma * next_q, rtol=1e-5, atol=1e-6)
    # A terminated one has no future: the target is the reward alone.
    y_terminated = agent.td_target(state, reward, next_obs, np.ones_like(reward)).numpy()
    np.testing.assert_allclose(y_terminated, reward, rtol=1e-6)
    assert not np.allclose(y_truncated, y_terminated)


def test_updates_on_a_fixed_batch_lower_the_critic_loss():
    agent = make_agent()
    one = random_batches(1)
    same = ReplayBufferSamples(*[np.repeat(x, 200, axis=0) for x in one])
    stats = agent.update(same)
    assert len(stats.critic_loss) == 200
    assert stats.critic_loss[-20:].mean() < 0.5 * stats.critic_loss[:5].mean()


def test_actor_climbs_the_critic():
    agent = make_agent()
    one = random_batches(1)
    stats = agent.update(ReplayBufferSamples(*[np.repeat(x, 300, axis=0) for x in one]))
    obs, stored = tf.constant(one.observations[0]), tf.constant(one.actions[0])
    actor, critic = agent.network("actor"), agent.network("critic")
    q_policy = critic([obs, actor(obs)]).numpy().mean()
    q_stored = critic([obs, stored]).numpy().mean()
    # Minimizing -Q(s, mu(s)) moves the actor to actions the critic rates above the replayed ones.
    assert q_policy > q_stored
    assert stats.actor_loss[-1] < stats.actor_loss[0]


def test_update_stops_at_a_non_finite_loss():
    agent = make_agent()
    b = random_batches(5)
    b.rewards[2, 0] = np.nan
    stats = agent.update(b)
    assert len(stats.critic_loss) == 3 and np.isnan(stats.critic_loss[-1])
    # The poisoned update was not applied: the weights are still finite.
    assert all(np.all(np.isfinite(w)) for w in weights(agent, "actor") + weights(agent, "critic"))


def test_act_shapes_and_bounds():
    agent = make_agent(low=(-0.5, 0.0), high=(0.5, 1.0), obs_dim=4)
    one = agent.act(np.zeros(4))
    many = agent.act(np.random.default_rng(0).normal(size=(7, 4)))
    assert one.shape == (2,) and many.shape == (7, 2)
    assert np.all(many >= [-0.5, 0.0]) and np.all(many <= [0.5, 1.0])


@pytest.mark.parametrize("critic_action", ["input", "hidden"])
def test_several_action_dimensions_train(critic_action):
    agent = make_agent(replace(SMALL, critic_action=critic_action), low=(-1.0, -1.0, 0.0), high=(1.0, 1.0, 2.0))
    stats = agent.update(random_batches(20, action_dim=3))
    assert np.all(np.isfinite(stats.critic_loss)) and agent.act(np.zeros(3)).shape == (3,)


def test_save_and_load_round_trip(tmp_path):
    agent = make_agent()
    agent.update(random_batches(10))
    agent.save(tmp_path)
    fresh = make_agent(seed=123)
    obs = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    assert not np.array_equal(fresh.act(obs), agent.act(obs))
    fresh.load(tmp_path)
    np.testing.assert_array_equal(fresh.act(obs), agent.act(obs))
    for a, b in zip(weights(fresh, "target_critic"), weights(agent, "target_critic")):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError):
        fresh.load(tmp_path / "missing")


def test_same_seed_same_network_and_other_seeds_differ():
    a, b, c = make_agent(seed=5), make_agent(seed=5), make_agent(seed=6)
    obs = np.ones((3, 3), np.float32)
    np.testing.assert_array_equal(a.act(obs), b.act(obs))
    assert not np.array_equal(a.act(obs), c.act(obs))


def test_batch_norm_agent_updates_and_targets_track_running_statistics():
    agent = make_agent(replace(SMALL, normalization="batch", tau=0.5))
    b = random_batches(3)
    b = b._replace(observations=b.observations * 10 + 5)  # far from the initial running mean 0
    agent.update(b)
    online = agent.network("actor").get_layer("bn_obs").moving_mean.numpy()
    target = agent.network("target_actor").get_layer("bn_obs").moving_mean.numpy()
    assert np.all(online != 0)
    assert np.all(target != 0) and not np.allclose(target, online)  # moved part of the way


def test_act_refuses_a_group_with_a_clear_message():
    agent = DDPGAgent(3, [-2.0], [2.0], SMALL, seeds=[0, 1])
    with pytest.raises(ValueError, match="group of one"):
        agent.act(np.zeros(3))
    with pytest.raises(ValueError, match="update_group"):
        agent.update(random_batches(1))
    assert agent.act_group(np.zeros((2, 5, 3))).shape == (2, 5, 1)


def keras_reference_update(agent, batches, config):
    """The same DDPG update written the stateful Keras way (models, keras Adam, variable assignments)."""
    actor, critic = [keras.models.clone_model(agent.network(n)) for n in ("actor", "critic")]
    target_actor, target_critic = [keras.models.clone_model(agent.network(n)) for n in ("target_actor",
                                                                                         "target_critic")]
    for copy, name in ((actor, "actor"), (critic, "critic"), (target_actor, "target_actor"),
                       (target_critic, "target_critic")):
        copy.set_weights(agent.network(name).get_weights())
    actor_opt, critic_opt = keras.optimizers.Adam(config.actor_lr), keras.optimizers.Adam(config.critic_lr)
    for obs, action, reward, next_obs, terminated in zip(*[tf.constant(b) for b in batches]):
        next_q = target_critic([next_obs, target_actor(next_obs, training=False)], training=False)[:, 0]
        y = reward + config.gamma * (1.0 - terminated) * next_q
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - critic([obs, action], training=True)[:, 0]))
        critic_opt.apply_gradients(zip(tape.gradient(loss, critic.trainable_variables), critic.trainable_variables))
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(critic([obs, actor(obs, training=True)], training=True))
        actor_opt.apply_gradients(zip(tape.gradient(loss, actor.trainable_variables), actor.trainable_variables))
        for target, online in ((target_actor, actor), (target_critic, critic)):
            for t, o in zip(target.weights, online.weights):
                t.assign(config.tau * o + (1.0 - config.tau) * t)
    return actor, critic, target_critic


@pytest.mark.parametrize("normalization, critic_action",
                         [("none", "input"), ("none", "hidden"), ("batch", "hidden"), ("layer", "input")])
def test_the_pure_update_equals_the_stateful_keras_update(normalization, critic_action):
    config = replace(SMALL, normalization=normalization, critic_action=critic_action, tau=0.05)
    agent = make_agent(config)
    batches = random_batches(8)
    actor, critic, target_critic = keras_reference_update(agent, batches, config)
    agent.update(batches)
    for name, model in (("actor", actor), ("critic", critic), ("target_critic", target_critic)):
        for ours, theirs in zip(weights(agent, name), [w.numpy() for w in model.weights]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=name)


def test_each_network_is_an_independent_copy_of_its_seeds_weights():
    agent = make_agent()
    actor, target = agent.actor, agent.network("target_actor")
    assert actor is not target
    before = [w.copy() for w in actor.get_weights()]
    agent.update(random_batches(3))
    # The online actor moved and its target moved only a little: two different models now.
    online, moved_target = agent.actor.get_weights(), agent.network("target_actor").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(online, moved_target))
    # A model taken before the update still holds the weights of then: training does not reach into it.
    for a, b in zip(actor.get_weights(), before):
        np.testing.assert_array_equal(a, b)
