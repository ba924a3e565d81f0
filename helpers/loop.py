"""The DDPG training loop: act, step, store, update, evaluate, for one seed or a group of seeds.

``train_group`` trains N seeds of one config side by side: N envs step
together, one compiled act call per env step and one compiled update call
per update phase serve the whole group (see ``helpers.group``). ``train`` is a
group of one, and ``train_seeds`` is what the notebooks call.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Callable, NamedTuple, Sequence

import numpy as np
from tqdm import tqdm

from helpers.agent import DDPGAgent
from helpers.buffer import ReplayBuffer
from helpers.config import DDPGConfig
from helpers.envs import EnvFactory, make_env
from helpers.evaluation import Evaluator
from helpers.group import stack_samples
from helpers.noise import make_noise


@dataclass
class History:
    """Everything one seed's run measured. ``to_dict()`` gives plain JSON-ready values."""

    seed: int = 0
    episode_returns: list[float] = field(default_factory=list)
    """Return of each training episode (with exploration noise)."""
    episode_end_steps: list[int] = field(default_factory=list)
    """Env step at which each training episode ended."""
    eval_steps: list[int] = field(default_factory=list)
    """Env steps at which the noise-free policy was evaluated."""
    eval_returns: list[list[float]] = field(default_factory=list)
    """Per evaluation, the return of every evaluation episode."""
    eval_at_bounds: list[float] = field(default_factory=list)
    """Per evaluation, the share of the noise-free actions at a bound of the action box (1.0: an actor
    collapsed onto its bounds; see ``helpers.evaluation.share_at_bounds``)."""
    update_steps: list[int] = field(default_factory=list)
    """Env step of each gradient update."""
    critic_loss: list[float] = field(default_factory=list)
    actor_loss: list[float] = field(default_factory=list)
    mean_q: list[float] = field(default_factory=list)
    total_steps: int = 0
    """Env steps actually taken (fewer than configured if the run stopped early)."""
    group_size: int = 1
    """Seeds trained side by side with this one, itself included."""
    wall_s: float = 0.0
    """Wall time of the whole group run, evaluations included."""
    eval_wall_s: float = 0.0
    """Part of ``wall_s`` spent in the periodic evaluations."""
    steps_per_s: float = 0.0
    """This seed's env steps per second, evaluations excluded; it includes the fast warm-up steps and
    the one-off graph compilation (``compile_s``). The group's aggregate is this times ``group_size``."""
    compile_s: float = 0.0
    """Wall time of the first update phase, which traces and XLA-compiles the update graph."""
    time_s: dict[str, float] = field(default_factory=dict)
    """Where the group's wall time went: act, env, buffer, update, eval (seconds)."""
    diverged: str = ""
    """Why this seed was frozen (a NaN or inf, and the env step), or "" if it trained to the end. A frozen
    seed's weights stay as they were before the bad number; the other seeds of its group go on."""

    def eval_means(self) -> np.ndarray:
        return np.array([np.mean(r) for r in self.eval_returns])

    def final_return(self, last: int = 3) -> float:
        """The run's final performance: the mean of its last ``last`` evaluations (each a mean over episodes).

        Averaging a few checkpoints, not reading the last one alone, keeps one lucky or unlucky evaluation
        from deciding a seed's score."""
        if self.diverged:
            raise ValueError(f"seed {self.seed} was frozen ({self.diverged}): leave it out of the comparison")
        if not self.eval_returns:
            raise ValueError("this run was never evaluated")
        return float(self.eval_means()[-last:].mean())

    def to_dict(self) -> dict:
        return asdict(self)


