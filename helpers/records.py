"""What a training run records: every seed's ``History``, the loop's bookkeeping (``RunLog``), the finished runs
(``Run``, ``GroupRun``) and the two ways a run stops early. This module imports no TensorFlow, so plots and
summaries of stored runs can be made without it.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
from tqdm import tqdm

from helpers.buffer import ReplayBuffer
from helpers.config import DDPGConfig


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

    def checkpoint_state(self) -> dict:
        """The records so far, for a checkpoint (the progress bar is made afresh on resuming)."""
        return {"histories": self.histories, "episode_return": self.episode_return, "frozen": self.frozen,
                "time_s": dict(self.time_s), "last_eval": self.last_eval, "step": self.step,
                "elapsed_s": time.perf_counter() - self.start}

    def restore_checkpoint_state(self, saved: dict) -> None:
        self.histories, self.episode_return, self.frozen = saved["histories"], saved["episode_return"], saved["frozen"]
        self.time_s.update(saved["time_s"])
        self.last_eval, self.step = saved["last_eval"], saved["step"]
        self.start = time.perf_counter() - saved["elapsed_s"]  # wall time counts the run before the interruption
        self.bar.update(self.step)

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


class Run(NamedTuple):
    """One finished seed of a group run: its own agent, history and replay buffer."""

    seed: int
    agent: Any
    """A group of one holding this seed (``GroupLearner.seed_agent``)."""
    history: History
    buffer: ReplayBuffer


class GroupRun(NamedTuple):
    """A finished group run: the agent (all seeds), one history and one replay buffer per seed."""

    agent: Any
    """The trained agent, all seeds in one group (a ``GroupLearner``)."""
    histories: list[History]
    buffers: list[ReplayBuffer]

    def runs(self, indices: Sequence[int] | None = None) -> list["Run"]:
        """One ``Run`` per seed (those at ``indices``, default all), each with a group-of-one agent of its own."""
        indices = range(len(self.histories)) if indices is None else indices
        return [Run(self.histories[i].seed, self.agent.seed_agent(i), self.histories[i], self.buffers[i])
                for i in indices]
