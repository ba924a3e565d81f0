"""Stored long runs: named experiments trained to budgets long enough for every arm to settle.

A notebook has about 6 minutes on a 2-core CPU, too little for some verdicts: at its budgets the arms are still
learning, and a comparison then measures speed, not where the algorithms end up. The experiments named in
``EXPERIMENTS`` are trained once by a maintainer command and stored in ``results/runs/<name>/``:

    python -m helpers.tools.experiments list
    python -m helpers.tools.experiments run td3_two_pendulums

and a notebook loads them with ``load(name)``. A stored run keeps every seed's evaluation curve, its final
100-episode evaluation, the share of its actions at a bound, the critic's Q against the return its actor collects,
the exact config of every arm, the package versions, and a fingerprint of the code that trained it. No weights.

``StoredRun.differences()`` compares the stored configs with what the command would train today; a test fails
when they differ, so a stale result cannot sit in ``results/`` unnoticed. Another test re-trains the first
evaluations of a stored run and gets the stored numbers back.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from helpers.checkpoint import Checkpointing
from helpers.config import DDPG_SWITCHES, DDPGConfig, TD3Config
from helpers.records import History

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "results" / "runs"
COMMAND = "python -m helpers.tools.experiments run"

TRAINING_CODE = ("agent.py", "algorithms.py", "buffer.py", "config.py", "envs.py", "evaluation.py", "group.py",
                 "loop.py", "networks.py", "noise.py", "records.py", "td3.py", "experiments.py", "pitfalls.py",
                 "checkpoint.py")
"""The modules whose source decides a stored run's numbers; their hashes are its code fingerprint."""

CONVERGENCE_WINDOW = 10
"""Evaluations in each of the two windows that ``convergence`` compares (fewer when a run has fewer than twice as
many): long enough that a late fall of one seed shows in its window mean."""

CONVERGENCE_BAND = 0.05
"""The largest band ``convergence`` allows, as a share of the span from doing nothing to the controller."""


@dataclass(frozen=True)
class Experiment:
    """Arms that share one task and budget, each changing a few settings or putting back one bug, trained as groups.

    Arms that differ only in TD3's switches train side by side as one group (``helpers.loop.train_arms``); an arm
    that names a bug trains as a group of its own, with the bug's env wrapper or agent class."""

    name: str
    description: str
    task: DDPGConfig
    """Everything the arms share: env, budget, networks, evaluation schedule."""
    arms: dict = field(default_factory=dict)
    """Arm label -> the config fields it sets (for TD3, its switches: ``TD3Config.SWITCHES``), and optionally
    ``"bug"``: the name of a bug in ``helpers.pitfalls.BUGS`` that the arm puts back. ``{}``: the task as it is."""
    seeds: tuple = tuple(range(10))
    final_episodes: int = 100
    """Episodes of the final noise-free evaluation of every seed (on ``helpers.evaluation``'s fixed starts)."""
    q_every: int = 5_000
    """Env steps between measurements of Q(s0, mu(s0)) against the discounted return collected from s0."""
    q_episodes: int = 5
    q_horizon: int = 460
    """Rollout steps of that measurement; the discounted rest after them weighs 0.99 ** 460, under 1%."""
    film: tuple = ()
    """Arms whose first seed is filmed after training, into ``videos/<video_folder>/``."""
    video_folder: str = ""
    store_actors: bool = False
    """Film the seed with the median final evaluation of each arm in ``film`` (not the first), and store its
    actor's weights in ``results/runs/<name>/actor_<arm>.weights.h5`` for the notebook to run."""
    checkpoint_every: int = 0
    """Env steps between checkpoints of the training in ``runs/checkpoints/<name>/`` (``helpers.checkpoint``);
    ``run`` resumes from one it finds there. 0: none. Checkpoints change no number, so they are not in the spec."""

    def configs(self) -> dict[str, DDPGConfig]:
        return {label: replace(self.task, **{k: v for k, v in arm.items() if k != "bug"})
                for label, arm in self.arms.items()}

    def bug(self, label: str) -> str | None:
        return self.arms[label].get("bug")

    def spec(self) -> dict:
        """What the run is, as JSON-ready values: compared with the stored spec to find stale results."""
        spec = {k: v for k, v in asdict(self).items()
                if k not in ("task", "arms", "description", "checkpoint_every", "store_actors")}
        if self.store_actors:
            spec["store_actors"] = True
        spec["seeds"] = list(self.seeds)
        spec["film"] = list(self.film)
        spec["arms"] = {label: _jsonable(asdict(config)) for label, config in self.configs().items()}
        for label in self.arms:
            if self.bug(label):
                spec["arms"][label]["bug"] = self.bug(label)
        return spec


