"""The main job: train DDPG (or TD3), evaluate it, and record videos.

    python -m helpers.train                       # DDPG on Pendulum-v1, seed 0
    python -m helpers.train --algo td3 --env InvertedPendulum-v5 --steps 30000
    python -m helpers.train --seeds 0-9           # ten seeds trained side by side, as one group
    python -m helpers.train --seeds 0 3 7
    python -m helpers.train --env MountainCarContinuous-v0 --steps 30000
    python -m helpers.train --env my_package:MyEnv-v0 --no-video

With ``--seed`` (default 0) it writes into ``--out`` (default
``videos/<env>_seed<seed>``; with ``--algo td3`` the folder name starts with
``td3_``): the learning curve ``learning_curve.png``,
``untrained.mp4/.gif``, ``trained.mp4/.gif`` and ``summary.json``. With
``--seeds`` (default folder ``videos/<env>_seeds<first>-<last>``) each seed gets
a folder ``seed<k>/`` with its ``summary.json`` and learning curve, the group
gets an aggregate ``summary.json`` and ``learning_curve.png``, and the first
seed is filmed. Training results are written even if video fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from helpers.config import DDPGConfig


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def parse_seeds(tokens: list[str]) -> list[int]:
    """Seeds from tokens such as ``["0-9"]`` or ``["0", "3", "7"]`` (a range includes both ends).

    Raises ``ValueError`` with a one-line reason for an empty list, a negative
    seed, a malformed or reversed range, or a seed given twice.
    """
    if not tokens:
        raise ValueError("--seeds needs at least one seed, e.g. --seeds 0-9 or --seeds 0 3 7")
    seeds: list[int] = []
    for token in tokens:
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", token.strip())
        if match is None:
            raise ValueError(f"--seeds: {token!r} is neither a seed (a non-negative integer) nor a range like 0-9")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise ValueError(f"--seeds: the range {token!r} ends before it starts")
        seeds.extend(range(first, last + 1))
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise ValueError(f"--seeds: seed {', '.join(map(str, duplicates))} given more than once")
    if max(seeds) >= 2**32:
        raise ValueError(f"--seeds: seeds must be below 2**32, got {max(seeds)}")
    return seeds


ALGORITHMS = ("ddpg", "td3")


def make_config(algo: str, **fields) -> DDPGConfig:
    """The default config of ``algo`` ("ddpg" or "td3") with ``fields`` changed (validated)."""
    if algo == "td3":
        from helpers.td3 import TD3Config

        return replace(TD3Config(), **fields)
    return replace(DDPGConfig(), **fields)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.train", description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=ALGORITHMS, default="ddpg",
                        help="ddpg, or td3: DDPG with TD3's three fixes (default: %(default)s)")
    parser.add_argument("--env", default=defaults.env_id, help="gymnasium id with a Box action space, "
                        "or 'module:EnvId' (default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=defaults.total_steps,
                        help="env steps per seed, warm-up included (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=defaults.warmup_steps,
                        help="random-action steps before learning starts (default: %(default)s)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--seed", type=int, default=None, help=f"one random seed (default: {defaults.seed})")
    which.add_argument("--seeds", nargs="+", default=None, metavar="SEEDS",
                       help="several seeds trained side by side as one group: a range such as 0-9, or a list")
    parser.add_argument("--eval-episodes", type=positive_int, default=100,
                        help="episodes of the final noise-free evaluation, per seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: videos/<env>_seed<seed>, or videos/<env>_seeds<first>-<last>)")
    parser.add_argument("--no-video", action="store_true", help="skip the mp4 and GIF recordings")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        args.seed_list = parse_seeds(args.seeds) if args.seeds is not None else None
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seed_list or [DDPGConfig().seed if args.seed is None else args.seed]
    try:
        config = make_config(args.algo, env_id=args.env, total_steps=args.steps, warmup_steps=args.warmup,
                             seed=seeds[0])
    except ValueError as exc:
        return fail(str(exc))

    # Heavy imports after argument checks, so `--help` and typos answer at once.
    from helpers.envs import EnvError, make_env
    from helpers.evaluation import evaluate_group
    from helpers.loop import TrainingDivergedError, agent_class, train_group
    from helpers.video import VideoError, record_video

    env_fn = partial(make_env, config.env_id)
    try:
        probe = env_fn()  # fail fast on a bad id or a discrete action space
    except EnvError as exc:
        return fail(str(exc))
    agent = agent_class(config).for_env(probe, config, seeds)
    probe.close()
    grouped = args.seed_list is not None
    name = ("td3_" if args.algo == "td3" else "") + re.sub(r"[^A-Za-z0-9_.-]+", "-", config.env_id)
    out = args.out or Path("videos") / (f"{name}_seeds{seeds[0]}-{seeds[-1]}" if grouped else f"{name}_seed{seeds[0]}")
    seed_dirs = [out / f"seed{s}" for s in seeds] if grouped else [out]
    for folder in seed_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    filmed = seed_dirs[0]  # the first seed is filmed
    video_error, recordings = None, {}
    if not args.no_video:
        try:
            # Filmed before training: this is the very network that training starts from.
            recordings["untrained"] = record_video(agent.seed_agent(0).act, env_fn, filmed / "untrained.mp4")
        except VideoError as exc:
            video_error = str(exc)
            print(f"warning: {video_error}; training goes on without videos", file=sys.stderr)

    group = f"seeds {', '.join(map(str, seeds))} side by side" if grouped else f"seed {seeds[0]}"
    algo = args.algo.upper()
    print(f"Training {algo} on {config.env_id} for {config.total_steps} steps ({group}) -> {out}")
    try:
        run = train_group(config, env_fn=env_fn, progress=not args.quiet, agent=agent)
    except TrainingDivergedError as exc:
        for history, folder in zip(exc.histories, seed_dirs):
            (folder / "history.json").write_text(json.dumps(history.to_dict()))
        return fail(f"{exc} (every seed's history so far in {out})")

    returns = evaluate_group(run.agent, env_fn, args.eval_episodes)
    summaries = [seed_summary(config, h, r) for h, r in zip(run.histories, returns)]
    for summary, history, folder in zip(summaries, run.histories, seed_dirs):
        write_json(folder / "summary.json", summary)  # written before any video can fail
        plot_curves([history], folder / "learning_curve.png", algo,
                    f"{algo} on {config.env_id}, seed {history.seed}: final {args.eval_episodes}-episode "
                    f"evaluation {summary['eval_mean']:.0f} ± {summary['eval_std']:.0f}")
    if grouped:
        aggregate = group_summary(config, run.histories, summaries, args.eval_episodes, seeds[0])
        write_json(out / "summary.json", aggregate)
        plot_curves(run.histories, out / "learning_curve.png", algo,
                    f"{algo} on {config.env_id}, {len(seeds)} seeds: final evaluation mean "
                    f"{aggregate['eval_mean_over_seeds']:.0f}")

    if not args.no_video and video_error is None:
        try:
            recordings["trained"] = record_video(run.agent.seed_agent(0).act, env_fn, filmed / "trained.mp4")
        except VideoError as exc:
            video_error = str(exc)
            print(f"warning: {video_error}", file=sys.stderr)
    summaries[0]["videos"] = {
        name: {"mp4": rec.mp4.name, "gif": rec.gif.name if rec.gif else None, "return": round(rec.episode_return, 2)}
        for name, rec in recordings.items()
    }
    if video_error:
        summaries[0]["video_error"] = video_error
    write_json(filmed / "summary.json", summaries[0])

    print_table(summaries, args.eval_episodes)
    h = run.histories[0]
    print(f"{config.env_id}: {len(seeds)} × {h.total_steps} steps in {h.wall_s:.1f} s "
          f"({h.steps_per_s * len(seeds):.0f} env steps/s in all)")
    if recordings:
        print(f"filmed seed {seeds[0]}: {', '.join(rec.mp4.name for rec in recordings.values())} in {filmed}")
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")
    return 0


def seed_summary(config: DDPGConfig, history, returns) -> dict:
    """One seed's results, JSON-ready."""
    return {
        "algo": type(config).__name__.removesuffix("Config").lower(),
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
        "config": {**vars(config), "seed": history.seed},
    }


def group_summary(config: DDPGConfig, histories, summaries, eval_episodes: int, filmed_seed: int) -> dict:
    """The group's results: every seed's final evaluation and the aggregate speed."""
    import numpy as np

    means = [s["eval_mean"] for s in summaries]
    h = histories[0]
    return {
        "algo": type(config).__name__.removesuffix("Config").lower(),
        "env": config.env_id,
        "seeds": [s["seed"] for s in summaries],
        "total_steps": h.total_steps,
        "eval_episodes": eval_episodes,
        "eval_mean_per_seed": means,
        "eval_std_per_seed": [s["eval_std"] for s in summaries],
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
        print(f"| {s['seed']} | {s['eval_mean']:.1f} ± {s['eval_std']:.1f} | {s['eval_min']:.1f} | "
              f"{s['steps_per_s']:.0f} |")


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
