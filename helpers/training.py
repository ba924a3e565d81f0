"""The DDPG training loop: act, store, update, evaluate."""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from functools import partial

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
    """Env steps actually taken."""
    wall_s: float = 0.0
    """Wall time of the whole run, evaluations included."""
    eval_wall_s: float = 0.0
    """Part of ``wall_s`` spent in the periodic evaluations."""
    steps_per_s: float = 0.0
    """Env steps per second (each after the warm-up with its gradient update), evaluations excluded."""
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


def train(
    config: DDPGConfig = DDPGConfig(),
    env_fn: EnvFactory | None = None,
    progress: bool = True,
    agent: DDPGAgent | None = None,
    buffer: ReplayBuffer | None = None,
) -> tuple[DDPGAgent, History]:
    """Train DDPG for ``config.total_steps`` env steps and return the agent and its history.

    ``env_fn`` makes the env (default: ``make_env(config.env_id)``); pass one to
    train on a wrapped env. ``agent`` continues training an existing agent, and
    ``buffer`` lets the caller keep (and inspect) the replay buffer.
    """
    env_fn = env_fn or partial(make_env, config.env_id)
    rng = seed_everything(config.seed)
    env = env_fn()
    low, high = env.action_space.low, env.action_space.high
    obs_dim, action_dim = env.observation_space.shape[0], env.action_space.shape[0]
    if agent is None:
        agent = DDPGAgent.for_env(env, config)
    buffer = buffer if buffer is not None else ReplayBuffer(config.buffer_size, obs_dim, action_dim, rng)
    noise = make_noise(config.noise, config.noise_sigma * (high - low) / 2.0, rng, config.ou_theta, config.ou_dt)
    history = History()

    def fail(what: str, step: int):
        bar.close()
        env.close()
        history.total_steps = step
        history.wall_s = time.perf_counter() - start
        raise TrainingDivergedError(f"{what} at env step {step}; training stopped", step, history)

    start = time.perf_counter()
    # Seed the env once per run; later resets continue its random stream.
    obs, _ = env.reset(seed=config.seed)
    env.action_space.seed(config.seed)
    episode_return, pending_updates, recent = 0.0, 0, "n/a"
    # Plain-text bar on stdout: it reads the same in a terminal, Jupyter, Colab and a saved notebook.
    bar = tqdm(total=config.total_steps, disable=not progress, unit="step", mininterval=2.0, file=sys.stdout,
               dynamic_ncols=False, ncols=110)
    for step in range(1, config.total_steps + 1):
        if step <= config.warmup_steps:
            action = env.action_space.sample()
        else:
            action = agent.act(obs)
            if noise is not None:
                action = np.clip(action + noise(), low, high)
        if not np.all(np.isfinite(action)):
            fail(f"the action became {action}", step)

        next_obs, reward, terminated, truncated, _ = env.step(action)
        if not (np.all(np.isfinite(next_obs)) and np.isfinite(reward)):
            fail(f"the env returned a non-finite observation or reward ({next_obs}, {reward})", step)
        # Store `terminated` only: a truncated episode's last state still has a future.
        buffer.add(obs, action, reward, next_obs, terminated)
        obs = next_obs
        episode_return += float(reward)

        if terminated or truncated:
            history.episode_returns.append(episode_return)
            history.episode_end_steps.append(step)
            recent = f"{np.mean(history.episode_returns[-10:]):.0f}"
            obs, _ = env.reset()
            if noise is not None:
                noise.reset()  # OU noise must not carry one episode's drift into the next
            episode_return = 0.0

        if step > config.warmup_steps:
            pending_updates += 1
        if pending_updates and (pending_updates == config.update_every or step == config.total_steps):
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
                fail(f"the critic loss became {stats.critic_loss[bad][0]} or the actor loss "
                     f"{stats.actor_loss[bad][0]}", at)
            pending_updates = 0

        if config.eval_every and step % config.eval_every == 0:
            t0 = time.perf_counter()
            returns = evaluate(agent.act, env_fn, config.eval_episodes)
            history.eval_wall_s += time.perf_counter() - t0
            history.eval_steps.append(step)
            history.eval_returns.append(returns.tolist())
            bar.set_postfix_str(f"return(10 ep)={recent} eval={returns.mean():.0f}", refresh=False)
        elif step % 200 == 0:
            bar.set_postfix_str(f"return(10 ep)={recent}", refresh=False)
        if step % 100 == 0:
            bar.update(100)
    bar.update(config.total_steps - bar.n)
    bar.close()
    env.close()

    history.total_steps = config.total_steps
    history.wall_s = time.perf_counter() - start
    history.steps_per_s = config.total_steps / max(history.wall_s - history.eval_wall_s, 1e-9)
    return agent, history