class TrainingDivergedError(FloatingPointError):
    """A loss, action, observation or reward became NaN or infinite in the last seed still training.

    (While other seeds of the group still train, a diverging seed is frozen instead: see ``History.diverged``.)

    ``seed`` names it and ``step`` is the env step where it happened;
    ``histories`` holds every seed's measurements up to there, and ``history``
    the diverged seed's.
    """

    def __init__(self, message: str, seed: int, step: int, histories: list[History]):
        super().__init__(message)
        self.seed, self.step, self.histories = seed, step, histories
        self.history = next(h for h in histories if h.seed == seed)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (or a kernel interrupt) during training. ``run`` holds the agent, every seed's history and
    replay buffer as they were when it stopped, so nothing done so far is lost."""

    def __init__(self, run: "GroupRun"):
        super().__init__(f"training interrupted at env step {run.histories[0].total_steps}")
        self.run = run


def make_replay_buffer(config: DDPGConfig, env) -> ReplayBuffer:
    """The replay buffer of seed ``config.seed``, as the loop makes it.

    Its sampling has a random stream of its own, derived from the seed but
    independent of the exploration noise's stream.
    """
    rng = np.random.default_rng([config.seed, 1])
    return ReplayBuffer(config.buffer_size, env.observation_space.shape[0], env.action_space.shape[0], rng)


class NoisyExplorer:
    """DDPG's behaviour policy for a group: uniform random actions during the warm-up, then
    mu(s) + noise, clipped to the action box. Each seed has its own noise and action space."""

    def __init__(self, agent, noises: list, action_spaces: list, warmup_steps: int):
        self.agent, self.noises, self.spaces, self.warmup_steps = agent, noises, action_spaces, warmup_steps
        self.low, self.high = action_spaces[0].low, action_spaces[0].high

    @classmethod
    def for_config(cls, agent, config: DDPGConfig, envs: list) -> "NoisyExplorer":
        """The config's noise for every seed of ``agent``, each drawn from ``default_rng(seed)``."""
        low, high = envs[0].action_space.low, envs[0].action_space.high
        noises = [make_noise(config.noise, config.noise_sigma * (high - low) / 2.0, np.random.default_rng(seed),
                             config.ou_theta, config.ou_dt) for seed in agent.seeds]
        return cls(agent, noises, [env.action_space for env in envs], config.warmup_steps)

    def __call__(self, obs: np.ndarray, step: int) -> np.ndarray:
        """Actions (group, action_dim) for observations (group, obs_dim)."""
        if step <= self.warmup_steps:
            return np.stack([space.sample() for space in self.spaces])
        action = self.agent.act_group(obs[:, None])[:, 0]
        if self.noises[0] is None:
            return action
        return np.clip(action + np.stack([noise() for noise in self.noises]), self.low, self.high)

    def reset(self, index: int) -> None:
        """A new episode began in seed ``index``'s env: OU noise must not carry the last one's drift."""
        if self.noises[index] is not None:
            self.noises[index].reset()


class GroupEnvs:
    """One env per seed, stepped side by side. Env i is reset with ``seeds[i]`` once, at the start of the run;
    later resets continue its random stream. Each env resets on its own when its episode ends."""

    def __init__(self, env_fn: EnvFactory, seeds: Sequence[int]):
        self.envs = [env_fn() for _ in seeds]
        self.seeds = list(seeds)

    def reset_all(self) -> np.ndarray:
        for env, seed in zip(self.envs, self.seeds):
            env.action_space.seed(seed)
        return np.stack([env.reset(seed=seed)[0] for env, seed in zip(self.envs, self.seeds)])

    def step(self, actions: np.ndarray):
        """Step every env; returns stacked next_obs, reward, terminated, truncated."""
        results = [env.step(a)[:4] for env, a in zip(self.envs, actions)]
        next_obs, reward, terminated, truncated = zip(*results)
        return np.stack(next_obs), np.array(reward, np.float64), np.array(terminated), np.array(truncated)

    def reset(self, index: int) -> np.ndarray:
        return self.envs[index].reset()[0]

    def close(self) -> None:
        for env in self.envs:
            env.close()


