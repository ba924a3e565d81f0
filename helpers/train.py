"""The main job: train DDPG, evaluate it, and record videos.

    python -m helpers.train                       # Pendulum-v1, seed 0
    python -m helpers.train --env MountainCarContinuous-v0 --steps 30000
    python -m helpers.train --env my_package:MyEnv-v0 --no-video

It writes into ``--out`` (default ``videos/<env>_seed<seed>``): the learning
curve ``learning_curve.png``, ``untrained.mp4/.gif``, ``trained.mp4/.gif``
and ``summary.json``. Training results are written even if video fails.
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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.train", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default=defaults.env_id, help="gymnasium id with a Box action space, "
                        "or 'module:EnvId' (default: %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=defaults.total_steps,
                        help="env steps, warm-up included (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=defaults.warmup_steps,
                        help="random-action steps before learning starts (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--eval-episodes", type=positive_int, default=100,
                        help="episodes of the final noise-free evaluation (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: videos/<env>_seed<seed>)")
    parser.add_argument("--no-video", action="store_true", help="skip the mp4 and GIF recordings")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = replace(DDPGConfig(), env_id=args.env, total_steps=args.steps,
                         warmup_steps=args.warmup, seed=args.seed)
    except ValueError as exc:
        return fail(str(exc))

    # Heavy imports after argument checks, so `--help` and typos answer at once.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from helpers.envs import EnvError, make_env
    from helpers.evaluation import evaluate
    from helpers.plots import plot_learning_curve, use_course_style
    from helpers.training import TrainingDivergedError, train
    from helpers.video import VideoError, record_video

    from helpers.agent import DDPGAgent
    from helpers.envs import seed_everything

    env_fn = partial(make_env, config.env_id)
    try:
        probe = env_fn()  # fail fast on a bad id or a discrete action space
    except EnvError as exc:
        return fail(str(exc))
    seed_everything(config.seed)
    agent = DDPGAgent.for_env(probe, config)
    probe.close()
    out = args.out or Path("videos") / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', config.env_id)}_seed{config.seed}"
    out.mkdir(parents=True, exist_ok=True)
    video_error = None
    recordings = {}
    if not args.no_video:
        try:
            # Filmed before training: this is the very network that training starts from.
            recordings["untrained"] = record_video(agent.act, env_fn, out / "untrained.mp4")
        except VideoError as exc:
            video_error = str(exc)
            print(f"warning: {video_error}; training goes on without videos", file=sys.stderr)

    print(f"Training DDPG on {config.env_id} for {config.total_steps} steps (seed {config.seed}) -> {out}")
    try:
        agent, history = train(config, env_fn, progress=not args.quiet, agent=agent)
    except TrainingDivergedError as exc:
        (out / "history.json").write_text(json.dumps(exc.history.to_dict()))
        return fail(f"{exc} (history so far in {out / 'history.json'})")

    returns = evaluate(agent.act, env_fn, args.eval_episodes)
    summary = {
        "env": config.env_id,
        "seed": config.seed,
        "total_steps": history.total_steps,
        "wall_s": round(history.wall_s, 2),
        "steps_per_s": round(history.steps_per_s, 1),
        "eval_episodes": args.eval_episodes,
        "eval_mean": round(float(returns.mean()), 2),
        "eval_std": round(float(returns.std()), 2),
        "eval_min": round(float(returns.min()), 2),
        "eval_max": round(float(returns.max()), 2),
        "eval_curve": {"steps": history.eval_steps, "mean_return": [round(m, 2) for m in history.eval_means()]},
        "config": {k: v for k, v in vars(config).items()},
    }

    use_course_style()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    plot_learning_curve(history, ax=ax, label="DDPG")
    ax.set_title(f"DDPG on {config.env_id}, seed {config.seed}: final {args.eval_episodes}-episode "
                 f"evaluation {returns.mean():.0f} ± {returns.std():.0f}")
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=110)
    plt.close(fig)

    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")  # written before any video can fail

    if not args.no_video and video_error is None:
        try:
            recordings["trained"] = record_video(agent.act, env_fn, out / "trained.mp4")
        except VideoError as exc:
            video_error = str(exc)
            print(f"warning: {video_error}", file=sys.stderr)
    summary["videos"] = {
        name: {"mp4": rec.mp4.name, "gif": rec.gif.name if rec.gif else None, "return": round(rec.episode_return, 2)}
        for name, rec in recordings.items()
    }
    if video_error:
        summary["video_error"] = video_error
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")

    print(f"{config.env_id}: {history.total_steps} steps in {history.wall_s:.1f} s "
          f"({history.steps_per_s:.0f} steps/s); {args.eval_episodes}-episode evaluation "
          f"{returns.mean():.1f} ± {returns.std():.1f}")
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")
    return 0


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
