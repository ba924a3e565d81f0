"""Each checker accepts a right answer and rejects the typical wrong ones with a hint that names the mistake."""

import keras
import numpy as np
import pytest

from helpers import exercises as ex


def stub(*args, **kwargs):
    raise NotImplementedError


def assert_rejected(result, *words):
    assert not result.passed, result
    for word in words:
        assert word.lower() in result.message.lower(), (word, result.message)


def test_result_reads_as_one_line_and_is_truthy_only_on_pass():
    ok = ex.check_joint_actions(lambda k, d: k**d)
    assert ok and ok.passed and repr(ok).startswith("✅ PASSED")
    bad = ex.check_joint_actions(stub)
    assert not bad and repr(bad).startswith("❌ NOT YET") and "\n" not in repr(bad)


@pytest.mark.parametrize("check", [
    ex.check_joint_actions, ex.check_head_params, ex.check_actor_loss, ex.check_bandit_dpg,
    ex.check_batchnorm_inference, ex.check_ou_step, ex.check_td_target, ex.check_soft_update,
    ex.check_scale_action, ex.check_optimizers, ex.check_clipped_double_q_target, ex.check_smoothed_target_action,
    ex.check_target_shape, ex.check_first_adam_step, ex.check_hopper_reward, ex.check_share_at_bounds,
])
def test_every_checker_reports_an_unattempted_stub_and_a_non_function(check):
    assert_rejected(check(stub), "not attempted")
    assert_rejected(check(42), "pass your function")


def test_a_crash_and_a_missing_return_become_feedback():
    assert_rejected(ex.check_joint_actions(lambda k, d: k / None), "raised TypeError")
    assert_rejected(ex.check_td_target(lambda reward, terminated, truncated, next_q, gamma: None), "forget `return`")
    assert_rejected(ex.check_td_target(lambda reward, terminated, truncated, next_q, gamma: reward[:1]),
                    "wrong shape")


def test_joint_actions_and_head_params():
    assert ex.check_joint_actions(lambda k, d: k**d)
    assert_rejected(ex.check_joint_actions(lambda k, d: k * d), "factorized")
    assert_rejected(ex.check_joint_actions(lambda k, d: d**k), "swapped")
    assert ex.check_head_params(lambda hidden, k, d: (hidden + 1) * k**d)
    assert_rejected(ex.check_head_params(lambda hidden, k, d: hidden * k**d), "biases")


def test_actor_loss_needs_a_gradient_to_the_actor_and_catches_the_sign_error():
    import tensorflow as tf

    assert ex.check_actor_loss(lambda actor, critic, obs: -tf.reduce_mean(critic([obs, actor(obs, training=False)])))
    assert_rejected(ex.check_actor_loss(lambda actor, critic, obs: tf.reduce_mean(critic([obs, actor(obs)]))),
                    "sign error")
    assert_rejected(ex.check_actor_loss(lambda actor, critic, obs: -tf.reduce_sum(critic([obs, actor(obs)]))), "sum")
    # Right value, no gradient: the action leaves TensorFlow, or is cut by stop_gradient.
    assert_rejected(ex.check_actor_loss(lambda actor, critic, obs: -np.mean(critic([obs, actor(obs)]))),
                    "no gradient")
    assert_rejected(ex.check_actor_loss(
        lambda actor, critic, obs: -tf.reduce_mean(critic([obs, tf.stop_gradient(actor(obs))]))), "no gradient")
    assert_rejected(ex.check_actor_loss(
        lambda actor, critic, obs: -tf.reduce_mean(critic([obs, np.asarray(actor(obs))]))), "numpy")


def test_bandit_dpg():
    def right(theta, s, w, b):
        dq_da = -2.0 * (theta[0] + theta[1] * s - (w * s + b))
        return np.array([dq_da.mean(), (s * dq_da).mean()])

    assert ex.check_bandit_dpg(right)
    assert_rejected(ex.check_bandit_dpg(lambda theta, s, w, b: -right(theta, s, w, b)), "sign error")
    assert_rejected(ex.check_bandit_dpg(lambda theta, s, w, b: np.full(2, right(theta, s, w, b)[0])), "chain rule")


def test_batchnorm_inference_catches_training_mode():
    def right(x, moving_mean, moving_var, gamma, beta, eps):
        return gamma * (x - moving_mean) / np.sqrt(moving_var + eps) + beta

    assert ex.check_batchnorm_inference(right)
    training_mode = ex.check_batchnorm_inference(
        lambda x, moving_mean, moving_var, gamma, beta, eps: right(x, x.mean(0), x.var(0), gamma, beta, eps))
    assert_rejected(training_mode, "training mode")
    assert_rejected(ex.check_batchnorm_inference(
        lambda x, moving_mean, moving_var, gamma, beta, eps: gamma * (x - moving_mean) / (moving_var + eps) + beta),
        "standard deviation")