class RunLog:
    """The loop's bookkeeping: per-seed histories, episode returns, timings, the progress bar and the
    single place where non-finite numbers freeze a seed (or stop the run, when no seed would be left)."""

    def __init__(self, config: DDPGConfig, seeds: Sequence[int], progress: bool,
                 on_freeze: Callable[[int], None] | None = None):
        self.config, self.on_freeze = config, on_freeze
        self.seeds = list(seeds)
        self.histories = [History(seed=s, group_size=len(self.seeds)) for s in self.seeds]
        self.episode_return = np.zeros(len(self.seeds))
        self.time_s: dict[str, float] = defaultdict(float)
        self.start = time.perf_counter()
        self.step = 0
        self.last_eval = ""
        self.frozen: dict[int, int] = {}
        """Index of each frozen seed -> the env steps it had completed."""
        group = f" ×{len(self.seeds)} seeds" if len(self.seeds) > 1 else ""
        # Plain-text bar on stdout: it reads the same in a terminal, Jupyter, Colab and a saved notebook.
        self.bar = tqdm(total=config.total_steps, disable=not progress, unit="step", mininterval=2.0,
                        file=sys.stdout, dynamic_ncols=False, ncols=110, desc=group.strip() or None)

    @contextmanager
    def clock(self, part: str):
        """Add the time spent inside the block to ``part`` (act, env, buffer, update, eval)."""
        t0 = time.perf_counter()
        yield
        self.time_s[part] += time.perf_counter() - t0

    def check_finite(self, what: str, values: np.ndarray, step: int, taken: int) -> np.ndarray:
        """Freeze every training seed whose ``values`` row holds a NaN or inf (``taken`` env steps were
        completed). Returns which rows, frozen seeds' included, are not finite."""
        rows = np.asarray(values, dtype=np.float64).reshape(len(self.seeds), -1)
        bad = ~np.isfinite(rows).all(axis=1)
        for i in np.flatnonzero(bad):
            if i not in self.frozen:
                self.freeze(int(i), f"the {what} became non-finite ({rows[i].tolist()})", step, taken)
        return bad

    def freeze(self, index: int, what: str, step: int, taken: int) -> None:
        """Take seed ``index`` out of training, or stop the run if it was the last seed still training."""
        if len(self.frozen) + 1 == len(self.seeds):
            self.fail(what, index, step, taken)
        self.frozen[index] = taken
        if self.on_freeze is not None:
            self.on_freeze(index)
        self.histories[index].diverged = f"{what} at env step {step}"
        self.bar.write(f"seed {self.seeds[index]}: {what} at env step {step}; this seed is frozen and left out, "
                       f"the other {len(self.seeds) - len(self.frozen)} go on", file=sys.stdout)

    def end_episodes(self, step: int, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        """Add this step's rewards; return the indices of the seeds whose episode just ended."""
        self.episode_return += reward
        ended = np.flatnonzero(done)
        for i in ended:
            if i not in self.frozen:
                self.histories[i].episode_returns.append(float(self.episode_return[i]))
                self.histories[i].episode_end_steps.append(step)
            self.episode_return[i] = 0.0
        return ended

    def record_updates(self, first: int, stats, seconds: float, taken: int) -> None:
        """Store the losses of the updates owed to the steps from ``first`` on; freeze a seed whose loss
        went non-finite (``taken`` env steps were completed)."""
        losses = np.stack([stats.critic_loss, stats.actor_loss], axis=-1)  # (group, k, 2)
        bad = ~np.isfinite(losses).all(axis=-1)
        for i, h in enumerate(self.histories):
            if i in self.frozen:
                continue
            if not h.update_steps:
                h.compile_s = seconds
            k = int(np.argmax(bad[i])) + 1 if bad[i].any() else losses.shape[1]  # up to the bad update
            h.update_steps.extend(range(first, first + k))
            h.critic_loss.extend(stats.critic_loss[i, :k].tolist())
            h.actor_loss.extend(stats.actor_loss[i, :k].tolist())
            h.mean_q.extend(stats.mean_q[i, :k].tolist())
            if bad[i].any():
                self.freeze(i, f"a loss became non-finite (critic loss {losses[i, k - 1, 0]:.4g}, actor loss "
                               f"{losses[i, k - 1, 1]:.4g})", first + k - 1, taken)

    def record_eval(self, step: int, returns: np.ndarray, at_bounds: np.ndarray) -> None:
        for i, (h, r, share) in enumerate(zip(self.histories, returns, at_bounds)):
            if i in self.frozen:
                continue
            h.eval_steps.append(step)
            h.eval_returns.append(r.tolist())
            h.eval_at_bounds.append(float(share))
        training = [i for i in range(len(self.seeds)) if i not in self.frozen]
        self.last_eval = f" eval={returns[training].mean():.0f}"

    def progress(self, step: int) -> None:
        self.step = step
        if step % 100 == 0:
            recent = [np.mean(h.episode_returns[-10:]) for h in self.histories if h.episode_returns]
            shown = f"{np.mean(recent):.0f}" if recent else "n/a"
            self.bar.set_postfix_str(f"return(10 ep)={shown}{self.last_eval}", refresh=False)
            self.bar.update(100)

    def finish(self) -> list[History]:
        """Close the bar and fill in the totals of every history."""
        self.bar.update(max(self.step - self.bar.n, 0))
        self.bar.close()
        wall = time.perf_counter() - self.start
        for i, h in enumerate(self.histories):
            h.total_steps = self.frozen.get(i, self.step)
            h.wall_s = wall
            h.eval_wall_s = self.time_s["eval"]
            h.steps_per_s = self.step / max(wall - self.time_s["eval"], 1e-9)
            h.time_s = {k: round(v, 3) for k, v in self.time_s.items()}
        return self.histories

    def fail(self, what: str, index: int, step: int, taken: int):
        self.step = taken
        histories = self.finish()
        seed = self.seeds[index]
        raise TrainingDivergedError(f"seed {seed}: {what} at env step {step}; training stopped", seed, step,
                                    histories)


LEARNING_FIELDS = ("gamma", "tau", "actor_lr", "critic_lr", "hidden_sizes", "normalization", "critic_action",
                   "twin_critics", "policy_delay", "target_noise", "target_noise_clip")


class GroupRun(NamedTuple):
    """A finished group run: the agent (all seeds), one history and one replay buffer per seed."""

    agent: DDPGAgent
    histories: list[History]
    buffers: list[ReplayBuffer]


def train_group(
    config: DDPGConfig,
    seeds: Sequence[int] | None = None,
    env_fn: EnvFactory | None = None,
    progress: bool = True,
    agent=None,
    explorer=None,
    on_step: Callable[[int, object], None] | None = None,
) -> GroupRun:
    """Train ``config`` once per seed, all seeds side by side, for ``config.total_steps`` env steps each.

    ``seeds`` default to ``[config.seed]``. ``env_fn`` makes an env (default:
    ``make_env(config.env_id)``). ``agent`` continues training an existing agent
    (its seeds are used); ``explorer(obs, step)`` picks the behaviour actions
    of the whole group (default: ``NoisyExplorer``; ``helpers.dqn`` passes
    epsilon-greedy). ``on_step(step, agent)`` runs after every env step, once
    the updates and the evaluation due at that step are done; it must not touch
    the training envs or the noise, so the run stays the same.

    A seed whose action, observation, reward or loss becomes NaN or infinite is frozen (its weights stay as
    they were before, its history ends there with ``diverged`` saying why) and the others go on; only the
    last seed still training raises ``TrainingDivergedError``. Ctrl-C raises ``TrainingInterrupted``, which
    carries the run as it was.
    """
    env_fn = env_fn or partial(make_env, config.env_id)
    seeds = agent.seeds if agent is not None else (list(seeds) if seeds is not None else [config.seed])
    envs = GroupEnvs(env_fn, seeds)
    agent = agent or agent_class(config).for_env(envs.envs[0], config, envs.seeds)
    check_agent(agent, config, envs)
    buffers = [make_replay_buffer(replace(config, seed=s), envs.envs[0]) for s in agent.seeds]
    explorer = explorer or NoisyExplorer.for_config(agent, config, envs.envs)
    evaluator = Evaluator(env_fn, config.eval_episodes, agent.group_size) if config.eval_every else None
    log = RunLog(config, agent.seeds, progress, on_freeze=agent.freeze)
    obs, last_update = envs.reset_all(), config.warmup_steps
    try:
        for step in range(1, config.total_steps + 1):
            with log.clock("act"):
                action = explorer(obs, step)  # a = mu(s) + noise, for every seed
            for i in np.flatnonzero(log.check_finite("action", action, step, taken=step - 1)):
                action[i] = np.clip(0.0, envs.envs[i].action_space.low, envs.envs[i].action_space.high)
            with log.clock("env"):
                next_obs, reward, terminated, truncated = envs.step(action)
            broken = log.check_finite("observation or reward", np.column_stack([next_obs, reward]), step, step)
            with log.clock("buffer"):
                for i, buffer in enumerate(buffers):
                    if i not in log.frozen:  # a frozen seed's env runs on, but nothing more is learned from it
                        # Store `terminated` only: a truncated episode's last state still has a future.
                        buffer.add(obs[i], action[i], reward[i], next_obs[i], terminated[i])
            obs = next_obs
            for i in log.end_episodes(step, reward, terminated | truncated | broken):
                obs[i] = envs.reset(i)  # this env alone; nothing is stored across the reset
                explorer.reset(i)

            # One update per env step after the warm-up, run as a batch of updates every `update_every`
            # steps; evaluations fall on such steps too, so they see every update owed before them.
            if step > last_update and (step % config.update_every == 0 or step == config.total_steps):
                run_updates(agent, buffers, config.batch_size, log, last_update + 1, step)
                last_update = step

            if evaluator and step % config.eval_every == 0:
                with log.clock("eval"):
                    returns = evaluator(agent.act_group)
                    log.record_eval(step, returns, evaluator.share_at_bounds)
            if on_step is not None:
                on_step(step, agent)
            log.progress(step)
    except KeyboardInterrupt:
        raise TrainingInterrupted(GroupRun(agent, log.finish(), buffers)) from None
    finally:
        envs.close()
        if evaluator:
            evaluator.close()
    return GroupRun(agent, log.finish(), buffers)


def run_updates(agent, buffers: list[ReplayBuffer], batch_size: int, log: RunLog, first: int, last: int) -> None:
    """One update per env step from ``first`` to ``last``, for every seed, in as few compiled calls as possible.

    A call stops after an update in which a training seed's loss went non-finite; the log freezes that seed,
    and the updates still owed to the others run in the next call."""
    while first <= last:
        n, t0 = last - first + 1, time.perf_counter()
        with log.clock("update"):
            stats = agent.update_group(stack_samples([b.sample(batch_size, n) for b in buffers]))
        log.record_updates(first, stats, time.perf_counter() - t0, taken=last)
        first += stats.critic_loss.shape[1]


def agent_class(config: DDPGConfig) -> type[DDPGAgent]:
    """The agent a config asks for: ``TD3Agent`` for a ``TD3Config``, else ``DDPGAgent``."""
    from helpers.td3 import TD3Agent, TD3Config

    return TD3Agent if isinstance(config, TD3Config) else DDPGAgent


def check_agent(agent, config: DDPGConfig, envs: GroupEnvs) -> None:
    """The agent must have been built with this config's learning settings."""
    mismatch = [f for f in LEARNING_FIELDS if getattr(agent.config, f, None) != getattr(config, f, None)]
    if mismatch:
        envs.close()
        raise ValueError(f"the agent was built with other settings for {', '.join(mismatch)}; "
                         "build it with this config")


def train(config: DDPGConfig = DDPGConfig(), env_fn: EnvFactory | None = None, progress: bool = True,
          agent=None, explorer=None, on_step=None) -> tuple[DDPGAgent, History]:
    """Train one seed, ``config.seed``: a group of one. Returns the agent and its history."""
    run = train_group(config, None, env_fn, progress, agent, explorer, on_step)
    return run.agent, run.histories[0]


class Run(NamedTuple):
    """One finished seed of a group run: its own agent, history and replay buffer."""

    seed: int
    agent: DDPGAgent
    history: History
    buffer: ReplayBuffer


def train_seeds(config: DDPGConfig, seeds: Sequence[int], env_fn: EnvFactory | None = None, label: str = "",
                trainer=None, progress: bool = False) -> list[Run]:
    """Train every seed as one group (same config otherwise); print one line per seed.

    Each ``Run`` holds a group-of-one agent for its seed, so it can be
    evaluated, filmed or saved alone, and its replay buffer, so the states it
    visited can be inspected. ``trainer`` (default ``train_group``) is called as
    ``trainer(config, seeds, env_fn, progress)``; pass ``helpers.dqn.train_dqn``
    to train DQN instead.
    """
    trainer = trainer or train_group
    run = trainer(config, list(seeds), env_fn, progress)
    runs = []
    for i, (history, buffer) in enumerate(zip(run.histories, run.buffers)):
        last = f", last evaluation {history.eval_means()[-1]:.1f}" if history.eval_steps else ""
        frozen = f"; FROZEN, leave it out: {history.diverged}" if history.diverged else ""
        print(f"{label or config.env_id} seed {history.seed}: {history.total_steps} steps{last}{frozen}", flush=True)
        runs.append(Run(history.seed, run.agent.seed_agent(i), history, buffer))
    h = run.histories[0]
    print(f"{len(runs)} seeds trained side by side in {h.wall_s:.0f} s "
          f"({h.steps_per_s * h.group_size:.0f} env steps/s in all)", flush=True)
    return runs
