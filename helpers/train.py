"""The main job: train DDPG (or TD3, or DQN), evaluate it, and record videos.

    python -m helpers.train                       # DDPG on Pendulum-v1, seed 0
    python -m helpers.train --algo td3 --env InvertedPendulum-v5 --steps 30000
    python -m helpers.train --seeds 0-9           # ten seeds trained side by side, as one group
    python -m helpers.train --seeds 0 3 7
    python -m helpers.train --env MountainCarContinuous-v0 --steps 30000 --noise ou --hidden-sizes 64 64
    python -m helpers.train --env my_package:MyEnv-v0 --no-video

Every field of ``DDPGConfig`` (and, with ``--algo td3``, of ``TD3Config``; with ``--algo dqn``, of ``DQNConfig``)
is a flag: ``--batch-size 128``, ``--hidden-sizes 64 64``, ``--no-twin-critics``; ``--help`` lists them with
their documentation.

With ``--seed`` (default 0) it writes into ``--out`` (default ``runs/<env>_seed<seed>``, a folder git ignores;
with ``--algo td3`` or ``dqn`` the name starts with ``td3_`` or ``dqn_``; if that folder exists, the next free
``-2``, ``-3``, ...):
the learning curve ``learning_curve.png``, ``untrained.mp4/.gif``, ``trained.mp4/.gif`` and ``summary.json``.
An ``--out`` folder that already holds files is refused unless ``--overwrite`` is given. With ``--seeds``
(default folder ``runs/<env>_seeds<first>-<last>``) each seed gets a folder ``seed<k>/`` with its
``summary.json`` and learning curve, the group gets an aggregate ``summary.json`` and ``learning_curve.png``,
and the first seed is filmed. Training results are written even if video fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import partial
from pathlib import Path

from helpers.algorithms import algorithm_of
from helpers.cli import OneLineParser, add_algo_flag, add_config_flags, build_config, fail, parse_seeds, positive_int
from helpers.config import DDPGConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.train", description=__doc__.split("\n")[0])
    add_algo_flag(parser)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seed", type=int, default=None, help=f"one random seed (default: {defaults.seed})")
    which.add_argument("--seeds", nargs="+", default=None, metavar="SEEDS",
                       help="several seeds trained side by side as one group: a range such as 0-9, or a list")
    parser.add_argument("--eval-episodes", type=positive_int, default=100,
                        help="episodes of the final noise-free evaluation, per seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/<env>_seed<seed>, or runs/<env>_seeds<first>-<last>, "
                        "numbered -2, -3, ... if taken)")
    parser.add_argument("--overwrite", action="store_true", help="allow --out to be a folder that holds files")
    parser.add_argument("--no-video", action="store_true", help="skip the mp4 and GIF recordings")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS",
                        help="save the whole run to <out>/checkpoint/ every STEPS env steps (a multiple of "
                        "--update-every), so that --resume can continue it (default: 0, no checkpoints)")
    parser.add_argument("--resume", type=Path, default=None, metavar="FOLDER",
                        help="continue the run in FOLDER (an --out folder) from its last checkpoint, with the "
                        "arguments it was started with")
    add_config_flags(parser)
    args = parser.parse_args(argv)
    try:
        args.seed_list = parse_seeds(args.seeds) if args.seeds is not None else None
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = command_args(list(sys.argv[1:] if argv is None else argv))
    except (FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    seeds = args.seed_list or [DDPGConfig().seed if args.seed is None else args.seed]
    try:
        config = build_config(args, seeds[0])
        out = output_folder(args, config, seeds)
    except ValueError as exc:
        return fail(str(exc))

    # Heavy imports after argument checks, so `--help` and typos answer at once.
    from helpers.envs import EnvError, make_env
    from helpers.loop import build_agent

    env_fn = partial(make_env, config.env_id)
    try:
        agent = build_agent(config, env_fn, seeds)  # fails fast on a bad id or a discrete action space
    except EnvError as exc:
        return fail(str(exc))
    seed_dirs = make_seed_dirs(out, seeds, args.seed_list is not None)
    film = Filming(not args.no_video, env_fn, seed_dirs[0])  # the first seed is filmed
    if args.resume is None:
        film("untrained", agent)  # before training: this is the very network that training starts from
    which = f"seeds {', '.join(map(str, seeds))} side by side" if args.seed_list is not None else f"seed {seeds[0]}"
    print(f"Training {args.algo.upper()} on {config.env_id} for {config.total_steps} steps ({which}) -> {out}")
    run = train_and_keep(config, env_fn, agent, args, seed_dirs, out)
    if isinstance(run, int):
        return run
    summaries = write_results(run, config, env_fn, args, seeds, seed_dirs, out)
    film("trained", run.agent)
    summaries[0].update(film.summary())
    write_json(seed_dirs[0] / "summary.json", summaries[0])
    print_end(summaries, args.eval_episodes, run.histories, config.env_id, film, seed_dirs[0], out)
    return 0


def make_seed_dirs(out: Path, seeds: list[int], grouped: bool) -> list[Path]:
    """One folder per seed (``seed<k>/``) for a group, or ``out`` itself for one seed; all made."""
    seed_dirs = [out / f"seed{s}" for s in seeds] if grouped else [out]
    for folder in seed_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    return seed_dirs


def print_end(summaries: list[dict], eval_episodes: int, histories, env_id: str, film, filmed: Path,
              out: Path) -> None:
    """The table of seeds, the speed, what was filmed and what was written."""
    print_table(summaries, eval_episodes)
    h = histories[0]
    print(f"{env_id}: {len(histories)} × {h.total_steps} steps in {h.wall_s:.1f} s "
          f"({h.steps_per_s * len(histories):.0f} env steps/s in all)")
    if film.recordings:
        print(f"filmed seed {h.seed}: {', '.join(rec.mp4.name for rec in film.recordings.values())} in {filmed}")
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")


class Filming:
    """The first seed's videos: ``untrained`` and ``trained``. A failed recording prints one warning, and the run
    goes on without videos."""

    def __init__(self, enabled: bool, env_fn, folder: Path):
        self.enabled, self.env_fn, self.folder = enabled, env_fn, folder
        self.recordings, self.error = {}, None

    def __call__(self, name: str, agent) -> None:
        if not self.enabled or self.error is not None:
            return
        from helpers.video import VideoError, record_video

        try:
            self.recordings[name] = record_video(agent.seed_agent(0).act, self.env_fn, self.folder / f"{name}.mp4")
        except VideoError as exc:
            self.error = str(exc)
            print(f"warning: {self.error}; no more videos are made in this run", file=sys.stderr)

    def summary(self) -> dict:
        """What the first seed's summary.json says about its videos."""
        videos = {name: {"mp4": rec.mp4.name, "gif": rec.gif.name if rec.gif else None,
                         "return": round(rec.episode_return, 2)} for name, rec in self.recordings.items()}
        return {"videos": videos, **({"video_error": self.error} if self.error else {})}


