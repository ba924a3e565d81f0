"""Automatic checks for the coding exercises at the end of each notebook.

Each ``check_*`` takes the learner's function, runs it on cases with known
answers, and returns a ``CheckResult`` that shows as one line in a notebook:
a pass, or the first failing case with a hint. When a wrong answer equals what
a typical mistake would give (truncation treated as terminal, tau swapped, a
sign error, ...), the hint names that mistake.

    check_soft_update(my_soft_update)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. It is truthy when the function passed."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"{'✅ PASSED' if self.passed else '❌ NOT YET'} · {self.exercise}: {self.message}"


class Mistake(NamedTuple):
    """A typical wrong answer, written as code, and the hint that names it."""

    answer: Callable
    hint: str


NOT_ATTEMPTED = "not attempted yet: replace `raise NotImplementedError` with your code and run the cell again"


def _as_array(value) -> np.ndarray | None:
    """The learner's answer as float64 (lists of arrays stack), or None if it is not numeric."""
    try:
        if isinstance(value, (list, tuple)):
            return np.concatenate([np.asarray(v, np.float64).ravel() for v in value])
        return np.asarray(value, np.float64)
    except (TypeError, ValueError):
        return None


def _same(got, expected) -> bool:
    got, expected = _as_array(got), _as_array(expected)
    return got is not None and got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-5, atol=1e-6))


def _show(value) -> str:
    array = _as_array(value)
    if array is None:
        return repr(value)
    if not array.ndim:
        return f"{float(array):g}"
    return " ".join(np.array2string(np.round(array, 6), separator=", ", threshold=12).split())  # one line


def _check(exercise: str, fn: Callable, cases: list[dict], reference: Callable, mistakes: list[Mistake],
           generic_hint: str) -> CheckResult:
    """Compare ``fn(**case)`` with ``reference(**case)`` on every case; explain the first difference."""
    if not callable(fn):
        return CheckResult(exercise, False, f"pass your function itself (got {type(fn).__name__})")
    for case in cases:
        expected = reference(**copy.deepcopy(case))
        try:
            # A copy, so an answer that edits its inputs in place cannot corrupt the next case.
            got = fn(**copy.deepcopy(case))
        except NotImplementedError:
            return CheckResult(exercise, False, NOT_ATTEMPTED)
        except Exception as exc:  # the learner's bug: report it as feedback, not a traceback
            return CheckResult(exercise, False, f"your function raised {type(exc).__name__}: {exc}")
        if _same(got, expected):
            continue
        inputs = ", ".join(f"{k}={_show(v)}" for k, v in case.items() if not callable(v))
        seen = f"with {inputs}: expected {_show(expected)}, got {_show(got)}"
        if got is None:
            return CheckResult(exercise, False, f"your function returned None; did you forget `return`? ({seen})")
        got_array, expected_array = _as_array(got), _as_array(expected)
        if got_array is not None and got_array.shape != expected_array.shape:
            return CheckResult(exercise, False, f"wrong shape: expected {expected_array.shape}, got "
                                                f"{got_array.shape} ({seen})")
        for mistake in mistakes:
            if _same(got, mistake.answer(**copy.deepcopy(case))):
                return CheckResult(exercise, False, f"{mistake.hint} ({seen})")
        return CheckResult(exercise, False, f"{generic_hint} ({seen})")
    return CheckResult(exercise, True, f"correct on all {len(cases)} test cases")


# --- 01 · discretization -------------------------------------------------------------------------

def check_joint_actions(fn: Callable[[int, int], int]) -> CheckResult:
    """``fn(k, d)``: the number of joint actions with ``k`` bins in each of ``d`` action dimensions."""
    cases = [dict(k=3, d=7), dict(k=11, d=2), dict(k=2, d=10), dict(k=5, d=1)]
    return _check("joint_actions(k, d)", fn, cases, lambda k, d: k**d, [
        Mistake(lambda k, d: k * d, "k * d counts one set of k outputs per dimension (factorized heads); "
                                    "a joint action picks one bin in every dimension at once: k choices, d times over"),
        Mistake(lambda k, d: d**k, "exponent and base are swapped: each of the d dimensions has k choices"),
        Mistake(lambda k, d: k**d - 1, "off by one: every combination counts, including all-zeros"),
    ], "each of the d dimensions picks one of k bins independently; multiply the choices")


