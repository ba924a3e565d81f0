"""Speed and learning benchmark: one seed alone against a group of seeds, in one run (not a timed test).

    python -m helpers.tools.benchmark                            # seeds 0-9, 10,000 steps, default networks
    python -m helpers.tools.benchmark --hidden-sizes 256 256 --seeds 0-4
    python -m helpers.tools.benchmark --algo td3 --env InvertedPendulum-v5 --steps 30000 --no-single

Both paths use the same settings: one gradient update per env step per seed,
batch 64. The single path trains the first seed alone; the group path trains
every seed side by side (``helpers.loop.train_group``). For each it reports
env steps per second (evaluations excluded, graph compilation included), the
compile time and where the wall time went (act call, env steps, replay buffer,
updates). For every seed of the group it reports the final 100-episode
noise-free evaluation, and for the first seed how far its group run drifted
from its run alone. The last line is one JSON object with every number.
"""

from __future__ import annotations

import json
import platform
import sys

from helpers.cli import OneLineParser, add_algo_flag, fail, make_config, parse_seeds, positive_int
from helpers.config import DDPGConfig


def speed_row(label: str, histories) -> dict:
    h = histories[0]
    parts = {k: round(1e3 * v / (h.total_steps * h.group_size), 4) for k, v in h.time_s.items() if k != "eval"}
    return {"path": label, "seeds": h.group_size, "steps_per_s": round(h.steps_per_s * h.group_size, 1),
            "compile_s": round(h.compile_s, 2), "wall_s": round(h.wall_s, 1), "ms_per_seed_step": parts}


def parse_args(argv: list[str] | None):
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.tools.benchmark", description=__doc__.split("\n")[0])
    add_algo_flag(parser)
    parser.add_argument("--env", default=defaults.env_id)
    parser.add_argument("--seeds", nargs="+", default=["0-9"], help="a range such as 0-9, or a list (default: 0-9)")
    parser.add_argument("--steps", type=positive_int, default=defaults.total_steps)
    parser.add_argument("--warmup", type=int, default=defaults.warmup_steps)
    parser.add_argument("--hidden-sizes", type=positive_int, nargs="+", default=list(defaults.hidden_sizes))
    parser.add_argument("--final-episodes", type=positive_int, default=100)
    parser.add_argument("--no-single", action="store_true", help="skip the single-seed path")
    args = parser.parse_args(argv)
    try:
        args.seed_list = parse_seeds(args.seeds)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = args.seed_list
    from helpers.envs import EnvError, make_env
    from helpers.evaluation import evaluate_group
    from helpers.loop import train_group

    try:
        make_env(args.env).close()
        config = make_config(args.algo, env_id=args.env, total_steps=args.steps, warmup_steps=args.warmup,
                             hidden_sizes=tuple(args.hidden_sizes), seed=seeds[0])
    except (EnvError, ValueError) as exc:
        return fail(str(exc))
    env_fn = lambda: make_env(args.env)  # noqa: E731

    rows, alone = [], None
    if not args.no_single:
        alone = train_group(config, [seeds[0]], progress=False)
        rows.append(speed_row("single", alone.histories))
        print(f"single seed: {rows[-1]['steps_per_s']:.0f} steps/s", file=sys.stderr, flush=True)
    group = train_group(config, seeds, progress=False)
    rows.append(speed_row("group", group.histories))
    print(f"group of {len(seeds)}: {rows[-1]['steps_per_s']:.0f} steps/s", file=sys.stderr, flush=True)
    finals = evaluate_group(group.agent, env_fn, args.final_episodes)
    print_tables(rows, seeds, finals, args.final_episodes)
    summary = make_summary(args, config, seeds, rows, finals)
    if alone is not None:
        solo = evaluate_group(alone.agent, env_fn, args.final_episodes)[0]
        summary.update(single_steps_per_s=rows[0]["steps_per_s"],
                       group_over_single=round(rows[1]["steps_per_s"] / rows[0]["steps_per_s"], 2),
                       first_seed_alone_vs_in_group=alone_vs_group(alone, group, solo, finals[0], seeds[0],
                                                                   rows[1]["steps_per_s"] / rows[0]["steps_per_s"]))
    print(json.dumps(summary))
    return 0


def print_tables(rows: list[dict], seeds: list[int], finals, episodes: int) -> None:
    parts = list(rows[-1]["ms_per_seed_step"])
    print(f"| path | seeds | env steps/s (all seeds) | compile s | {' | '.join(f'ms/step {p}' for p in parts)} |")
    print("|---|---:|---:|---:|" + "---:|" * len(parts))
    for r in rows:
        cells = " | ".join(f"{r['ms_per_seed_step'].get(p, 0):.3f}" for p in parts)
        print(f"| {r['path']} | {r['seeds']} | {r['steps_per_s']:.0f} | {r['compile_s']:.1f} | {cells} |")
    print()
    print(f"| seed | final {episodes}-episode evaluation |")
    print("|---:|---:|")
    for seed, r in zip(seeds, finals):
        print(f"| {seed} | {r.mean():.1f} ± {r.std():.1f} |")


def make_summary(args, config: DDPGConfig, seeds: list[int], rows: list[dict], finals) -> dict:
    return {
        "algo": args.algo,
        "env": args.env,
        "steps": args.steps,
        "group_size": len(seeds),
        "seeds": seeds,
        "hidden_sizes": list(config.hidden_sizes),
        "batch_size": config.batch_size,
        "critic_action": config.critic_action,
        "group_steps_per_s": rows[-1]["steps_per_s"],
        "compile_s": rows[-1]["compile_s"],
        "final_eval_mean_per_seed": [round(float(r.mean()), 1) for r in finals],
        "final_eval_std_per_seed": [round(float(r.std()), 1) for r in finals],
        "paths": rows,
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
    }


def alone_vs_group(alone, group, solo, in_group, seed: int, speedup: float) -> dict:
    """How far the first seed's run in the group drifted from its run alone (round-off of a different graph)."""
    import numpy as np

    # The first network of the state: the actor of DDPG and TD3, the Q-network of DQN.
    drift = max(float(np.max(np.abs(a - b))) for a, b in zip(
        alone.agent.seed_state(0)[0].trainable, group.agent.seed_state(0)[0].trainable))
    a, b = np.array(alone.histories[0].critic_loss), np.array(group.histories[0].critic_loss)
    apart = np.abs(a - b) > 1e-3 * np.abs(a)
    first_apart = int(np.argmax(apart)) + 1 if apart.any() else None
    print(f"\nseed {seed} alone and in the group: critic losses first differ by more than 0.1% at update "
          f"{first_apart} of {len(a)}; final evaluation {solo.mean():.1f} alone, {in_group.mean():.1f} in the "
          f"group; largest weight difference of its first network (the actor, or DQN's Q) at the end {drift:.2g}; "
          f"group/single speed {speedup:.2f}×")
    return {"first_update_with_critic_loss_apart_by_1e-3": first_apart, "updates": len(a),
            "final_eval_mean_alone": round(float(solo.mean()), 1),
            "final_eval_mean_in_group": round(float(in_group.mean()), 1),
            "max_abs_first_network_weight_difference": drift}


if __name__ == "__main__":
    sys.exit(main())