def _jsonable(value):
    return json.loads(json.dumps(value))


TD3_ABLATION = {"TD3 without twin critics": {"twin_critics": False}, "TD3 without delay": {"policy_delay": 1},
                "TD3 without smoothing": {"target_noise": 0.0}}
"""TD3 with one fix removed at a time; TD3 itself is the ``TD3`` arm of the comparison run on the same task."""

TASKS = {"two_pendulums": ("MultiPendulum-v0", "two pendulums (MultiPendulum-v0)", 1_000),
         "inverted_pendulum": ("InvertedPendulum-v5", "InvertedPendulum-v5", 1_500)}
"""Short name -> env id, how the descriptions name it, evaluation interval (20 to 30 evaluations per run)."""


def _td3_experiments() -> list[Experiment]:
    """Notebook 07's stored runs: per task, DDPG against TD3, and TD3's ablation, 30,000 steps at the defaults."""
    out = []
    for short, (env_id, shown, eval_every) in TASKS.items():
        task = TD3Config(env_id=env_id, total_steps=30_000, eval_every=eval_every)  # the course's defaults
        film = {"film": ("DDPG", "TD3"), "video_folder": "07_td3"} if short == "inverted_pendulum" else {}
        out.append(Experiment(f"td3_{short}", f"DDPG and TD3 at the course's defaults on {shown}, 10 seeds each, "
                              "30,000 steps (notebook 07)", task, {"DDPG": DDPG_SWITCHES, "TD3": {}}, **film))
        out.append(Experiment(f"td3_ablation_{short}", f"TD3 with one fix removed at a time on {shown}, 10 seeds "
                              "each, 30,000 steps (notebook 07; TD3 itself is in td3_" + short + ")", task,
                              TD3_ABLATION))
    return out


PITFALL_TASK = DDPGConfig(hidden_sizes=(64, 64), noise="ou", noise_sigma=0.2, total_steps=30_000, eval_every=1_000,
                          eval_episodes=10)
"""Notebook 06's agent (64-64, OU noise with the DDPG paper's theta and sigma) at 5 times its live budget."""


def _pitfall_experiments() -> list[Experiment]:
    """Notebook 06's stored runs: the bugs whose price its live budgets cannot show, where the correct arm learns."""
    return [
        Experiment("pitfalls_pendulum", "Truncation stored as terminal against the correct agent on Pendulum-v1, "
                   "notebook 06's agent, 10 seeds each, 30,000 steps (notebook 06)",
                   replace(PITFALL_TASK, env_id="Pendulum-v1"),
                   {"correct": {}, "truncation stored as terminal": {"bug": "TimeLimitAsTerminal"}}),
        Experiment("pitfalls_inverted_pendulum", "Termination ignored, and batch norm with and without training "
                   "mode, against the correct agent on InvertedPendulum-v5, notebook 06's agent, 10 seeds each, "
                   "30,000 steps (notebook 06)",
                   replace(PITFALL_TASK, env_id="InvertedPendulum-v5"),
                   {"correct": {}, "termination ignored": {"bug": "TerminationIgnored"},
                    "batch norm": {"normalization": "batch"},
                    "batch norm in training mode": {"normalization": "batch", "bug": "BatchNormInTrainingMode"}}),
    ]


NORMALIZATION_TASK = DDPGConfig(env_id="Pendulum-v1", hidden_sizes=(64, 64), total_steps=30_000, eval_every=1_000,
                                eval_episodes=10)
"""Notebook 03's agent on plain Pendulum-v1 (64-64, the course's critic) at 3 times its live budget."""

NORMALIZATION_EXPERIMENT = Experiment(
    "normalization_pendulum", "No normalization, batch norm, batch norm on the input only and layer norm on "
    "Pendulum-v1, notebook 03's agent with the course's critic, 10 seeds each, 30,000 steps (notebook 03)",
    NORMALIZATION_TASK, {kind: {"normalization": kind} for kind in ("none", "batch", "batch_input", "layer")})

LOCOMOTION_TASKS = {"hopper": "Hopper-v5", "half_cheetah": "HalfCheetah-v5"}