def check_head_params(fn: Callable[[int, int, int], int]) -> CheckResult:
    """``fn(hidden, k, d)``: weights plus biases of a dense Q-head with one output per joint action."""
    cases = [dict(hidden=256, k=3, d=7), dict(hidden=64, k=11, d=2), dict(hidden=256, k=21, d=1)]
    return _check("head_params(hidden, k, d)", fn, cases, lambda hidden, k, d: (hidden + 1) * k**d, [
        Mistake(lambda hidden, k, d: hidden * k**d, "the biases are missing: each output unit has one bias "
                                                    "besides its `hidden` weights"),
        Mistake(lambda hidden, k, d: (hidden + 1) * k * d, "k * d outputs is a factorized head; a DQN head "
                                                           "scores every joint action, k ** d of them"),
    ], "a dense layer from `hidden` units to N outputs has hidden * N weights and N biases, with N = k ** d")


# --- 02 · deterministic policy gradient ------------------------------------------------------------

class _LinearActor:
    """A stand-in actor, mu(s) = tanh(s W): it accepts ``training=`` like a Keras model."""

    def __init__(self, weights):
        self.weights = np.asarray(weights, np.float64)

    def __call__(self, obs, training=False):
        return np.tanh(np.asarray(obs, np.float64) @ self.weights)


class _QuadraticCritic:
    """A stand-in critic, Q(s, a) = sum(s) - |a - 0.3|^2, called as ``critic([obs, action])``."""

    def __call__(self, inputs, training=False):
        obs, action = (np.asarray(x, np.float64) for x in inputs)
        return obs.sum(axis=1, keepdims=True) - ((action - 0.3) ** 2).sum(axis=1, keepdims=True)


def _q_of_policy(actor, critic, obs):
    return np.asarray(critic([obs, actor(obs, training=False)], training=False))


def check_actor_loss(fn: Callable) -> CheckResult:
    """``fn(actor, critic, obs)``: the scalar DDPG actor loss on a batch of observations.

    The values are checked on stand-in networks; then the gradient is taken through a tiny Keras actor and
    critic, because a loss with the right value whose path to the actor is cut (the action sent through
    NumPy, or a ``stop_gradient``) would leave the actor untrained.
    """
    rng = np.random.default_rng(0)
    cases = [dict(actor=_LinearActor(rng.normal(size=(3, 1))), critic=_QuadraticCritic(),
                  obs=rng.normal(size=(8, 3))),
             dict(actor=_LinearActor(rng.normal(size=(2, 2))), critic=_QuadraticCritic(),
                  obs=rng.normal(size=(5, 2)))]
    result = _check("actor_loss(actor, critic, obs)", fn, cases,
                  lambda actor, critic, obs: -_q_of_policy(actor, critic, obs).mean(), [
        Mistake(lambda actor, critic, obs: _q_of_policy(actor, critic, obs).mean(),
                "sign error: optimizers minimize, so minimizing +mean Q would drive the actor to the WORST "
                "actions; the loss is -mean Q(s, mu(s))"),
        Mistake(lambda actor, critic, obs: -_q_of_policy(actor, critic, obs).sum(),
                "a sum instead of a mean: the gradient would grow with the batch size, and so would the "
                "effective learning rate"),
    ], "evaluate the critic at the actor's own action, critic([obs, actor(obs)]), and take minus the mean")
    return result if not result else _check_actor_gradient(fn, result.message)


