"""The DDPG training loop: act, store, update, evaluate."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Callable, NamedTuple

import numpy as np
from tqdm import tqdm

from helpers.agent import DDPGAgent
from helpers.buffer import ReplayBuffer
from helpers.config import DDPGConfig
from helpers.envs import EnvFactory, make_env, seed_everything
from helpers.evaluation import evaluate
from helpers.noise import make_noise


@dataclass
class History:
    """Everything a run measured. ``to_dict()`` gives plain JSON-ready values."""

    episode_returns: list[float] = field(default_factory=list)
    """Return of each training episode (with exploration noise)."""
    episode_end_steps: list[int] = field(default_factory=list)
    """Env step at which each training episode ended."""
    eval_steps: list[int] = field(default_factory=list)
    """Env steps at which the noise-free policy was evaluated."""
    eval_returns: list[list[float]] = field(default_factory=list)
    """Per evaluation, the return of every evaluation episode."""
    update_steps: list[int] = field(default_factory=list)
    """Env step of each gradient update."""
    critic_loss: list[float] = field(default_factory=list)
    actor_loss: list[float] = field(default_factory=list)
    mean_q: list[float] = field(default_factory=list)
    total_steps: int = 0
    """Env steps actually taken (fewer than configured if the run stopped early)."""
    wall_s: float = 0.0
    """Wall time of the whole run, evaluations included."""
    eval_wall_s: float = 0.0
    """Part of ``wall_s`` spent in the periodic evaluations."""
    steps_per_s: float = 0.0
    """Env steps per second over the whole run, evaluations excluded; it includes the fast
    warm-up steps and the one-off graph compilation (``compile_s``)."""
    compile_s: float = 0.0
    """Wall time of the first update phase, which traces and XLA-compiles the update graph."""

    def eval_means(self) -> np.ndarray:
        return np.array([np.mean(r) for r in self.eval_returns])

    def to_dict(self) -> dict:
        return asdict(self)


class TrainingDivergedError(FloatingPointError):
    """A loss, action, observation or reward became NaN or infinite.

    ``history`` holds everything measured up to that point and ``step`` the
    env step where it happened.
    """

    def __init__(self, message: str, step: int, history: History):
        super().__init__(message)
        self.step = step
        self.history = history


def make_replay_buffer(config: DDPGConfig, env) -> ReplayBuffer:
    """The replay buffer ``train`` makes when none is given.

    Its sampling has a random stream of its own, derived from the seed but
    independent of the exploration noise's stream.
    """
    rng = np.random.default_rng([config.seed, 1])
    return ReplayBuffer(config.buffer_size, env.observation_space.shape[0], env.action_space.shape[0], rng)


class NoisyExplorer:
    """DDPG's behaviour policy: uniform random actions during the warm-up, then
    mu(s) + noise, clipped to the action box. ``reset()`` starts a new episode."""

    def __init__(self, act, noise, action_space, warmup_steps: int):
        self.act, self.noise, self.space, self.warmup_steps = act, noise, action_space, warmup_steps

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        if step <= self.warmup_steps:
            return self.space.sample()
        action = self.act(obs)
        if self.noise is None:
            return action
        return np.clip(action + self.noise(), self.space.low, self.space.high)

    def reset(self) -> None:
        if self.noise is not None:
            self.noise.reset()  # OU noise must not carry one episode's drift into the next


LEARNING_FIELDS = ("gamma", "tau", "actor_lr", "critic_lr", "hidden_sizes", "normalization")


def train(
    config: DDPGConfig = DDPGConfig(),
    env_fn: EnvFactory | None = None,
    progress: bool = True,
    agent: DDPGAgent | None = None,
    buffer: ReplayBuffer | None = None,
    explorer=None,
    on_step: Callable[[int, DDPGAgent], None] | None = None,
) -> tuple[DDPGAgent, History]:
    """Train DDPG for ``config.total_steps`` env steps and return the agent and its history.

    ``env_fn`` makes the env (default: ``make_env(config.env_id)``); pass one to
    train on a wrapped env. ``agent`` continues training an existing agent, and
    ``buffer`` lets the caller keep (and inspect) the replay buffer.
    ``explorer(obs, step)`` picks the behaviour action (default: ``NoisyExplorer``
    with the config's warm-up and noise); any agent with ``act``, ``update`` and
    ``config``, such as ``helpers.dqn.DQNAgent``, can be trained by this loop.
    ``on_step(step, agent)`` runs after every env step, once the updates and the
    evaluation due at that step are done (``helpers.gallery`` films snapshots with
    it); it must not touch the training env or the noise, so the run stays the same.
    """
    env_fn = env_fn or partial(make_env, config.env_id)
    rng = seed_everything(config.seed)  # the exploration noise's stream
    env = env_fn()
    low, high = env.action_space.low, env.action_space.high
    if agent is None:
        agent = DDPGAgent.for_env(env, config)
    mismatch = [f for f in LEARNING_FIELDS if getattr(agent.config, f) != getattr(config, f)]
    if mismatch:
        env.close()
        raise ValueError(f"the agent was built with other settings for {', '.join(mismatch)}; "
                         "build it with this config")
    buffer = buffer if buffer is not None else make_replay_buffer(config, env)
    if explorer is None:
        noise = make_noise(config.noise, config.noise_sigma * (high - low) / 2.0, rng, config.ou_theta, config.ou_dt)
        explorer = NoisyExplorer(agent.act, noise, env.action_space, config.warmup_steps)
    history = History()

    def fail(what: str, at: int, taken: int):
        bar.close()
        env.close()
        history.total_steps = taken
        history.wall_s = time.perf_counter() - start
        raise TrainingDivergedError(f"{what} at env step {at}; training stopped", at, history)

    start = time.perf_counter()
    # Seed the env once per run; later resets continue its random stream.
    obs, _ = env.reset(seed=config.seed)
    env.action_space.seed(config.seed)
    episode_return, pending_updates, recent, last_eval = 0.0, 0, "n/a", ""
    # Plain-text bar on stdout: it reads the same in a terminal, Jupyter, Colab and a saved notebook.
    bar = tqdm(total=config.total_steps, disable=not progress, unit="step", mininterval=2.0, file=sys.stdout,
               dynamic_ncols=False, ncols=110)
    for step in range(1, config.total_steps + 1):
        action = explorer(obs, step)
        if not np.all(np.isfinite(action)):
            fail(f"the action became {action}", step, step - 1)

        next_obs, reward, terminated, truncated, _ = env.step(action)
        if not (np.all(np.isfinite(next_obs)) and np.isfinite(reward)):
            fail(f"the env returned a non-finite observation or reward ({next_obs}, {reward})", step, step)
        # Store `terminated` only: a truncated episode's last state still has a future.
        buffer.add(obs, action, reward, next_obs, terminated)
        obs = next_obs
        episode_return += float(reward)

        if terminated or truncated:
            history.episode_returns.append(episode_return)
            history.episode_end_steps.append(step)
            recent = f"{np.mean(history.episode_returns[-10:]):.0f}"
            obs, _ = env.reset()
            explorer.reset()
            episode_return = 0.0

        if step > config.warmup_steps:
            pending_updates += 1
        # Update phases fall on multiples of update_every, so evaluations (also on such
        # multiples, see DDPGConfig) always see every update owed to the steps before them.
        if pending_updates and (step % config.update_every == 0 or step == config.total_steps):
            t0 = time.perf_counter()
            stats = agent.update(buffer.sample(config.batch_size, pending_updates))
            if not history.update_steps:
                history.compile_s = time.perf_counter() - t0
            first = step - pending_updates + 1
            history.update_steps.extend(range(first, first + len(stats.critic_loss)))
            history.critic_loss.extend(stats.critic_loss.tolist())
            history.actor_loss.extend(stats.actor_loss.tolist())
            history.mean_q.extend(stats.mean_q.tolist())
            bad = ~(np.isfinite(stats.critic_loss) & np.isfinite(stats.actor_loss))
            if bad.any():
                at = first + int(np.argmax(bad))
                fail(f"a loss became non-finite (critic loss {stats.critic_loss[bad][0]}, "
                     f"actor loss {stats.actor_loss[bad][0]:.4g})", at, step)
            pending_updates = 0

        if config.eval_every and step % config.eval_every == 0:
            t0 = time.perf_counter()
            returns = evaluate(agent.act, env_fn, config.eval_episodes)
            history.eval_wall_s += time.perf_counter() - t0
            history.eval_steps.append(step)
            history.eval_returns.append(returns.tolist())
            last_eval = f" eval={returns.mean():.0f}"
        if on_step is not None:
            on_step(step, agent)
        if step % 100 == 0:
            bar.set_postfix_str(f"return(10 ep)={recent}{last_eval}", refresh=False)
        if step % 100 == 0:
            bar.update(100)
    bar.update(config.total_steps - bar.n)
    bar.close()
    env.close()

    history.total_steps = config.total_steps
    history.wall_s = time.perf_counter() - start
    history.steps_per_s = config.total_steps / max(history.wall_s - history.eval_wall_s, 1e-9)
    return agent, history


class Run(NamedTuple):
    """One finished training run."""

    seed: int
    agent: DDPGAgent
    history: History
    buffer: ReplayBuffer


def train_seeds(
    config: DDPGConfig, seeds, env_fn: EnvFactory | None = None, label: str = "", trainer=None
) -> list[Run]:
    """Train one run per seed (same config otherwise); print one line per finished run.

    The replay buffers are kept, so the states each run visited can be inspected.
    ``trainer`` (default ``train``) is called as ``trainer(config, env_fn, progress=False,
    buffer=buffer)``; pass ``helpers.dqn.train_dqn`` to train DQN instead.
    """
    trainer = trainer or train
    runs = []
    for seed in seeds:
        run_config = replace(config, seed=seed)
        probe = (env_fn or partial(make_env, config.env_id))()
        buffer = make_replay_buffer(run_config, probe)
        probe.close()
        agent, history = trainer(run_config, env_fn, progress=False, buffer=buffer)
        last = f", last evaluation {history.eval_means()[-1]:.1f}" if history.eval_steps else ""
        print(f"{label or config.env_id} seed {seed}: {history.total_steps} steps in {history.wall_s:.0f} s{last}",
              flush=True)
        runs.append(Run(seed, agent, history, buffer))
    return runs