def _locomotion_experiments() -> list[Experiment]:
    """Notebook 08's stored runs: DDPG against TD3 on MuJoCo walkers, 200,000 steps, 10 seeds each.

    The course's defaults, but for four settings sized to these tasks: 10,000 random warm-up steps (the TD3
    paper's start for HalfCheetah, Spinning Up's for both; the default 1,000 is a Pendulum-sized warm-up), a
    buffer that keeps all 200,000 transitions (as the papers' 1,000,000 does at this budget), and the TD3 paper's
    evaluation protocol: every 5,000 steps, 10 noise-free episodes."""
    out = []
    for short, env_id in LOCOMOTION_TASKS.items():
        task = TD3Config(env_id=env_id, total_steps=200_000, warmup_steps=10_000, buffer_size=200_000,
                         eval_every=5_000, eval_episodes=10)
        out.append(Experiment(f"locomotion_{short}", f"DDPG and TD3 on {env_id}, the course's defaults with a "
                              "10,000-step warm-up and a 200,000-transition buffer, 10 seeds each, 200,000 steps "
                              "(notebook 08)", task, {"DDPG": DDPG_SWITCHES, "TD3": {}}, final_episodes=50,
                              q_every=10_000, film=("DDPG", "TD3"), video_folder="08_locomotion", store_actors=True,
                              checkpoint_every=10_000))
    return out


EXPERIMENTS = {e.name: e for e in _td3_experiments() + _pitfall_experiments() + [NORMALIZATION_EXPERIMENT]
               + _locomotion_experiments()}


def code_fingerprint() -> dict:
    """SHA-256 of every module in ``TRAINING_CODE``, and one hash over all of them."""
    files = {name: hashlib.sha256((ROOT / "helpers" / name).read_bytes()).hexdigest()[:16] for name in TRAINING_CODE}
    return {"sha256": hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16], "files": files}


def package_versions() -> dict:
    import gymnasium
    import mujoco
    import scipy

    from helpers.backend import keras
    from helpers.backend import tf as tensorflow

    return {"python": platform.python_version(), "tensorflow": tensorflow.__version__, "keras": keras.__version__,
            "numpy": np.__version__, "gymnasium": gymnasium.__version__, "mujoco": mujoco.__version__,
            "scipy": scipy.__version__, "machine": platform.machine()}


# ----- training -------------------------------------------------------------------------------------------------


def train(experiment: Experiment, total_steps: int | None = None, progress: bool = True, diagnostics: bool = True,
          checkpoint_folder: Path | None = None):
    """Train every arm of ``experiment`` on every seed; return ``(runs, q_measured)``.

    ``runs`` maps each arm to one ``helpers.loop.Run`` per seed. Arms that differ only in TD3's switches train
    side by side as one group; an arm with a bug trains as a group of its own. ``total_steps`` cuts the run short
    (the first evaluations come out the same as the full run's: the loop does not look ahead). With
    ``diagnostics`` an ``OverestimationTracker`` measures Q against the return every ``q_every`` steps, on the
    task without any bug's wrapper; it never touches the training envs or the noise, so it does not change the
    run. ``q_measured`` maps each arm to one ``(steps, q, returns)`` per seed, or to ``None`` per seed.

    With ``checkpoint_folder`` (and ``experiment.checkpoint_every``) the training is saved there as it goes, and
    continues from a checkpoint it finds there (``resume_point``), the Q measurements so far included.
    """
    from helpers.envs import make_env
    from helpers.evaluation import OverestimationTracker
    from helpers.loop import train_arms

    configs = experiment.configs()
    if total_steps is not None:
        configs = {label: replace(c, total_steps=total_steps) for label, c in configs.items()}
    env_fn, n = partial(make_env, experiment.task.env_id), len(experiment.seeds)

    def tracker():
        return OverestimationTracker(env_fn, experiment.q_every, experiment.q_episodes, experiment.q_horizon) \
            if diagnostics else None

    def per_seed(t, offset=0):
        if t is None or not t.steps:
            return [None] * n
        return [(t.steps, t.q[:, offset + i], t.returns[:, offset + i]) for i in range(n)]

    if not any(experiment.bug(label) for label in configs) and all(isinstance(c, TD3Config) for c in configs.values()):
        t, checkpoint, resume = tracker(), None, None
        if checkpoint_folder is not None and experiment.checkpoint_every:
            saved = resume_point(experiment, checkpoint_folder)
            resume, t = (checkpoint_folder, saved["tracker"]) if saved else (None, t)
            checkpoint = Checkpointing(checkpoint_folder, experiment.checkpoint_every,
                                       {"spec": experiment.spec(), "code": code_fingerprint(), "tracker": t})
        runs = train_arms(configs, experiment.seeds, env_fn, progress=progress, on_step=t, checkpoint=checkpoint,
                          resume=resume)
        return runs, {label: per_seed(t, a * n) for a, label in enumerate(runs)}
    if checkpoint_folder is not None and experiment.checkpoint_every:
        raise ValueError(f"{experiment.name}: checkpoints are made for arms that train side by side only")
    runs, measured = {}, {}
    for label, config in configs.items():
        t = tracker()
        runs[label] = _train_arm(config, experiment.seeds, experiment.bug(label), env_fn, progress, t)
        measured[label] = per_seed(t)
        last = np.mean([r.history.eval_means()[-1] for r in runs[label]])
        print(f"{label}: {n} seeds in {runs[label][0].history.wall_s:.0f} s, last evaluation {last:.1f} "
              "(mean over seeds)", flush=True)
    return runs, measured