def _check_actor_gradient(fn: Callable, passed: str) -> CheckResult:
    """The gradient of ``fn``'s loss with respect to a Keras actor's weights must equal the DDPG one."""
    from helpers.backend import keras, tf

    keras.utils.set_random_seed(0)
    obs_in = keras.Input((3,))
    actor = keras.Model(obs_in, keras.layers.Dense(1, activation="tanh")(obs_in))
    critic_obs, critic_action = keras.Input((3,)), keras.Input((1,))
    hidden = keras.layers.Dense(8, activation="tanh")(keras.layers.Concatenate()([critic_obs, critic_action]))
    critic = keras.Model([critic_obs, critic_action], keras.layers.Dense(1)(hidden))
    obs = tf.constant(np.random.default_rng(5).normal(size=(16, 3)), tf.float32)
    exercise = "actor_loss(actor, critic, obs)"

    def gradients(loss_fn):
        with tf.GradientTape() as tape:
            loss = loss_fn(actor, critic, obs)
        if not tf.is_tensor(loss):  # computed in NumPy: the tape saw nothing
            return [None]
        return list(tape.gradient(loss, actor.trainable_variables))

    expected = gradients(lambda a, c, o: -tf.reduce_mean(c([o, a(o)])))
    try:
        got = gradients(fn)
    except Exception as exc:
        return CheckResult(exercise, False, f"with Keras models your function raised {type(exc).__name__}: {exc}. "
                                            "Use TensorFlow ops (tf.reduce_mean) or keras.ops, not NumPy")
    if any(g is None for g in got) or all(float(tf.reduce_max(tf.abs(g))) == 0.0 for g in got):
        return CheckResult(exercise, False, "the value is right, but no gradient reaches the actor's weights: the "
                                            "action went through NumPy (np.asarray, .numpy()) or a stop_gradient. "
                                            "Keep the whole loss in TensorFlow ops so the chain rule runs through mu")
    if not all(np.allclose(g.numpy(), e.numpy(), rtol=1e-4, atol=1e-7) for g, e in zip(got, expected)):
        return CheckResult(exercise, False, "the value is right, but its gradient with respect to the actor's "
                                            "weights is not the DDPG one: take the mean of critic([obs, actor(obs)])")
    return CheckResult(exercise, True, passed + ", and its gradient reaches the actor's weights")



def check_bandit_dpg(fn: Callable) -> CheckResult:
    """``fn(theta, s, w, b)``: the DPG estimate on notebook 02's bandit, mu(s) = theta0 + theta1 s,
    Q(s, a) = -(a - w s - b)^2, averaged over the contexts ``s``."""
    from helpers.bandit import LinearQuadraticBandit, dpg_estimate

    def reference(theta, s, w, b):
        return dpg_estimate(LinearQuadraticBandit(w, b), theta, s)

    def dq_da(theta, s, w, b):
        return -2.0 * (theta[0] + theta[1] * s - w * s - b)

    rng = np.random.default_rng(1)
    cases = [dict(theta=np.array([0.0, 0.0]), s=rng.normal(size=6), w=1.5, b=-0.5),
             dict(theta=np.array([0.4, -1.0]), s=rng.normal(size=9), w=-0.7, b=2.0)]
    return _check("dpg_gradient(theta, s, w, b)", fn, cases, reference, [
        Mistake(lambda theta, s, w, b: -reference(theta, s, w, b),
                "sign error: this is the gradient of the loss -Q, not of the return; ascent needs +dQ/da"),
        Mistake(lambda theta, s, w, b: np.full(2, dq_da(theta, s, w, b).mean()),
                "the chain rule is missing d mu / d theta = (1, s): each term is (1, s) * dQ/da"),
        Mistake(lambda theta, s, w, b: np.stack([dq_da(theta, s, w, b), s * dq_da(theta, s, w, b)], -1).sum(0),
                "a sum over contexts instead of a mean"),
    ], "average over the contexts (1, s) * dQ/da, with dQ/da = -2 (mu(s) - w s - b) taken at a = mu(s)")


# --- 03 · batch normalization ----------------------------------------------------------------------

