"""Many seeds as one: weights stacked along a leading seed axis, one compiled call for the whole group.

An algorithm (``helpers.agent.DDPGAgent``, ``helpers.td3.TD3Agent``,
``helpers.dqn.DQNAgent``) writes its update once, for a single seed, as a pure
function ``_train_step(state, batch) -> (new_state, UpdateStats)`` of tensors:
no variable is assigned inside it. ``GroupLearner`` then

* keeps every seed's state (weights, optimizer moments, batch-norm statistics)
  in ``tf.Variable``\\ s with a leading axis of size ``group_size``;
* maps ``_train_step`` over that axis with ``tf.vectorized_map``, so each seed
  gets its own weights and its own batch, and loops over a stack of batches,
  all inside one XLA-compiled call;
* keeps a seed's old state when its losses are not finite, and packs the
  statistics, so that no algorithm has to;
* maps ``_policy(state, obs)`` the same way, one compiled call per env step
  for the whole group.

A single run is a group of one, so there is one definition of each algorithm.
The Keras models are used as pure functions through ``Model.stateless_call``:
the networks in ``helpers.networks`` stay plain Keras models.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from helpers.backend import keras, tf
from helpers.config import DDPGConfig, check_variants


class UpdateStats(NamedTuple):
    """What an update measured: scalars from one seed's ``_train_step``; from ``update`` one entry per update that
    ran (shape (k,)), from ``update_group`` shape (group, k)."""

    critic_loss: np.ndarray
    actor_loss: np.ndarray
    mean_q: np.ndarray


class NetWeights(NamedTuple):
    """The weights of one network: trainable (learned by gradients) and non-trainable (batch-norm statistics)."""

    trainable: list
    non_trainable: list


class PureModel:
    """A Keras model called as a function of its weights: ``net(weights, x)`` in inference mode, and
    ``net.train_mode(weights, x)`` in training mode.

    The model's own variables are not used; its layers only define the computation.
    """

    def __init__(self, model: keras.Model):
        self.model = model

    def weights_of(self, model: keras.Model | None = None) -> NetWeights:
        """The current weights of ``model`` (default: the wrapped one) as NumPy arrays."""
        model = model or self.model
        return NetWeights([v.numpy() for v in model.trainable_variables],
                          [v.numpy() for v in model.non_trainable_variables])

    def __call__(self, weights: NetWeights, inputs):
        """The outputs in inference mode: batch norm uses its running statistics and changes nothing."""
        outputs, _ = self.model.stateless_call(weights.trainable, weights.non_trainable, inputs, training=False)
        return outputs

    def train_mode(self, weights: NetWeights, inputs) -> tuple:
        """The outputs in training mode, and the non-trainable weights that this batch updated: the batch-norm
        statistics (an empty list for a network without batch norm)."""
        outputs, non_trainable = self.model.stateless_call(weights.trainable, weights.non_trainable, inputs,
                                                           training=True)
        return outputs, list(non_trainable)

    def load_into_model(self, weights: NetWeights) -> keras.Model:
        """A new Keras model, built like the wrapped one, holding a copy of ``weights`` (to inspect, save or call).

        Each call returns a model of its own: two of them never share variables."""
        model = keras.models.clone_model(self.model)
        for variable, value in zip(model.trainable_variables, weights.trainable):
            variable.assign(value)
        for variable, value in zip(model.non_trainable_variables, weights.non_trainable):
            variable.assign(value)
        return model


class AdamState(NamedTuple):
    """Adam's memory for one network: the step count and the first and second moment of every weight."""

    step: tf.Tensor
    m: list
    v: list


def adam_init(trainable: Sequence[np.ndarray]) -> AdamState:
    zeros = [np.zeros_like(w) for w in trainable]
    return AdamState(np.float32(0.0), zeros, [z.copy() for z in zeros])