def checkpoint_folder(name: str) -> Path:
    """Where ``run`` keeps the checkpoints of experiment ``name`` (ignored by git; deleted once the run is stored)."""
    return ROOT / "runs" / "checkpoints" / name


def resume_point(experiment: Experiment, folder: Path) -> dict | None:
    """The meta of the checkpoint in ``folder`` (None if there is none), after checking that it was made for this
    experiment, as defined today, by today's code."""
    from helpers import checkpoint as checkpoints

    if not (folder / checkpoints.FILE).exists():
        return None
    saved = checkpoints.load(folder)
    meta = saved["meta"]
    if meta.get("spec") != experiment.spec() or meta.get("code") != code_fingerprint():
        raise ValueError(f"the checkpoint in {folder} was made by another definition of {experiment.name} or "
                         "by other code; delete it (or pass --fresh) to start again")
    print(f"{experiment.name}: resuming from the checkpoint at step {saved['position'].step:,}", flush=True)
    return meta


def _train_arm(config: DDPGConfig, seeds, bug: str | None, env_fn, progress: bool, on_step) -> list:
    """One arm as one group: the course's agent, or with the bug named (an env wrapper or an agent class)."""
    import gymnasium as gym

    from helpers.loop import build_agent, train_group
    from helpers.pitfalls import BUGS

    cls, agent_cls, train_env = BUGS[bug] if bug else None, None, env_fn
    if cls is not None and issubclass(cls, gym.Wrapper):
        def train_env():
            return cls(env_fn())
    elif cls is not None:
        agent_cls = cls
    agent = build_agent(config, train_env, list(seeds), agent_cls)
    return train_group(config, env_fn=train_env, progress=progress, agent=agent, on_step=on_step).runs()


SPREAD_STATES = 1_000
"""The first buffer rows (the random warm-up) on which ``action_spread`` is measured."""


def end_diagnostics(group, seed_runs, env_id: str) -> dict[str, np.ndarray]:
    """Per seed, after training: the spread of the noise-free action across the first ``SPREAD_STATES`` visited
    states (0: the same action everywhere), and on a task that terminates, Q on the transitions into a fall and
    on the others (``helpers.pitfalls.q_at_falls``)."""
    from helpers.envs import make_env
    from helpers.pitfalls import q_at_falls

    states = np.stack([r.buffer.observations[:SPREAD_STATES] for r in seed_runs])
    out = {"action_spread": group.act_group(states).std(axis=1).mean(axis=-1)}
    probe = make_env(env_id)
    time_limit = probe.spec.max_episode_steps
    probe.close()
    histories = [r.history for r in seed_runs]
    if any(np.diff(h.episode_end_steps, prepend=0).min() < time_limit for h in histories if h.episode_end_steps):
        out["q_at_falls"], out["q_elsewhere"] = q_at_falls(group, histories, [r.buffer for r in seed_runs],
                                                           time_limit)
    return out


