"""The training loop of every algorithm of the course (DDPG, TD3, DQN): act, step, store, update, evaluate, for
one seed or a group of seeds.

``train_group`` trains N seeds of one config side by side: N envs step
together, one compiled act call per env step and one compiled update call
per update phase serve the whole group (see ``helpers.group``). ``train`` is a
group of one, ``train_seeds`` is what the notebooks call, and ``train_arms``
trains the arms of a TD3 ablation as one group. What a run records lives in
``helpers.records``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from helpers import checkpoint as checkpoints
from helpers.algorithms import agent_class
from helpers.buffer import ReplayBuffer
from helpers.checkpoint import Checkpointing, Position
from helpers.config import RUN_FIELDS, DDPGConfig, learning_fields
from helpers.envs import EnvFactory, make_env, rng
from helpers.evaluation import Evaluator
from helpers.group import stack_samples
from helpers.records import GroupRun, History, Run, RunLog, TrainingDivergedError, TrainingInterrupted

__all__ = ["GroupRun", "History", "Run", "TrainingDivergedError", "TrainingInterrupted", "build_agent", "run_steps",
           "train", "train_arms", "train_group", "train_seeds"]


def make_replay_buffer(config: DDPGConfig, env) -> ReplayBuffer:
    """The replay buffer of seed ``config.seed``, as the loop makes it; its sampling draws from the seed's
    ``replay`` stream, independent of the exploration noise's."""
    return ReplayBuffer(config.buffer_size, env.observation_space.shape[0], env.action_space.shape[0],
                        rng(config.seed, "replay"))


def build_agent(config: DDPGConfig, env_fn: EnvFactory | None = None, seeds: Sequence[int] | None = None,
                agent_cls: type | None = None, variants: Sequence[DDPGConfig] | None = None):
    """The agent that ``config`` asks for (``helpers.algorithms``), or ``agent_cls``, sized for the env that
    ``env_fn`` makes (default: ``make_env(config.env_id)``), for ``seeds`` (default: ``[config.seed]``)."""
    env = (env_fn or partial(make_env, config.env_id))()
    try:
        return (agent_cls or agent_class(config)).for_env(env, config, seeds, variants=variants)
    finally:
        env.close()


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


def train_group(
    config: DDPGConfig,
    seeds: Sequence[int] | None = None,
    env_fn: EnvFactory | None = None,
    progress: bool = True,
    agent=None,
    explorer=None,
    on_step: Callable[[int, object], None] | None = None,
    checkpoint: Checkpointing | None = None,
    resume: str | Path | None = None,
) -> GroupRun:
    """Train ``config`` once per seed, all seeds side by side, for ``config.total_steps`` env steps each.

    ``seeds`` default to ``[config.seed]``. ``env_fn`` makes an env (default:
    ``make_env(config.env_id)``). ``agent`` continues training an existing agent
    (its seeds are used; default: the agent the config asks for, ``build_agent``);
    ``explorer(obs, step)`` picks the behaviour actions of the whole group
    (default: the agent's own, ``agent.make_explorer``: noise for DDPG and TD3,
    epsilon-greedy for DQN). ``on_step(step, agent)`` runs after every env step,
    once the updates and the evaluation due at that step are done; it must not
    touch the training envs or the noise, so the run stays the same.

    A seed whose action, observation, reward or loss becomes NaN or infinite is frozen (its weights stay as
    they were before, its history ends there with ``diverged`` saying why) and the others go on; only the
    last seed still training raises ``TrainingDivergedError``. Ctrl-C raises ``TrainingInterrupted``, which
    carries the run as it was.

    ``checkpoint`` saves the whole run every ``checkpoint.every`` env steps (``helpers.checkpoint``);
    ``resume`` (a folder with a checkpoint) continues a run from its last checkpoint, exactly.
    """
    env_fn = env_fn or partial(make_env, config.env_id)
    saved = checkpoints.load(resume) if resume is not None else None
    agent = agent_for(config, env_fn, seeds, agent, saved["agent"]["seeds"] if saved else None)
    if checkpoint is not None:
        checkpoint.check(config.update_every)
    envs, evaluator = GroupEnvs(env_fn, agent.seeds), None
    try:  # every env is closed at the end, whatever happens
        buffers = [make_replay_buffer(replace(config, seed=s), envs.envs[0]) for s in agent.seeds]
        position = Position(0, config.warmup_steps, None)
        if saved:
            buffers, position = resume_from(saved, agent, envs, env_fn)
        explorer = explorer or agent.make_explorer(config, envs.envs)
        evaluator = Evaluator(env_fn, config.eval_episodes, agent.group_size) if config.eval_every else None
        log = RunLog(config, agent.seeds, progress, on_freeze=agent.freeze)
        if saved:
            explorer.restore_checkpoint_state(saved["explorer"])
            log.restore_checkpoint_state(saved["log"])
        try:
            run_steps(config, agent, envs, buffers, explorer, evaluator, log, on_step, position, checkpoint)
        except KeyboardInterrupt:
            raise TrainingInterrupted(GroupRun(agent, log.finish(), buffers)) from None
    finally:
        envs.close()
        if evaluator:
            evaluator.close()
    return GroupRun(agent, log.finish(), buffers)