def adam(weights: list, grads: list, state: AdamState, lr: float, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """One Adam step, the same arithmetic as ``keras.optimizers.Adam`` (a test compares them).

    Returns the new weights and the new ``AdamState``. Each network has its own
    state, so actor and critic never share moment estimates or a step size.
    Hand-written because Keras's pure form, ``Adam.stateless_apply``, raises on the
    TensorFlow backend ("not supported ... incompatible with tf.distribute", Keras 3.15).
    """
    step = state.step + 1.0
    m = [mi + (g - mi) * (1.0 - beta_1) for mi, g in zip(state.m, grads)]
    v = [vi + (tf.square(g) - vi) * (1.0 - beta_2) for vi, g in zip(state.v, grads)]
    alpha = lr * tf.sqrt(1.0 - beta_2**step) / (1.0 - beta_1**step)
    new = [w - alpha * mi / (tf.sqrt(vi) + epsilon) for w, mi, vi in zip(weights, m, v)]
    return new, AdamState(step, m, v)


def keep_if(ok, new, old):
    """``new`` where the scalar ``ok`` is true, else ``old``, for every tensor of two matching structures."""
    return tf.nest.map_structure(lambda n, o: tf.where(ok, n, o), new, old)


def compiled(fn, *specs):
    """``fn`` traced once for inputs of ``specs`` and compiled with XLA, as a concrete function: XLA fuses the many
    small ops of an update or a forward pass, and calling the concrete function skips ``tf.function``'s argument
    binding (together they halve the cost of an act call here)."""
    return tf.function(fn, input_signature=list(specs), jit_compile=True).get_concrete_function()


def stack_samples(samples: Sequence[tuple]) -> tuple:
    """Stack per-seed batches (tuples of arrays) along a new leading seed axis."""
    return tuple(np.stack(parts) for parts in zip(*samples))


class GroupLearner:
    """Base class: a learner whose state is stacked over a group of seeds.

    Subclasses set ``config``, ``obs_dim`` and ``action_dim`` and define
    ``_init_state(seed, variant)`` (one seed's initial state, a nest of NumPy
    arrays), ``_train_step(state, batch)`` (one update of one seed: the new
    state and its ``UpdateStats``), ``_policy(state, obs)`` (actions for a batch
    of observations), ``_env_args()`` (the arguments before ``config`` that
    rebuild the agent), ``for_env(env, config, seeds, variants)`` (an agent
    sized for an env) and ``make_explorer(config, envs)`` (its behaviour policy
    for ``helpers.loop.train_group``). Then they call ``_build_group(seeds, ...)``.

    ``variants`` gives each seed a config of its own; they may differ from
    ``config`` only in the fields ``config.SWITCHES`` names (TD3's fixes), so
    that an ablation trains all its arms as one group.
    """

    config: DDPGConfig
    obs_dim: int
    action_dim: int

    def _build_group(self, seeds: Sequence[int] | None, initial_states: Sequence | None = None,
                     variants: Sequence[DDPGConfig] | None = None) -> None:
        self.seeds = tuple(int(s) for s in (seeds if seeds is not None else [self.config.seed]))
        if not self.seeds:
            raise ValueError("a group needs at least one seed")
        self.variants = tuple(variants) if variants is not None else (self.config,) * len(self.seeds)
        check_variants(self.config, self.variants, len(self.seeds))
        states = initial_states if initial_states is not None else [
            self._init_state(seed, variant) for seed, variant in zip(self.seeds, self.variants)]
        self.state = tf.nest.map_structure(
            lambda *xs: tf.Variable(np.stack([np.asarray(x) for x in xs]), trainable=False), *states
        )
        self.training = tf.Variable(np.ones(len(self.seeds), bool), trainable=False)
        """Which seeds still learn; ``freeze(i)`` stops one whose numbers went non-finite."""
        self._act_fn = None
        self._update_fn = None
        # Per-transition shapes of the parts of a batch: obs, action, reward, next_obs, terminated.
        # An algorithm that needs more per transition (TD3's smoothing noise) appends to this list.
        self._batch_shapes = [[self.obs_dim], [self.action_dim], [], [self.obs_dim], []]

    @property
    def group_size(self) -> int:
        return len(self.seeds)

    def config_of(self, index: int) -> DDPGConfig:
        """The config of the seed at ``index`` (its variant)."""
        return self.variants[index]

    def seed_agent(self, index: int):
        """A group of one holding a copy of the seed at ``index`` (to evaluate, film or save it alone)."""
        return type(self)(*self._env_args(), self.config_of(index), [self.seeds[index]], [self.seed_state(index)])

    @classmethod
    def group_of(cls, agents: Sequence["GroupLearner"]):
        """One group holding the seeds of several agents built for the same env, each seed keeping its own config
        (for example the ``Run.agent`` of each seed of a run): acting or evaluating all of them then costs one
        compiled call."""
        first = agents[0]
        if any(not all(np.array_equal(x, y) for x, y in zip(first._env_args(), a._env_args())) for a in agents):
            raise ValueError("group_of needs agents built for the same env (observation size, actions)")
        return cls(*first._env_args(), first.config, [seed for a in agents for seed in a.seeds],
                   [a.seed_state(i) for a in agents for i in range(a.group_size)],
                   variants=[a.config_of(i) for a in agents for i in range(a.group_size)])

    def freeze(self, index: int) -> None:
        """Stop updating the seed at ``index``: its weights stay as they are, the other seeds go on learning."""
        mask = self.training.numpy()
        mask[index] = False
        self.training.assign(mask)

    def extra_state(self) -> dict:
        """Random streams the learner keeps outside ``state`` (TD3's smoothing noise), for a checkpoint."""
        return {}

    def set_extra_state(self, extra: dict) -> None:
        """Restore what ``extra_state`` returned."""

    def seed_state(self, index: int = 0):
        """The state of the seed at ``index`` in the group, as NumPy arrays."""
        return tf.nest.map_structure(lambda v: v[index].numpy(), self.state)

    # ----- acting -------------------------------------------------------
    def per_seed(self, fn):
        """``fn(state, obs)`` of one seed, mapped over the group: a graph from observations (group, n, obs_dim)."""

        def graph(obs):
            state = tf.nest.map_structure(tf.convert_to_tensor, self.state)
            return tf.vectorized_map(lambda args: fn(*args), (state, obs))

        return compiled(graph, tf.TensorSpec([self.group_size, None, self.obs_dim], tf.float32))

    def act_group(self, obs: np.ndarray) -> np.ndarray:
        """Actions of every seed: observations (group, n, obs_dim) -> actions (group, n, action_dim)."""
        if self._act_fn is None:
            self._act_fn = self.per_seed(self._policy)
        return self._act_fn(tf.constant(np.asarray(obs, np.float32))).numpy()

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Noise-free action for one observation (obs_dim,) or a batch (n, obs_dim); a group of one only."""
        if self.group_size != 1:
            raise ValueError(f"act() is for a group of one; this group has {self.group_size} seeds: "
                             "use act_group(), or seed_agent(i).act()")
        obs = np.asarray(obs, dtype=np.float32)
        if obs.ndim == 1:
            return self.act_group(obs[None, None])[0, 0]
        return self.act_group(obs[None])[0]

    # ----- learning -----------------------------------------------------
    def _update_graph(self, *batches):
        """Up to k updates for every seed: each batch part is (group, k, batch, ...). Returns the statistics,
        (group, k, 3) with the rows after a stop left zero, and k', the number of updates that ran.

        The loop stops after the first update in which a training seed's loss was not
        finite. That seed's state is left as it was before it, so no later update
        trains on garbage. Frozen seeds (``freeze``) keep their state, and their
        losses do not stop the loop.
        """
        start = tf.nest.map_structure(tf.convert_to_tensor, self.state)
        frozen = tf.logical_not(tf.convert_to_tensor(self.training))
        n = tf.shape(batches[0])[1]
        stats = tf.TensorArray(tf.float32, size=n, element_shape=[self.group_size, len(UpdateStats._fields)])

        def one_update(args):
            seed_state, batch = args
            new, seed_stats = self._train_step(seed_state, batch)
            ok = tf.logical_and(tf.math.is_finite(seed_stats.critic_loss), tf.math.is_finite(seed_stats.actor_loss))
            return keep_if(ok, new, seed_state), tf.stack(seed_stats), ok  # a NaN is never learned from

        def body(i, state, stats, ok):
            batch = tuple(part[:, i] for part in batches)
            state, row, seed_ok = tf.vectorized_map(one_update, (state, batch))
            return i + 1, state, stats.write(i, row), tf.reduce_all(tf.logical_or(seed_ok, frozen))

        i, state, stats, _ = tf.while_loop(
            lambda i, state, stats, ok: tf.logical_and(i < n, ok), body, (tf.constant(0), start, stats, True)
        )

        def assign(var, new, old):  # frozen seeds keep the state they started the call with
            var.assign(tf.where(tf.reshape(frozen, [-1] + [1] * (new.shape.rank - 1)), old, new))

        tf.nest.map_structure(assign, self.state, state, start)
        # All n rows come back (rows after a stop stay zero) with the count of updates that ran:
        # a dynamic slice inside XLA would need shapes it cannot always compile.
        return tf.transpose(stats.stack(), [1, 0, 2]), i

    def update_group(self, batches) -> UpdateStats:
        """One update per batch for every seed; ``batches`` has leading axes (group, k, batch_size).

        Returns statistics of shape (group, k'); k' < k means a loss went
        non-finite in update k' and the loop stopped there.
        """
        if self._update_fn is None:
            self._update_fn = compiled(self._update_graph, *[tf.TensorSpec([self.group_size, None, None, *shape],
                                                                           tf.float32) for shape in self._batch_shapes])
        stats, ran = self._update_fn(*[tf.constant(np.asarray(b, np.float32)) for b in batches])
        stats = stats.numpy()[:, : int(ran)]
        return UpdateStats(*np.moveaxis(stats, -1, 0))

    def update(self, batches) -> UpdateStats:
        """A group of one: one update per batch in a stack with leading axes (k, batch_size)."""
        if self.group_size != 1:
            raise ValueError(f"update() is for a group of one; this group has {self.group_size} seeds: "
                             "use update_group() with batches of leading axes (group, k, batch_size)")
        stats = self.update_group([np.asarray(b)[None] for b in batches])
        return UpdateStats(*(s[0] for s in stats))