def test_batchnorm_reference_matches_keras_in_inference_mode():
    layer = keras.layers.BatchNormalization(epsilon=1e-3)
    layer.build((None, 3))
    mean, var = np.array([1.0, -2.0, 0.5]), np.array([4.0, 0.25, 9.0])
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.3, 0.0])
    layer.set_weights([gamma, beta, mean, var])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    expected = np.asarray(layer(x, training=False))
    assert np.allclose(ex._bn(x, mean, var, gamma, beta, 1e-3), expected, atol=1e-5)


def test_ou_step_catches_dt_instead_of_sqrt_dt_and_the_drift_sign():
    def right(x, mu, theta, sigma, dt, z):
        return x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * z

    assert ex.check_ou_step(right)
    assert_rejected(ex.check_ou_step(lambda x, mu, theta, sigma, dt, z: x + theta * (mu - x) * dt + sigma * dt * z),
                    "sqrt(dt)")
    assert_rejected(ex.check_ou_step(
        lambda x, mu, theta, sigma, dt, z: x + theta * (x - mu) * dt + sigma * np.sqrt(dt) * z), "sign error")


def test_ou_step_reference_is_the_course_noise():
    from helpers.noise import OrnsteinUhlenbeckActionNoise

    noise = OrnsteinUhlenbeckActionNoise(np.zeros(2), 0.2, np.random.default_rng(5), theta=0.15, dt=0.01,
                                         initial_noise=np.array([0.3, -0.2]))
    z = np.random.default_rng(5).standard_normal(2)
    x = np.array([0.3, -0.2])
    assert np.allclose(noise(), x + 0.15 * (0 - x) * 0.01 + 0.2 * np.sqrt(0.01) * z)


def test_td_target_catches_truncation_as_terminal():
    def right(reward, terminated, truncated, next_q, gamma):
        return reward + gamma * (1.0 - terminated) * next_q

    assert ex.check_td_target(right)
    as_terminal = ex.check_td_target(
        lambda reward, terminated, truncated, next_q, gamma:
        reward + gamma * (1.0 - np.logical_or(terminated, truncated)) * next_q)
    assert_rejected(as_terminal, "truncation treated as terminal")
    assert_rejected(ex.check_td_target(lambda reward, terminated, truncated, next_q, gamma: reward + gamma * next_q),
                    "`terminated` is ignored")


def test_soft_update_catches_swapped_tau_and_accepts_in_place_style():
    assert ex.check_soft_update(lambda target, online, tau: [tau * o + (1 - tau) * t for t, o in zip(target, online)])
    swapped = ex.check_soft_update(
        lambda target, online, tau: [(1 - tau) * o + tau * t for t, o in zip(target, online)])
    assert_rejected(swapped, "swapped")
    assert_rejected(ex.check_soft_update(lambda target, online, tau: online), "hard update")

    def in_place(target, online, tau):
        for t, o in zip(target, online):
            t *= 1 - tau
            t += tau * o
        return target

    assert ex.check_soft_update(in_place)


def test_scale_action_catches_missing_and_symmetric_only_scaling():
    assert ex.check_scale_action(lambda u, low, high: (high + low) / 2 + u * (high - low) / 2)
    assert_rejected(ex.check_scale_action(lambda u, low, high: u), "not scaled")
    assert_rejected(ex.check_scale_action(lambda u, low, high: u * high), "low = -high")


def test_scale_action_reference_matches_the_actor_layer():
    from helpers.networks import ScaleToBounds

    u = np.array([[-1.0, 1.0], [0.0, -0.5]], np.float32)
    layer = ScaleToBounds([0.0, -1.0], [1.0, 3.0])
    assert np.allclose(np.asarray(layer(u)), [[0.0, 3.0], [0.5, 0.0]])


def test_optimizers_catch_a_shared_optimizer_and_swapped_rates():
    Adam = keras.optimizers.Adam
    assert ex.check_optimizers(lambda a, c: (Adam(learning_rate=a), Adam(learning_rate=c)))

    def shared(a, c):
        opt = Adam(learning_rate=c)
        return opt, opt

    assert_rejected(ex.check_optimizers(shared), "single optimizer is reused")
    assert_rejected(ex.check_optimizers(lambda a, c: (Adam(learning_rate=c), Adam(learning_rate=a))), "swapped")
    assert_rejected(ex.check_optimizers(lambda a, c: Adam(learning_rate=a)), "pair")


def test_clipped_double_q_target_catches_max_mean_and_one_critic():
    def with_(combine):
        return lambda reward, terminated, next_q1, next_q2, gamma: (
            reward + gamma * (1.0 - terminated) * combine(next_q1, next_q2))

    assert ex.check_clipped_double_q_target(with_(np.minimum))
    assert_rejected(ex.check_clipped_double_q_target(with_(np.maximum)), "larger", "minimum")
    assert_rejected(ex.check_clipped_double_q_target(with_(lambda a, b: (a + b) / 2)), "average")
    assert_rejected(ex.check_clipped_double_q_target(with_(lambda a, b: a)), "only the first critic")