def train_and_keep(config: DDPGConfig, env_fn, agent, args, seed_dirs: list[Path], out: Path):
    """The group run, or the exit code of a run that stopped early after every seed's history was written."""
    from helpers.checkpoint import Checkpointing
    from helpers.loop import TrainingDivergedError, TrainingInterrupted, train_group

    algo = args.algo.upper()
    checkpoint = (Checkpointing(out / "checkpoint", args.checkpoint_every, {"argv": args.argv})
                  if args.checkpoint_every else None)
    resume = out / "checkpoint" if args.resume is not None else None
    try:
        return train_group(config, env_fn=env_fn, progress=not args.quiet, agent=agent, checkpoint=checkpoint,
                           resume=resume)
    except TrainingDivergedError as exc:
        save_histories(exc.histories, seed_dirs, algo, config.env_id)
        return fail(f"{exc} (every seed's history so far in {out})")
    except TrainingInterrupted as exc:
        save_histories(exc.run.histories, seed_dirs, algo, config.env_id)
        again = f"; continue it with: python -m helpers.train --resume {out}" if checkpoint else ""
        print(f"interrupted after {exc.run.histories[0].total_steps} env steps: every seed's history so far "
              f"(history.json) and learning curve are in {out}{again}", file=sys.stderr)
        return 130


def write_results(run, config: DDPGConfig, env_fn, args, seeds: list[int], seed_dirs: list[Path],
                  out: Path) -> list[dict]:
    """The final evaluation of every seed: each seed's summary.json and curve, and with ``--seeds`` the group's."""
    from helpers.evaluation import evaluate_group

    algo = args.algo.upper()
    returns = evaluate_group(run.agent, env_fn, args.eval_episodes)
    summaries = [seed_summary(config, h, r) for h, r in zip(run.histories, returns)]
    for summary, history, folder in zip(summaries, run.histories, seed_dirs):
        write_json(folder / "summary.json", summary)  # written before any video can fail
        plot_curves([history], folder / "learning_curve.png", algo,
                    f"{algo} on {config.env_id}, seed {history.seed}: final {args.eval_episodes}-episode "
                    f"evaluation {summary['eval_mean']:.0f} ± {summary['eval_std']:.0f}")
    if args.seed_list is not None:
        aggregate = group_summary(config, run.histories, summaries, args.eval_episodes, seeds[0])
        write_json(out / "summary.json", aggregate)
        kept = [h for h in run.histories if not h.diverged]
        left_out = f" ({len(seeds) - len(kept)} frozen seeds left out)" if len(kept) < len(seeds) else ""
        plot_curves(kept, out / "learning_curve.png", algo, f"{algo} on {config.env_id}, {len(kept)} seeds: final "
                    f"evaluation mean {aggregate['eval_mean_over_seeds']:.0f}{left_out}")
    return summaries


