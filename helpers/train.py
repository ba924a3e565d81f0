"""The main job: train DDPG (or TD3), evaluate it, and record videos.

    python -m helpers.train                       # DDPG on Pendulum-v1, seed 0
    python -m helpers.train --algo td3 --env InvertedPendulum-v5 --steps 30000
    python -m helpers.train --seeds 0-9           # ten seeds trained side by side, as one group
    python -m helpers.train --seeds 0 3 7
    python -m helpers.train --env MountainCarContinuous-v0 --steps 30000 --noise ou --hidden-sizes 64 64
    python -m helpers.train --env my_package:MyEnv-v0 --no-video

Every field of ``DDPGConfig`` (and, with ``--algo td3``, of ``TD3Config``) is a flag: ``--batch-size 128``,
``--hidden-sizes 64 64``, ``--no-twin-critics``; ``--help`` lists them with their documentation.

With ``--seed`` (default 0) it writes into ``--out`` (default ``runs/<env>_seed<seed>``, a folder git ignores;
with ``--algo td3`` the name starts with ``td3_``; if that folder exists, the next free ``-2``, ``-3``, ...):
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
from dataclasses import fields, replace
from functools import partial
from pathlib import Path

from helpers.config import CRITIC_ACTION_INPUTS, NOISE_TYPES, NORMALIZATIONS, DDPGConfig, field_docs


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


RENAMED = {"env_id": "--env", "total_steps": "--steps", "warmup_steps": "--warmup",
           "eval_episodes": "--curve-eval-episodes"}
"""Config fields whose flag is not ``--field-name``; ``seed`` is set by ``--seed`` or ``--seeds``."""

CHOICES = {"noise": NOISE_TYPES, "normalization": NORMALIZATIONS, "critic_action": CRITIC_ACTION_INPUTS}


def config_flag(name: str) -> str:
    return RENAMED.get(name, "--" + name.replace("_", "-"))


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of DDPGConfig and TD3Config, its documentation as the help. Unset flags stay None."""
    from helpers.td3 import TD3Config

    ddpg = {f.name for f in fields(DDPGConfig)}
    docs, defaults = field_docs(TD3Config), TD3Config()
    for group_name, cls_fields in (("DDPG settings (DDPGConfig)", [f for f in fields(TD3Config) if f.name in ddpg]),
                                   ("TD3 settings (TD3Config, with --algo td3)",
                                    [f for f in fields(TD3Config) if f.name not in ddpg])):
        group = parser.add_argument_group(group_name)
        for f in cls_fields:
            if f.name == "seed":
                continue
            default = getattr(DDPGConfig() if f.name in ddpg else defaults, f.name)
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
            kwargs = {"dest": f"config_{f.name}", "default": None, "metavar": f.name.upper(),
                      "help": f"{docs[f.name]} (default: {shown})".replace("``", "").replace("%", "%%")}
            if f.type == "bool":
                kwargs.update(action=argparse.BooleanOptionalAction, metavar=None)
            elif f.type.startswith("tuple"):
                kwargs.update(type=positive_int, nargs="+", metavar="UNITS")
            else:
                kwargs["type"] = {"int": int, "float": float, "str": str}[f.type]
                if f.name in CHOICES:
                    kwargs.update(choices=CHOICES[f.name], metavar="{" + ",".join(CHOICES[f.name]) + "}")
                elif f.name == "total_steps":
                    kwargs["type"] = positive_int
            group.add_argument(config_flag(f.name), **kwargs)


def config_fields(args: argparse.Namespace) -> dict:
    """The config fields given on the command line, by field name."""
    given = {k.removeprefix("config_"): v for k, v in vars(args).items() if k.startswith("config_") and v is not None}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def build_config(args: argparse.Namespace, seed: int) -> DDPGConfig:
    """The config of ``--algo`` with the fields given as flags; ``ValueError`` (one line) for a bad value or a
    TD3 setting without ``--algo td3``."""
    given = config_fields(args)
    td3_only = sorted(set(given) - {f.name for f in fields(DDPGConfig)})
    if args.algo != "td3" and td3_only:
        verb = "is a TD3 setting" if len(td3_only) == 1 else "are TD3 settings"
        raise ValueError(f"{', '.join(map(config_flag, td3_only))} {verb}; add --algo td3")
    return make_config(args.algo, **given, seed=seed)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.train", description=__doc__.split("\n")[0])
    parser.add_argument("--algo", choices=ALGORITHMS, default="ddpg",
                        help="ddpg, or td3: DDPG with TD3's three fixes (default: %(default)s)")
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
    add_config_flags(parser)
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
        config = build_config(args, seeds[0])
        out = output_folder(args, config, seeds)
    except ValueError as exc:
        return fail(str(exc))

    # Heavy imports after argument checks, so `--help` and typos answer at once.
    from helpers.envs import EnvError, make_env
    from helpers.evaluation import evaluate_group
    from helpers.loop import TrainingDivergedError, TrainingInterrupted, agent_class, train_group
    from helpers.video import VideoError, record_video

    env_fn = partial(make_env, config.env_id)
    try:
        probe = env_fn()  # fail fast on a bad id or a discrete action space
    except EnvError as exc:
        return fail(str(exc))
    agent = agent_class(config).for_env(probe, config, seeds)
    probe.close()
    grouped = args.seed_list is not None
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
        save_histories(exc.histories, seed_dirs, algo, config.env_id)
        return fail(f"{exc} (every seed's history so far in {out})")
    except TrainingInterrupted as exc:
        save_histories(exc.run.histories, seed_dirs, algo, config.env_id)
        print(f"interrupted after {exc.run.histories[0].total_steps} env steps: every seed's history so far "
              f"(history.json) and learning curve are in {out}", file=sys.stderr)
        return 130

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
        kept = [h for h in run.histories if not h.diverged]
        plot_curves(kept, out / "learning_curve.png", algo,
                    f"{algo} on {config.env_id}, {len(kept)} seeds: final evaluation mean "
                    f"{aggregate['eval_mean_over_seeds']:.0f}" + (f" ({len(seeds) - len(kept)} frozen seeds left out)"
                                                                  if len(kept) < len(seeds) else ""))

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


def output_folder(args: argparse.Namespace, config: DDPGConfig, seeds: list[int]) -> Path:
    """Where a run writes: ``--out``, refused if it holds files (unless ``--overwrite``), or the first free
    ``runs/<name>``, ``runs/<name>-2``, ... so that a new run never replaces an earlier one."""
    if args.out is not None:
        if args.out.is_dir() and any(args.out.iterdir()) and not args.overwrite:
            raise ValueError(f"--out {args.out} already holds files: choose another folder, or add --overwrite")
        return args.out
    name = ("td3_" if args.algo == "td3" else "") + re.sub(r"[^A-Za-z0-9_.-]+", "-", config.env_id)
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
        "algo": type(config).__name__.removesuffix("Config").lower(),
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


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