def seed_record(run, q_measured, finals: np.ndarray, at_bounds: float, extra: dict | None = None) -> dict:
    """What is stored of one seed: its evaluation curve, diagnostics and final evaluation."""
    h: History = run.history
    record = {
        "seed": run.seed,
        "eval_steps": h.eval_steps,
        "eval_returns": np.round(h.eval_returns, 3).tolist(),
        "eval_at_bounds": np.round(h.eval_at_bounds, 4).tolist(),
        "training_episodes": len(h.episode_returns),
        "final_returns": np.round(finals, 3).tolist(),
        "final_at_bounds": round(float(at_bounds), 4),
        # The critic's loss and mean Q, averaged between consecutive evaluations (the per-update lists are long).
        "critic_loss_per_eval": _binned(h.update_steps, h.critic_loss, h.eval_steps),
        "mean_q_per_eval": _binned(h.update_steps, h.mean_q, h.eval_steps),
    }
    if q_measured is not None:
        steps, q, returns = q_measured
        record.update(q_steps=steps, q=np.round(q, 3).tolist(), q_returns=np.round(returns, 3).tolist())
    for key, value in (extra or {}).items():
        record[key] = round(float(value), 4)
    return record


def _binned(steps, values, edges) -> list:
    steps, values = np.asarray(steps), np.asarray(values)
    out, low = [], 0
    for high in edges:
        inside = (steps > low) & (steps <= high)
        out.append(round(float(values[inside].mean()), 4) if inside.any() else None)
        low = high
    return out