def agent_for(config: DDPGConfig, env_fn: EnvFactory, seeds, agent, saved_seeds):
    """The agent of a run: the one given (checked against ``seeds`` and ``config``) or a new one."""
    if agent is None:
        agent = build_agent(config, env_fn, saved_seeds or seeds)
    elif seeds is not None and list(seeds) != list(agent.seeds):
        raise ValueError(f"seeds {list(seeds)} differ from the agent's {list(agent.seeds)}: pass one or the other")
    check_agent(agent, config)
    return agent


def resume_from(saved: dict, agent, envs: GroupEnvs, env_fn) -> tuple[list[ReplayBuffer], Position]:
    """Put a checkpoint's agent state and envs in place; return its buffers and where the loop stood."""
    checkpoints.restore_agent(agent, saved["agent"])
    for env in envs.envs:
        env.close()
    envs.envs = [checkpoints.restore_env(state, env_fn) for state in saved["envs"]]
    return saved["buffers"], saved["position"]


def run_steps(config: DDPGConfig, agent, envs: GroupEnvs, buffers: list[ReplayBuffer], explorer,
              evaluator: Evaluator | None, log: RunLog, on_step, position: Position | None = None,
              checkpoint: Checkpointing | None = None) -> None:
    """The loop itself: ``config.total_steps`` env steps of the whole group, with its updates and evaluations, from
    the start or from ``position``, saving the run every ``checkpoint.every`` steps."""
    position = position or Position(0, config.warmup_steps, None)
    obs = envs.reset_all() if position.obs is None else position.obs
    last_update = position.last_update
    for step in range(position.step + 1, config.total_steps + 1):
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
        if checkpoint is not None and step % checkpoint.every == 0:
            checkpoints.save(checkpoint, Position(step, last_update, obs.copy()), agent, buffers, explorer, envs, log)


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


def check_agent(agent, config: DDPGConfig) -> None:
    """The agent must have been built with this config's learning settings (``helpers.config.learning_fields``)."""
    names = sorted(learning_fields(config) | learning_fields(agent.config))
    mismatch = [f for f in names if getattr(agent.config, f, None) != getattr(config, f, None)]
    if mismatch:
        raise ValueError(f"the agent was built with other settings for {', '.join(mismatch)}; "
                         "build it with this config")


def train(config: DDPGConfig = DDPGConfig(), env_fn: EnvFactory | None = None, progress: bool = True,
          agent=None, explorer=None, on_step=None) -> tuple:
    """Train one seed, ``config.seed``: a group of one. Returns the agent and its history."""
    run = train_group(config, None, env_fn, progress, agent, explorer, on_step)
    return run.agent, run.histories[0]