def command_args(argv: list[str]) -> argparse.Namespace:
    """The parsed arguments, or with ``--resume FOLDER`` those the run in FOLDER was started with."""
    args = parse_args(argv)
    if args.resume is not None:
        return resumed_args(args.resume)
    args.argv = argv
    return args


def resumed_args(folder: Path) -> argparse.Namespace:
    """The arguments a checkpointed run in ``folder`` was started with, set to continue it there."""
    from helpers.checkpoint import load

    argv = load(folder / "checkpoint")["meta"]["argv"]
    args = parse_args(argv)
    args.out, args.overwrite, args.resume, args.argv = folder, True, folder, argv
    return args


def output_folder(args: argparse.Namespace, config: DDPGConfig, seeds: list[int]) -> Path:
    """Where a run writes: ``--out``, refused if it holds files (unless ``--overwrite``), or the first free
    ``runs/<name>``, ``runs/<name>-2``, ... so that a new run never replaces an earlier one."""
    if args.out is not None:
        if args.out.is_dir() and any(args.out.iterdir()) and not args.overwrite:
            raise ValueError(f"--out {args.out} already holds files: choose another folder, or add --overwrite")
        return args.out
    name = ("" if args.algo == "ddpg" else f"{args.algo}_") + re.sub(r"[^A-Za-z0-9_.-]+", "-", config.env_id)
    base = Path("runs") / (f"{name}_seeds{seeds[0]}-{seeds[-1]}" if args.seed_list else f"{name}_seed{seeds[0]}")
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def save_histories(histories, seed_dirs: list[Path], algo: str, env_id: str) -> None:
    """Every seed's history as JSON, and its learning curve so far, for a run that stopped early."""
    for history, folder in zip(histories, seed_dirs):
        write_json(folder / "history.json", history.to_dict())
        if history.eval_steps:
            plot_curves([history], folder / "learning_curve.png", algo,
                        f"{algo} on {env_id}, seed {history.seed}: stopped after {history.total_steps} steps")


def seed_summary(config: DDPGConfig, history, returns) -> dict:
    """One seed's results, JSON-ready."""
    return {
        "algo": algorithm_of(config).name,
        "env": config.env_id,
        "seed": history.seed,
        "total_steps": history.total_steps,
        "wall_s": round(history.wall_s, 2),
        "steps_per_s": round(history.steps_per_s, 1),
        "group_size": history.group_size,
        "eval_episodes": len(returns),
        "eval_mean": round(float(returns.mean()), 2),
        "eval_std": round(float(returns.std()), 2),
        "eval_min": round(float(returns.min()), 2),
        "eval_max": round(float(returns.max()), 2),
        "eval_curve": {"steps": history.eval_steps, "mean_return": [round(m, 2) for m in history.eval_means()]},
        "diverged": history.diverged,
        "config": {**vars(config), "seed": history.seed},
    }


def group_summary(config: DDPGConfig, histories, summaries, eval_episodes: int, filmed_seed: int) -> dict:
    """The group's results: every seed's final evaluation and the aggregate speed."""
    import numpy as np

    kept = [s for s, h in zip(summaries, histories) if not h.diverged]  # a frozen seed is left out, and counted
    means = [s["eval_mean"] for s in kept]
    h = histories[0]
    return {
        "algo": algorithm_of(config).name,
        "env": config.env_id,
        "seeds": [s["seed"] for s in summaries],
        "total_steps": h.total_steps,
        "eval_episodes": eval_episodes,
        "eval_mean_per_seed": [s["eval_mean"] for s in summaries],
        "eval_std_per_seed": [s["eval_std"] for s in summaries],
        "diverged_seeds": [s["seed"] for s, h in zip(summaries, histories) if h.diverged],
        "eval_mean_over_seeds": round(float(np.mean(means)), 2),
        "eval_min_over_seeds": min(means),
        "wall_s": round(h.wall_s, 2),
        "steps_per_s": round(h.steps_per_s * len(histories), 1),
        "time_s": h.time_s,
        "filmed_seed": filmed_seed,
        "config": {k: v for k, v in vars(config).items() if k != "seed"},
    }


def plot_curves(histories, path: Path, label: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.plots import plot_learning_curve, use_course_style

    use_course_style()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_learning_curve(histories, ax=ax, label=label)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(summaries: list[dict], eval_episodes: int) -> None:
    print(f"| seed | final {eval_episodes}-episode evaluation | worst episode | env steps/s of this seed |")
    print("|---:|---:|---:|---:|")
    for s in summaries:
        frozen = f" (frozen: {s['diverged']})" if s["diverged"] else ""
        print(f"| {s['seed']}{frozen} | {s['eval_mean']:.1f} ± {s['eval_std']:.1f} | {s['eval_min']:.1f} | "
              f"{s['steps_per_s']:.0f} |")


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