def test_smoothed_target_action_catches_unclipped_noise_and_a_target_outside_the_box():
    def right(next_action, noise, noise_clip, low, high):
        return np.clip(next_action + np.clip(noise, -noise_clip, noise_clip), low, high)

    assert ex.check_smoothed_target_action(right)
    result = ex.check_smoothed_target_action(
        lambda next_action, noise, noise_clip, low, high: np.clip(next_action + noise, low, high))
    assert_rejected(result, "not clipped")
    assert "\n" not in repr(result)
    assert_rejected(ex.check_smoothed_target_action(
        lambda next_action, noise, noise_clip, low, high: next_action + np.clip(noise, -noise_clip, noise_clip)),
        "leaves the action box")


def test_target_shape_names_the_broadcast_to_b_by_b_and_a_column_target():
    assert ex.check_target_shape(lambda reward, terminated, next_q, gamma:
                                 reward + gamma * (1.0 - terminated) * next_q[:, 0])
    assert ex.check_target_shape(lambda reward, terminated, next_q, gamma:
                                 reward + gamma * (1.0 - terminated) * np.squeeze(next_q, -1))
    assert_rejected(ex.check_target_shape(lambda reward, terminated, next_q, gamma:
                                          reward + gamma * (1.0 - terminated) * next_q), "broadcasts", "[B, B]")
    assert_rejected(ex.check_target_shape(lambda reward, terminated, next_q, gamma:
                                          reward[:, None] + gamma * (1.0 - terminated[:, None]) * next_q), "[B, 1]")
    assert_rejected(ex.check_target_shape(lambda reward, terminated, next_q, gamma: reward + gamma * next_q[:, 0]),
                    "terminated")


def test_first_adam_step_is_the_course_adam_and_catches_sgd_and_a_missing_bias_correction():
    assert ex.check_first_adam_step(lambda weights, grads, lr: weights - lr * grads / (np.abs(grads) + 1e-7))
    assert ex.check_first_adam_step(lambda weights, grads, lr: weights - lr * np.sign(grads))
    assert_rejected(ex.check_first_adam_step(lambda weights, grads, lr: weights - lr * grads), "plain gradient")
    assert_rejected(ex.check_first_adam_step(
        lambda weights, grads, lr: weights - lr * 0.1 * grads / (np.sqrt(0.001) * np.abs(grads) + 1e-7)),
        "bias correction")
    # The reference is Keras's own Adam: one step of a new optimizer.
    w = keras.Variable(np.array([0.5, -0.5], np.float32))
    keras.optimizers.Adam(learning_rate=0.01).apply_gradients([(np.array([0.02, -300.0], np.float32), w)])
    assert np.allclose(w.numpy(), [0.49, -0.49], atol=1e-5)


def test_hopper_reward_is_the_env_s_reward_and_catches_the_bonus_and_the_cost():
    import gymnasium as gym

    def hopper_reward(x_velocity, action, healthy):
        return x_velocity + float(healthy) - 1e-3 * np.sum(np.square(action))

    assert ex.check_hopper_reward(hopper_reward)
    assert_rejected(ex.check_hopper_reward(lambda x_velocity, action, healthy: x_velocity + 1.0
                                           - 1e-3 * np.sum(np.square(action))), "only while healthy")
    assert_rejected(ex.check_hopper_reward(lambda x_velocity, action, healthy: x_velocity + float(healthy)
                                           - 0.1 * np.sum(np.square(action))), "HalfCheetah")
    env = gym.make("Hopper-v5")  # the weights are the env's, and the reference is the env's reward
    assert {"forward": env.unwrapped._forward_reward_weight, "ctrl": env.unwrapped._ctrl_cost_weight,
            "healthy": env.unwrapped._healthy_reward} == ex.HOPPER_WEIGHTS
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        action = rng.uniform(-1, 1, 3).astype(np.float32)
        _, reward, terminated, truncated, info = env.step(action)
        assert np.isclose(reward, hopper_reward(info["x_velocity"], action, not terminated))
        if terminated or truncated:
            break
    assert terminated, "a random hopper falls within 200 steps, so the unhealthy step is checked too"
    env.close()


def test_share_at_bounds_is_the_evaluator_s_measure_and_catches_absolute_and_one_sided_margins():
    from helpers.evaluation import AT_BOUND

    def share(actions, low, high, tolerance):
        margin = tolerance * (high - low) / 2
        return float(np.mean((actions <= low + margin) | (actions >= high - margin)))

    assert ex.check_share_at_bounds(share)
    assert_rejected(ex.check_share_at_bounds(lambda actions, low, high, tolerance: float(np.mean(
        (actions <= low + tolerance) | (actions >= high - tolerance)))), "half-range")
    assert_rejected(ex.check_share_at_bounds(lambda actions, low, high, tolerance: float(np.mean(
        actions >= high - tolerance * (high - low) / 2))), "both bounds")
    assert AT_BOUND == 0.02