def train_seeds(config: DDPGConfig, seeds: Sequence[int], env_fn: EnvFactory | None = None, label: str = "",
                progress: bool = False, agent_cls: type | None = None) -> list[Run]:
    """Train every seed as one group (same config otherwise) and print one line per seed. The algorithm is the
    one ``config`` asks for (a ``DQNConfig`` trains DQN, a ``TD3Config`` TD3), or ``agent_cls``, a subclass
    such as a notebook's agent with a bug put back.

    Each ``Run`` holds a group-of-one agent for its seed, so it can be
    evaluated, filmed or saved alone, and its replay buffer, so the states it
    visited can be inspected.
    """
    agent = build_agent(config, env_fn, list(seeds), agent_cls)
    run = train_group(config, env_fn=env_fn, progress=progress, agent=agent)
    for history in run.histories:
        last = f", last evaluation {history.eval_means()[-1]:.1f}" if history.eval_steps else ""
        frozen = f"; FROZEN, leave it out: {history.diverged}" if history.diverged else ""
        print(f"{label or config.env_id} seed {history.seed}: {history.total_steps} steps{last}{frozen}", flush=True)
    print_speed(run.histories, f"{len(run.histories)} seeds")
    return run.runs()


def train_arms(arms: dict[str, DDPGConfig], seeds: Sequence[int], env_fn: EnvFactory | None = None,
               progress: bool = False, on_step=None, checkpoint: Checkpointing | None = None,
               resume: str | Path | None = None) -> dict[str, list[Run]]:
    """Train every arm (a ``TD3Config``) on every seed, all arms side by side in one group.

    The arms may differ only in TD3's switches (``TD3Config.SWITCHES``); DDPG is the arm with all three off
    (``helpers.config.DDPG_SWITCHES``). One compiled act call per env step and one compiled update call per
    update phase serve every seed of every arm, which is cheaper than one group per arm. Returns
    ``{label: [Run, ...]}`` with one ``Run`` per seed, as ``train_seeds`` does, and prints one line per arm.
    ``on_step(step, agent)`` sees the whole group, arms in the order given, ``len(seeds)`` seeds each.
    ``checkpoint`` and ``resume`` are ``train_group``'s.
    """
    labels, configs, seeds = list(arms), list(arms.values()), list(seeds)
    shared = sorted({f for c in configs for f in RUN_FIELDS if getattr(c, f, None) != getattr(configs[0], f, None)})
    if shared:
        raise ValueError(f"the arms train side by side, so they must share their run settings; they differ in "
                         f"{', '.join(shared)}")
    agent = build_agent(configs[0], env_fn, seeds * len(configs), variants=[c for c in configs for _ in seeds])
    run = train_group(configs[0], env_fn=env_fn, progress=progress, agent=agent, on_step=on_step,
                      checkpoint=checkpoint, resume=resume)
    out, n = {}, len(seeds)
    for a, label in enumerate(labels):
        out[label] = run.runs(range(a * n, (a + 1) * n))
        kept = [r.history for r in out[label] if not r.history.diverged and r.history.eval_steps]
        last = f"last evaluation {np.mean([h.eval_means()[-1] for h in kept]):.1f} (mean over seeds)" if kept else ""
        frozen = f"; {n - len(kept)} frozen seeds left out" if len(kept) < n and kept else ""
        print(f"{label}: {n} seeds, {last}{frozen}", flush=True)
    print_speed(run.histories, f"{len(labels)} arms × {n} seeds")
    return out


def print_speed(histories: list[History], what: str) -> None:
    h = histories[0]
    print(f"{what} trained side by side in {h.wall_s:.0f} s ({h.steps_per_s * h.group_size:.0f} env steps/s in all)",
          flush=True)