def _bn(x, mean, var, gamma, beta, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def check_batchnorm_inference(fn: Callable) -> CheckResult:
    """``fn(x, moving_mean, moving_var, gamma, beta, eps)``: batch norm in inference mode."""
    rng = np.random.default_rng(2)
    cases = [dict(x=rng.normal(3.0, 2.0, size=(4, 3)), moving_mean=np.array([1.0, -2.0, 0.5]),
                  moving_var=np.array([4.0, 0.25, 9.0]), gamma=np.array([1.5, 0.5, 2.0]),
                  beta=np.array([0.1, -0.3, 0.0]), eps=1e-3),
             # A batch of one: in training mode it would normalize to beta whatever x is.
             dict(x=np.array([[10.0, -10.0]]), moving_mean=np.array([2.0, 0.0]), moving_var=np.array([16.0, 1.0]),
                  gamma=np.array([1.0, 1.0]), beta=np.array([0.0, 0.0]), eps=1e-3)]
    return _check("batchnorm_inference(x, moving_mean, moving_var, gamma, beta, eps)", fn, cases,
                  lambda x, moving_mean, moving_var, gamma, beta, eps: _bn(x, moving_mean, moving_var, gamma, beta,
                                                                           eps), [
        Mistake(lambda x, moving_mean, moving_var, gamma, beta, eps: _bn(x, x.mean(0), x.var(0), gamma, beta, eps),
                "you used the batch's own mean and variance: that is training mode. When acting and computing "
                "targets, use the moving (running) statistics; a batch of one would otherwise always give beta"),
        Mistake(lambda x, moving_mean, moving_var, gamma, beta, eps:
                gamma * (x - moving_mean) / (moving_var + eps) + beta,
                "divide by the standard deviation sqrt(var + eps), not by the variance"),
        Mistake(lambda x, moving_mean, moving_var, gamma, beta, eps:
                (x - moving_mean) / np.sqrt(moving_var + eps),
                "gamma and beta are missing: after normalizing, scale by gamma and shift by beta"),
        Mistake(lambda x, moving_mean, moving_var, gamma, beta, eps: _bn(x, moving_mean, moving_var, beta, gamma, eps),
                "gamma and beta are swapped: gamma scales, beta shifts"),
    ], "normalize with the moving statistics, (x - mean) / sqrt(var + eps), then scale by gamma and add beta")


# --- 04 · Ornstein-Uhlenbeck noise -----------------------------------------------------------------

def check_ou_step(fn: Callable) -> CheckResult:
    """``fn(x, mu, theta, sigma, dt, z)``: one Euler-Maruyama step of the OU process, given the
    standard normal draw ``z``."""
    cases = [dict(x=np.array([0.3, -0.2]), mu=np.array([0.0, 0.0]), theta=0.15, sigma=0.2, dt=0.01,
                  z=np.array([1.2, -0.4])),
             dict(x=np.array([1.0]), mu=np.array([0.5]), theta=0.5, sigma=0.3, dt=0.04, z=np.array([-2.0])),
             dict(x=np.array([0.0]), mu=np.array([0.0]), theta=0.15, sigma=0.2, dt=1.0, z=np.array([0.7]))]

    def reference(x, mu, theta, sigma, dt, z):
        return x + theta * (mu - x) * dt + sigma * np.sqrt(dt) * z

    return _check("ou_step(x, mu, theta, sigma, dt, z)", fn, cases, reference, [
        Mistake(lambda x, mu, theta, sigma, dt, z: x + theta * (mu - x) * dt + sigma * dt * z,
                "the noise term scales with sqrt(dt), not dt: Brownian increments have variance dt. With "
                "dt = 0.01 your noise is 10 times too small"),
        Mistake(lambda x, mu, theta, sigma, dt, z: x + theta * (mu - x) * dt + sigma * z,
                "the noise term needs the factor sqrt(dt)"),
        Mistake(lambda x, mu, theta, sigma, dt, z: x + theta * (x - mu) * dt + sigma * np.sqrt(dt) * z,
                "sign error in the drift: theta (mu - x) pulls x back toward the mean; theta (x - mu) pushes it away"),
        Mistake(lambda x, mu, theta, sigma, dt, z: x + theta * (mu - x) + sigma * np.sqrt(dt) * z,
                "the drift term is missing its factor dt"),
    ], "x + theta (mu - x) dt + sigma sqrt(dt) z")


# --- 05 · DDPG -------------------------------------------------------------------------------------

def check_td_target(fn: Callable) -> CheckResult:
    """``fn(reward, terminated, truncated, next_q, gamma)``: the critic's target for a batch."""
    cases = [dict(reward=np.array([-1.0, -2.0, -0.5, -3.0]), terminated=np.array([0.0, 1.0, 0.0, 0.0]),
                  truncated=np.array([0.0, 0.0, 1.0, 0.0]), next_q=np.array([-10.0, -20.0, -30.0, -40.0]),
                  gamma=0.99),
             dict(reward=np.array([1.0, 2.0]), terminated=np.array([1.0, 0.0]), truncated=np.array([1.0, 1.0]),
                  next_q=np.array([5.0, 6.0]), gamma=0.9)]

    def reference(reward, terminated, truncated, next_q, gamma):
        return reward + gamma * (1.0 - terminated) * next_q

    return _check("td_target(reward, terminated, truncated, next_q, gamma)", fn, cases, reference, [
        Mistake(lambda reward, terminated, truncated, next_q, gamma:
                reward + gamma * (1.0 - np.maximum(terminated, truncated)) * next_q,
                "truncation treated as terminal: a time limit is not the end of the task. The state after a "
                "truncation still has a future, so bootstrap through it; only `terminated` zeroes the next Q"),
        Mistake(lambda reward, terminated, truncated, next_q, gamma: reward + gamma * next_q,
                "`terminated` is ignored: after a true terminal state there is no future, so the target is the "
                "reward alone"),
        Mistake(lambda reward, terminated, truncated, next_q, gamma: reward + gamma * terminated * next_q,
                "the mask is inverted: multiply by (1 - terminated), which is 0 at a terminal state"),
        Mistake(lambda reward, terminated, truncated, next_q, gamma: reward + (1.0 - terminated) * next_q,
                "the discount gamma is missing"),
    ], "y = r + gamma (1 - terminated) Q'(s', mu'(s')); `truncated` must not stop the bootstrap")


def check_soft_update(fn: Callable) -> CheckResult:
    """``fn(target, online, tau)``: Polyak averaging; returns the new target weights (a list of arrays)."""
    rng = np.random.default_rng(3)
    cases = [dict(target=[rng.normal(size=(3, 2)), rng.normal(size=2)],
                  online=[rng.normal(size=(3, 2)), rng.normal(size=2)], tau=0.005),
             dict(target=[np.zeros(4)], online=[np.ones(4)], tau=0.1)]

    def mix(target, online, tau):
        return [tau * o + (1.0 - tau) * t for t, o in zip(target, online)]

    return _check("my_soft_update(target, online, tau)", fn, cases, mix, [
        Mistake(lambda target, online, tau: mix(online, target, tau),
                "tau and 1 - tau are swapped: the target should keep (1 - tau) of itself and take only tau of the "
                "online network; yours jumps almost all the way to the online weights"),
        Mistake(lambda target, online, tau: online,
                "this copies the online weights (tau = 1, a hard update); a soft update moves only a fraction "
                "tau of the way"),
        Mistake(lambda target, online, tau: target,
                "the target did not move: did you update a copy, or forget to return the new weights?"),
    ], "theta_target <- tau * theta_online + (1 - tau) * theta_target, for every array in the list")


def check_scale_action(fn: Callable) -> CheckResult:
    """``fn(u, low, high)``: map a tanh output ``u`` in [-1, 1] onto the action box [low, high]."""
    cases = [dict(u=np.array([-1.0, 0.0, 0.5, 1.0]), low=np.array(-2.0), high=np.array(2.0)),
             dict(u=np.array([[-1.0, 1.0], [0.0, -0.5]]), low=np.array([0.0, -1.0]), high=np.array([1.0, 3.0]))]

    def reference(u, low, high):
        return low + (u + 1.0) * (high - low) / 2.0

    return _check("scale_action(u, low, high)", fn, cases, reference, [
        Mistake(lambda u, low, high: u, "the output is not scaled: tanh stays in [-1, 1], but Pendulum's "
                                        "torque goes to ±2; scale by the action bounds"),
        Mistake(lambda u, low, high: u * high,
                "multiplying by `high` is right only when low = -high; for a box like [0, 1] map the centre "
                "and the half-range: (high + low)/2 + u (high - low)/2"),
        Mistake(lambda u, low, high: u * (high - low) / 2.0,
                "the offset is missing: add the centre of the box, (high + low) / 2"),
    ], "u = -1 must map to low and u = +1 to high, affinely and per dimension")


def check_optimizers(fn: Callable) -> CheckResult:
    """``fn(actor_lr, critic_lr)``: returns ``(actor_optimizer, critic_optimizer)``, two Keras optimizers."""
    from helpers.backend import keras

    name = "make_optimizers(actor_lr, critic_lr)"
    if not callable(fn):
        return CheckResult(name, False, f"pass your function itself (got {type(fn).__name__})")
    try:
        pair = fn(1e-4, 1e-3)
    except NotImplementedError:
        return CheckResult(name, False, NOT_ATTEMPTED)
    except Exception as exc:
        return CheckResult(name, False, f"your function raised {type(exc).__name__}: {exc}")
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        return CheckResult(name, False, "return a pair: (actor_optimizer, critic_optimizer)")
    actor_opt, critic_opt = pair
    if not all(isinstance(o, keras.optimizers.Optimizer) for o in pair):
        return CheckResult(name, False, "both must be Keras optimizers, e.g. keras.optimizers.Adam(learning_rate=...)")
    if actor_opt is critic_opt:
        return CheckResult(name, False, "a single optimizer is reused for actor and critic: Adam keeps running "
                                        "moments per variable and one learning rate, so the two networks would "
                                        "share a learning rate and one step counter; make two optimizers")
    rates = float(actor_opt.learning_rate), float(critic_opt.learning_rate)
    if np.allclose(rates, (1e-3, 1e-4)):
        return CheckResult(name, False, "the learning rates are swapped: actor_lr goes to the actor's optimizer")
    if not np.allclose(rates, (1e-4, 1e-3)):
        return CheckResult(name, False, f"with actor_lr=1e-4 and critic_lr=1e-3 the learning rates are "
                                        f"{rates[0]:g} and {rates[1]:g}; pass each as learning_rate=")
    return CheckResult(name, True, "two separate optimizers with the right learning rates")


# --- 07 · TD3 --------------------------------------------------------------------------------------

def check_clipped_double_q_target(fn: Callable) -> CheckResult:
    """``fn(reward, terminated, next_q1, next_q2, gamma)``: TD3's target from two target critics, for a batch."""
    cases = [dict(reward=np.array([1.0, 1.0, 0.0]), terminated=np.array([0.0, 1.0, 0.0]),
                  next_q1=np.array([50.0, 40.0, -3.0]), next_q2=np.array([45.0, 60.0, -1.0]), gamma=0.99),
             dict(reward=np.array([-2.0, 0.5]), terminated=np.array([0.0, 0.0]), next_q1=np.array([-10.0, 7.0]),
                  next_q2=np.array([-12.0, 9.0]), gamma=0.9)]

    def reference(reward, terminated, next_q1, next_q2, gamma):
        return reward + gamma * (1.0 - terminated) * np.minimum(next_q1, next_q2)

    def target(combine):
        return lambda reward, terminated, next_q1, next_q2, gamma: (
            reward + gamma * (1.0 - terminated) * combine(next_q1, next_q2))

    return _check("clipped_double_q_target(reward, terminated, next_q1, next_q2, gamma)", fn, cases, reference, [
        Mistake(target(np.maximum), "that is the larger of the two critics: take the minimum, the pessimistic "
                                    "estimate, to counter overestimation"),
        Mistake(target(lambda a, b: (a + b) / 2), "the average of two critics still overestimates; take the minimum"),
        Mistake(target(lambda a, b: a), "only the first critic is used: the target takes min(Q1', Q2')"),
        Mistake(lambda reward, terminated, next_q1, next_q2, gamma: np.minimum(
            reward + gamma * next_q1, reward + gamma * (1.0 - terminated) * next_q2),
            "`terminated` must zero both critics' terms"),
        Mistake(lambda reward, terminated, next_q1, next_q2, gamma: reward + gamma * np.minimum(next_q1, next_q2),
                "`terminated` is ignored: after a terminal state the target is the reward alone"),
    ], "y = r + gamma (1 - terminated) min(Q1'(s', a'), Q2'(s', a'))")


def check_smoothed_target_action(fn: Callable) -> CheckResult:
    """``fn(next_action, noise, noise_clip, low, high)``: TD3's target action from the target actor's action."""
    cases = [dict(next_action=np.array([[0.0], [2.8], [-1.0]]), noise=np.array([[0.3], [0.4], [-2.0]]),
                  noise_clip=1.5, low=np.array([-3.0]), high=np.array([3.0])),
             dict(next_action=np.array([[0.5, -0.5]]), noise=np.array([[0.9, -0.2]]), noise_clip=0.5,
                  low=np.array([-1.0, -2.0]), high=np.array([1.0, 0.0]))]

    def reference(next_action, noise, noise_clip, low, high):
        return np.clip(next_action + np.clip(noise, -noise_clip, noise_clip), low, high)

    return _check("smoothed_target_action(next_action, noise, noise_clip, low, high)", fn, cases, reference, [
        Mistake(lambda next_action, noise, noise_clip, low, high: np.clip(next_action + noise, low, high),
                "the noise is not clipped to +-noise_clip: an unclipped draw can land far from the target "
                "actor's action, where the critic's value means little"),
        Mistake(lambda next_action, noise, noise_clip, low, high:
                next_action + np.clip(noise, -noise_clip, noise_clip),
                "the target action leaves the action box: clip it to [low, high] after adding the noise"),
        Mistake(lambda next_action, noise, noise_clip, low, high: np.clip(next_action, low, high) + noise,
                "add the clipped noise first, then clip the sum to the box"),
        Mistake(lambda next_action, noise, noise_clip, low, high: next_action,
                "no noise was added: smoothing evaluates the target critic around the target action"),
    ], "a' = clip(mu'(s') + clip(noise, -c, c), low, high)")


# --- 06 · pitfalls ---------------------------------------------------------------------------------

def check_target_shape(fn: Callable) -> CheckResult:
    """``fn(reward, terminated, next_q, gamma)``: the critic's target of shape [B] from a target critic whose
    output ``next_q`` has shape [B, 1], as a Keras critic's does."""
    name = "td_target(reward, terminated, next_q, gamma)"
    cases = [dict(reward=np.array([-1.0, -2.0, -0.5]), terminated=np.array([0.0, 1.0, 0.0]),
                  next_q=np.array([[-10.0], [-20.0], [-30.0]]), gamma=0.99),
             dict(reward=np.array([1.0, 0.0, 2.0, 1.0, 0.5]), terminated=np.zeros(5),
                  next_q=np.array([[5.0], [6.0], [7.0], [8.0], [9.0]]), gamma=0.9)]

    def reference(reward, terminated, next_q, gamma):
        return reward + gamma * (1.0 - terminated) * next_q[:, 0]

    if not callable(fn):
        return CheckResult(name, False, f"pass your function itself (got {type(fn).__name__})")
    for case in cases:
        try:
            got = _as_array(fn(**copy.deepcopy(case)))
        except Exception:  # NotImplementedError and the learner's own errors: _check below reports them
            break
        b = len(case["reward"])
        if got is not None and got.shape == (b, b):
            return CheckResult(name, False, f"your target has shape ({b}, {b}) for a batch of {b}: reward [B] plus "
                                            "next_q [B, 1] broadcasts to a [B, B] matrix, with no error. A loss "
                                            "against Q then averages over all B x B pairs, so each Q(s, a) learns "
                                            "its reward plus the batch's mean future. Use next_q[:, 0]")
        if got is not None and got.shape == (b, 1):
            return CheckResult(name, False, f"your target has shape ({b}, 1): return shape [B], like the reward; "
                                            "a [B, 1] target against a [B] Q(s, a) is the same [B, B] bug one line "
                                            "later, in the loss")
    return _check(name, fn, cases, reference, [
        Mistake(lambda reward, terminated, next_q, gamma: reward + gamma * next_q[:, 0],
                "`terminated` is ignored: after a true terminal state the target is the reward alone"),
    ], "y = r + gamma (1 - terminated) next_q[:, 0], shape [B]")


def check_first_adam_step(fn: Callable) -> CheckResult:
    """``fn(weights, grads, lr)``: the weights after the first step of a newly created Adam (Keras defaults)."""
    from helpers.group import adam, adam_init

    rng = np.random.default_rng(7)
    sizes = 10.0 ** rng.uniform(-2, 1, (3, 4))  # four orders of magnitude
    cases = [dict(weights=rng.normal(size=(3, 4)), grads=rng.choice([-1.0, 1.0], (3, 4)) * sizes, lr=1e-3),
             dict(weights=np.array([0.5, -0.5]), grads=np.array([0.02, -300.0]), lr=0.01)]

    def reference(weights, grads, lr):
        w = [np.asarray(weights, np.float32)]
        new, _ = adam(w, [np.asarray(grads, np.float32)], adam_init(w), lr)
        return new[0].numpy()

    return _check("first_adam_step(weights, grads, lr)", fn, cases, reference, [
        Mistake(lambda weights, grads, lr: weights - lr * grads,
                "that is plain gradient descent. A new Adam has no history: after bias correction its first and "
                "second moments are g and g^2, so each weight moves by lr * g / |g|, the same size for every weight"),
        Mistake(lambda weights, grads, lr: weights - lr * 0.1 * grads / (np.sqrt(0.001) * np.abs(grads) + 1e-7),
                "the bias correction is missing: divide m = 0.1 g by (1 - 0.9^1) and v = 0.001 g^2 by (1 - 0.999^1)"),
        Mistake(lambda weights, grads, lr: weights + lr * np.sign(grads),
                "the sign is flipped: Adam steps against the gradient"),
    ], "m_hat = g and v_hat = g^2 on the first step, so w - lr * m_hat / (sqrt(v_hat) + epsilon)")


# --- 08 · locomotion -------------------------------------------------------------------------------

HOPPER_WEIGHTS = {"forward": 1.0, "ctrl": 1e-3, "healthy": 1.0}
"""Hopper-v5's reward weights (gymnasium's defaults; ``tests/test_exercises.py`` checks them against the env)."""


def check_hopper_reward(fn: Callable) -> CheckResult:
    """``fn(x_velocity, action, healthy)``: Hopper-v5's reward for one step."""
    rng = np.random.default_rng(8)
    cases = [dict(x_velocity=1.7, action=np.array([0.5, -1.0, 0.25]), healthy=True),
             dict(x_velocity=-0.4, action=rng.uniform(-1, 1, 3), healthy=True),
             dict(x_velocity=2.9, action=np.array([1.0, 1.0, -1.0]), healthy=False)]
    w = HOPPER_WEIGHTS

    def reference(x_velocity, action, healthy):
        return w["forward"] * x_velocity + w["healthy"] * float(healthy) - w["ctrl"] * np.sum(np.square(action))

    return _check("hopper_reward(x_velocity, action, healthy)", fn, cases, reference, [
        Mistake(lambda x_velocity, action, healthy: x_velocity - w["ctrl"] * np.sum(np.square(action)),
                "the survival bonus is missing: +1 for every step on which the hopper is healthy"),
        Mistake(lambda x_velocity, action, healthy: x_velocity + 1.0 - w["ctrl"] * np.sum(np.square(action)),
                "the bonus is paid only while healthy: Hopper-v5 pays nothing for the step that ends it"),
        Mistake(lambda x_velocity, action, healthy: x_velocity + float(healthy) - 0.1 * np.sum(np.square(action)),
                "0.1 is HalfCheetah's control-cost weight; Hopper's is 0.001"),
        Mistake(lambda x_velocity, action, healthy: x_velocity + float(healthy) - w["ctrl"] * np.sum(np.abs(action)),
                "the control cost is quadratic: the sum of the squared torques"),
    ], "reward = 1.0 * x_velocity + 1.0 * healthy - 0.001 * sum(action ** 2)")


def check_share_at_bounds(fn: Callable) -> CheckResult:
    """``fn(actions, low, high, tolerance)``: the share of action components within ``tolerance`` of the
    half-range from a bound (the course's measure of a saturated actor)."""
    rng = np.random.default_rng(9)
    cases = [dict(actions=np.array([[1.0, 0.0, -0.995], [0.985, -0.2, 0.5]]), low=-np.ones(3), high=np.ones(3),
                  tolerance=0.02),
             dict(actions=rng.uniform(-2.0, 2.0, (50, 2)), low=np.array([-2.0, -2.0]), high=np.array([2.0, 2.0]),
                  tolerance=0.1),
             dict(actions=np.array([[0.0, 9.9], [0.4, 0.0]]), low=np.array([0.0, 0.0]), high=np.array([0.4, 10.0]),
                  tolerance=0.02)]

    def reference(actions, low, high, tolerance):
        margin = tolerance * (high - low) / 2
        return float(np.mean((actions <= low + margin) | (actions >= high - margin)))

    return _check("share_at_bounds(actions, low, high, tolerance)", fn, cases, reference, [
        Mistake(lambda actions, low, high, tolerance: float(np.mean((actions <= low + tolerance)
                                                                    | (actions >= high - tolerance))),
                "the tolerance is a share of the half-range (high - low) / 2, not an absolute distance"),
        Mistake(lambda actions, low, high, tolerance: float(np.mean(actions >= high - tolerance * (high - low) / 2)),
                "both bounds count: an actor pinned at the lower bound is saturated too"),
        Mistake(lambda actions, low, high, tolerance: float(np.mean(np.any(
                    (actions <= low + tolerance * (high - low) / 2) | (actions >= high - tolerance * (high - low) / 2),
                    axis=-1))),
                "count action components, not actions: one joint at a bound does not saturate the others"),
    ], "margin = tolerance * (high - low) / 2; a component is at a bound if it is within margin of low or high")