def run(name: str, out: Path | None = None, progress: bool = True, fresh: bool = False) -> Path:
    """Train experiment ``name``, evaluate and film it, and write ``run.json`` and ``arms.json`` to ``out``.

    An experiment with ``checkpoint_every`` is saved as it trains, in ``checkpoint_folder(name)``, and continues
    from a checkpoint it finds there (``fresh``: starts again); the checkpoints are deleted once the run is
    stored."""
    import shutil
    import time

    experiment = EXPERIMENTS[name]
    out, code = Path(out or RUNS / name), code_fingerprint()
    checkpoints = checkpoint_folder(name) if experiment.checkpoint_every else None
    if checkpoints is not None and fresh:
        shutil.rmtree(checkpoints, ignore_errors=True)
    runs, q_measured = train(experiment, progress=progress, checkpoint_folder=checkpoints)
    start = time.perf_counter()
    arms = final_records(experiment, runs, q_measured)
    history = runs[next(iter(runs))][0].history
    meta = {"name": name, "description": experiment.description, "command": f"{COMMAND} {name}",
            "spec": experiment.spec(), "versions": package_versions(), "code": code,
            "wall_s": round(history.wall_s + time.perf_counter() - start, 1),
            "env_steps_per_s": round(history.steps_per_s * history.group_size, 1),
            "date": time.strftime("%Y-%m-%d")}
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "arms.json", arms)
    _write_json(out / "run.json", meta)  # last: a run.json is only ever next to the arms it describes
    if REPLAY_STEPS >= experiment.task.eval_every:  # a run's own first evaluations: the replay of its CPU
        write_replay(out, {label: [r["eval_returns"][: REPLAY_STEPS // experiment.task.eval_every] for r in records]
                           for label, records in arms.items()})
    for label in experiment.film:
        chosen = filmed_seed(experiment, arms[label])
        film(runs[label][chosen], experiment, label)
        if experiment.store_actors:
            runs[label][chosen].agent.network("actor").save_weights(actor_path(out, label))
    if checkpoints is not None:
        shutil.rmtree(checkpoints, ignore_errors=True)
    return out


def final_records(experiment: Experiment, runs: dict, q_measured: dict) -> dict[str, list[dict]]:
    """Per arm, one record per seed (``seed_record``): its final evaluation on ``experiment.final_episodes`` fixed
    starts, with the end diagnostics."""
    from helpers.envs import make_env
    from helpers.evaluation import Evaluator

    env_fn, arms = partial(make_env, experiment.task.env_id), {}
    for label, seeds in runs.items():
        group = type(seeds[0].agent).group_of([r.agent for r in seeds])
        evaluator = Evaluator(env_fn, experiment.final_episodes, group.group_size)
        try:
            finals = evaluator(group.act_group)  # each arm acts as it trained: a bug in acting stays in
        finally:
            evaluator.close()
        extra = end_diagnostics(group, seeds, experiment.task.env_id)
        arms[label] = [seed_record(r, q_measured[label][i], finals[i], evaluator.share_at_bounds[i],
                                   {k: v[i] for k, v in extra.items()}) for i, r in enumerate(seeds)]
    return arms


def filmed_seed(experiment: Experiment, records: list[dict]) -> int:
    """Which seed of an arm is filmed: the first, or with ``store_actors`` the one whose final evaluation is the
    median of the arm (the lower of the middle two for an even count), so that the clip shows a typical seed."""
    if not experiment.store_actors:
        return 0
    finals = [np.mean(r["final_returns"]) for r in records]
    return int(np.argsort(finals, kind="stable")[(len(finals) - 1) // 2])


def actor_path(folder: Path, label: str) -> Path:
    return Path(folder) / f"actor_{label.lower().replace(' ', '_')}.weights.h5"


REPLAY_STEPS = 2_000
"""Steps of a replay: the start of a stored run trained again, to check that the code still makes its numbers."""

ISA_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "amx_tile", "amx_bf16", "amx_int8")
"""The instruction sets that XLA's compiled CPU code may use; its round-off depends on which are there."""


def cpu_signature() -> str:
    """This machine's CPU for the purpose of exact round-off: its model and the vector instructions it offers.

    A run's numbers are exactly repeatable on one kind of CPU, but XLA compiles other code for other
    instruction sets, and after a few hundred updates the tiny differences have grown into other returns."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return f"{platform.machine()} {platform.processor()}"
    text = cpuinfo.read_text()
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), "")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return f"{model} [{' '.join(f for f in ISA_FLAGS if f in flags)}]"


def replay(name: str, steps: int = REPLAY_STEPS) -> dict[str, list]:
    """Train the first ``steps`` env steps of experiment ``name`` again (every arm and seed, as stored): per arm,
    each seed's evaluation returns, rounded as stored."""
    runs, _ = train(EXPERIMENTS[name], total_steps=steps, progress=False, diagnostics=False)
    return {label: [np.round(r.history.eval_returns, 3).tolist() for r in seeds] for label, seeds in runs.items()}


def write_replay(folder: Path, eval_returns: dict[str, list]) -> None:
    """Add this CPU's first evaluations to ``folder/replays.json`` with the package versions and code that made
    them (``python -m helpers.tools.experiments replay NAME`` records one on a new kind of CPU)."""
    path = folder / "replays.json"
    replays = json.loads(path.read_text()) if path.exists() else {}
    replays[cpu_signature()] = {"steps": REPLAY_STEPS, "versions": package_versions(), "code": code_fingerprint(),
                                "date": __import__("time").strftime("%Y-%m-%d"), "eval_returns": eval_returns}
    _write_json(path, replays)


def _write_json(path: Path, value) -> None:
    """Write through a temporary file, so an interrupted run never leaves half a file behind."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n")
    tmp.replace(path)


def video_path(experiment: Experiment, label: str) -> Path:
    slug = label.lower().replace(" ", "_")
    return ROOT / "videos" / experiment.video_folder / f"{slug}_{experiment.name}.mp4"


FILM_GIF_FRAMES = 100
"""Frames of a filmed clip's GIF at most; ``refilm`` takes fewer where a walker's GIF would exceed what a notebook
may embed (``helpers.video.MAX_EMBEDDED_BYTES``)."""


def film(seed_run, experiment: Experiment, label: str, policy=None, gif_frames: int = FILM_GIF_FRAMES) -> None:
    """Film one episode of ``seed_run``'s agent (or of ``policy``) into ``video_path(experiment, label)``."""
    from helpers.envs import make_env
    from helpers.video import VideoError, record_video

    try:
        clip = record_video(policy or seed_run.agent.act, partial(make_env, experiment.task.env_id),
                            video_path(experiment, label), max_gif_frames=gif_frames)
        print(f"{label}, seed {seed_run.seed}: filmed episode return {clip.episode_return:.1f} -> {clip.mp4}")
    except VideoError as exc:
        print(f"warning: {label} was not filmed: {exc}")


def refilm(name: str, gif_frames: int = FILM_GIF_FRAMES) -> None:
    """Film the stored actors of a stored run again (``store_actors``), with at most ``gif_frames`` GIF frames."""
    from types import SimpleNamespace

    stored = load(name)
    for label in EXPERIMENTS[name].film:
        actor = stored.actor(label)

        def policy(obs, actor=actor):  # one observation or a batch, as the agent's act() takes them
            actions = actor(np.atleast_2d(obs).astype(np.float32), training=False).numpy()
            return actions if np.ndim(obs) > 1 else actions[0]

        film(SimpleNamespace(seed=stored.actor_seed(label)), EXPERIMENTS[name], label, policy, gif_frames)


# ----- loading ----------------------------------------------------------------------------------------------------


class StoredRun:
    """A run written by ``run``: its metadata, and per arm one record per seed."""

    def __init__(self, name: str, folder: Path | None = None):
        folder = Path(folder or RUNS / name)
        if not (folder / "run.json").exists():
            raise FileNotFoundError(f"no stored run {name!r} in {folder}; make it with `{COMMAND} {name}`")
        self.name, self.folder = name, folder
        self.meta = json.loads((folder / "run.json").read_text())
        self.records = json.loads((folder / "arms.json").read_text())

    def replays(self) -> dict:
        """The first evaluations of this run trained again on each kind of CPU (``write_replay``), by
        ``cpu_signature``."""
        path = self.folder / "replays.json"
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def arms(self) -> list[str]:
        return list(self.records)

    @property
    def command(self) -> str:
        return self.meta["command"]

    def config(self, label: str) -> DDPGConfig:
        stored = {k: v for k, v in self.meta["spec"]["arms"][label].items() if k != "bug"}
        stored["hidden_sizes"] = tuple(stored["hidden_sizes"])
        return (TD3Config if "twin_critics" in stored else DDPGConfig)(**stored)

    def per_seed(self, label: str, key: str) -> np.ndarray:
        """One stored value per seed, such as ``"action_spread"`` or ``"q_at_falls"`` (``end_diagnostics``)."""
        return np.array([r[key] for r in self.records[label]], dtype=float)

    def per_eval(self, label: str, key: str) -> np.ndarray:
        """A stored per-evaluation series, such as ``"critic_loss_per_eval"``: shape (seeds, evaluations)."""
        return np.array([r[key] for r in self.records[label]], dtype=float)

    def histories(self, label: str) -> list[History]:
        """One ``History`` per seed with the stored evaluations (for ``helpers.plots.plot_learning_curve``)."""
        return [History(seed=r["seed"], eval_steps=r["eval_steps"], eval_returns=r["eval_returns"],
                        eval_at_bounds=r["eval_at_bounds"], total_steps=r["eval_steps"][-1])
                for r in self.records[label]]

    def final(self, label: str) -> np.ndarray:
        """Each seed's final evaluation: the mean return over ``final_episodes`` fixed starts."""
        return np.array([np.mean(r["final_returns"]) for r in self.records[label]])

    def actor_seed(self, label: str) -> int:
        """The seed whose actor is stored with arm ``label`` (``store_actors``; the filmed seed)."""
        if not self.meta["spec"].get("store_actors"):
            raise ValueError(f"{self.name} stores no actors")
        return self.records[label][filmed_seed(EXPERIMENTS[self.name], self.records[label])]["seed"]

    def actor(self, label: str):
        """The actor stored with arm ``label`` (the seed ``actor_seed``), as a Keras model built from the arm's config
        and the env's spaces."""
        from helpers.envs import make_env
        from helpers.networks import build_actor

        config = self.config(label)
        env = make_env(config.env_id)
        actor = build_actor(env.observation_space.shape[0], env.action_space.low, env.action_space.high,
                            config.hidden_sizes, config.normalization)
        env.close()
        actor.load_weights(actor_path(self.folder, label))
        return actor

    def final_at_bounds(self, label: str) -> np.ndarray:
        return np.array([r["final_at_bounds"] for r in self.records[label]])

    def q_bias(self, label: str) -> tuple[list[int], np.ndarray]:
        """Steps of the Q measurements, and Q(s0, mu(s0)) minus the collected discounted return, averaged over
        the starts: shape (measurements, seeds)."""
        records = self.records[label]
        bias = np.array([np.mean(np.subtract(r["q"], r["q_returns"]), axis=-1) for r in records]).T
        return records[0]["q_steps"], bias

    def discounted_returns(self, label: str) -> np.ndarray:
        """The discounted return collected from the starts of the Q measurements, averaged over the starts:
        shape (measurements, seeds); the scale against which ``q_bias`` reads."""
        return np.array([np.mean(r["q_returns"], axis=-1) for r in self.records[label]]).T

    def differences(self) -> list[str]:
        """How the stored spec differs from what ``run`` would train today (empty: it matches)."""
        if self.name not in EXPERIMENTS:
            return [f"{self.name} is no longer defined in helpers.experiments.EXPERIMENTS"]
        return _diff(self.meta["spec"], EXPERIMENTS[self.name].spec())

    def provenance(self) -> str:
        v = self.meta["versions"]
        stale = self.differences()
        status = "matches the experiment as defined today" if not stale else "STALE: " + "; ".join(stale)
        return (f"stored run {self.name!r}: `{self.command}`, {self.meta['date']}, {self.meta['wall_s'] / 60:.0f} min "
                f"on {v['machine']}; TensorFlow {v['tensorflow']}, Keras {v['keras']}, NumPy {v['numpy']}, "
                f"Gymnasium {v['gymnasium']}; code {self.meta['code']['sha256']}; {status}")


def _diff(stored, current, where: str = "") -> list[str]:
    if isinstance(stored, dict) and isinstance(current, dict):
        keys = sorted(set(stored) | set(current))
        return [d for k in keys for d in _diff(stored.get(k), current.get(k), f"{where}.{k}" if where else k)]
    return [] if stored == current else [f"{where}: stored {stored!r}, today {current!r}"]


def load(name: str) -> StoredRun:
    return StoredRun(name)


def stored_names() -> list[str]:
    return sorted(p.parent.name for p in RUNS.glob("*/run.json"))


# ----- convergence ------------------------------------------------------------------------------------------------


class Convergence(NamedTuple):
    """Whether an arm had settled by the end of its run, seed by seed (see ``convergence``)."""

    band: float
    """How far a seed's window mean may move and still count as settled, in return units."""
    moved: tuple
    """Per seed: the mean of its last ``window`` evaluations minus the mean of the ``window`` before."""
    window: int
    at_ceiling: bool
    """Every seed's last window at the controller's level or above (within the band): the task's ceiling, where
    arms cannot be ranked."""

    @property
    def settled_seeds(self) -> int:
        return int(sum(abs(m) <= self.band for m in self.moved))

    @property
    def settled(self) -> bool:
        return self.settled_seeds == len(self.moved)

    def __str__(self) -> str:
        verdict = "settled" if self.settled else "NOT settled"
        largest = max(self.moved, key=abs)
        text = (f"{self.settled_seeds}/{len(self.moved)} seeds moved less than {self.band:.1f} between their last "
                f"{self.window} evaluations and the {self.window} before (largest move {largest:+.1f}): {verdict}")
        ceiling = "; every seed at the controller's level: at the ceiling, not ranked against another arm there"
        return text + (ceiling if self.at_ceiling else "")


def convergence_band(nothing: float, controller: float, optimum: float | None = None) -> float:
    """How far a seed may move and still count as settled: ``CONVERGENCE_BAND`` (5%) of the span from doing nothing
    to the controller, or the controller-to-optimum gap if that is smaller. Also the course's band for "reached
    the controller"."""
    band = CONVERGENCE_BAND * abs(controller - nothing)
    if optimum is not None and optimum != controller:
        band = min(band, abs(optimum - controller))
    return float(band)


def convergence(histories: Sequence[History], nothing: float, controller: float, optimum: float | None = None,
                window: int = CONVERGENCE_WINDOW) -> Convergence:
    """Has an arm settled at its budget? The course's criterion, stated once.

    Per seed, the mean of its last ``window`` evaluations is compared with the mean of the ``window`` before them
    (fewer when the run has fewer than twice ``window`` evaluations). The arm has settled when every seed moved
    by less than the band (``convergence_band``: 5% of the span from doing nothing to the controller, or, when the
    ``optimum`` is known, the controller-to-optimum gap if that is smaller, so that the band is no wider than the
    differences the course compares near the top). A seed that fell late in its run moves its window mean and is
    not settled.
    Separately, ``at_ceiling`` says whether every seed's last window sits at the controller's level (within the
    band) or above: arms there have nothing left to show, and a comparison between them draws no ranking.
    """
    curves = np.array([h.eval_means() for h in histories])
    window = min(window, curves.shape[1] // 2)
    if window < 2:
        raise ValueError(f"convergence needs at least 4 evaluations, got {curves.shape[1]}")
    span = controller - nothing
    if span == 0:
        raise ValueError("convergence needs a controller that differs from doing nothing")
    band = convergence_band(nothing, controller, optimum)
    last, before = curves[:, -window:].mean(axis=1), curves[:, -2 * window:-window].mean(axis=1)
    at_ceiling = bool(np.all(np.sign(span) * (last - controller) >= -band))
    return Convergence(band, tuple(float(m) for m in last - before), window, at_ceiling)
