"""Speed and learning benchmark over several seeds (a benchmark, not a timed test).

    python -m helpers.benchmark                   # seeds 0-4, 10,000 steps each

Per seed it reports env steps per second (one gradient update per step,
evaluations excluded), the first env step at which the 10-episode noise-free
evaluation reaches the threshold, and the final 100-episode evaluation mean.
It ends with one JSON line holding the same numbers.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import replace

from helpers.config import DDPGConfig
from helpers.train import OneLineParser, fail, positive_int


def first_crossing(steps: list[int], means, threshold: float) -> int | None:
    """First evaluation step whose mean return is at least ``threshold`` (None if never)."""
    return next((s for s, m in zip(steps, means) if m >= threshold), None)


def time_components(agent, buffer, batch_size: int, update_every: int, repeats: int = 20) -> dict:
    """Milliseconds per update (inside one compiled call of ``update_every`` updates) and per act call."""
    import time

    import numpy as np

    agent.update(buffer.sample(batch_size, update_every))  # warm: compiled already, caches hot
    start = time.perf_counter()
    for _ in range(repeats):
        agent.update(buffer.sample(batch_size, update_every))
    update_ms = (time.perf_counter() - start) * 1e3 / (repeats * update_every)
    obs = buffer.observations[0]
    start = time.perf_counter()
    for _ in range(500):
        agent.act(obs)
    act_ms = (time.perf_counter() - start) * 1e3 / 500
    return {"update_ms": round(update_ms, 3), "act_ms": round(act_ms, 3)}


def main(argv: list[str] | None = None) -> int:
    defaults = DDPGConfig()
    parser = OneLineParser(prog="python -m helpers.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default=defaults.env_id)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=positive_int, default=defaults.total_steps)
    parser.add_argument("--warmup", type=int, default=defaults.warmup_steps)
    parser.add_argument("--eval-every", type=positive_int, default=500,
                        help="env steps between 10-episode evaluations (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=-200.0,
                        help="evaluation return that counts as reached (default: %(default)s)")
    parser.add_argument("--final-episodes", type=positive_int, default=100)
    args = parser.parse_args(argv)

    import numpy as np

    from helpers.envs import EnvError, make_env
    from helpers.evaluation import evaluate
    from helpers.training import make_replay_buffer, train

    try:
        make_env(args.env).close()
        base = replace(defaults, env_id=args.env, total_steps=args.steps, warmup_steps=args.warmup, eval_every=args.eval_every, eval_episodes=10)
    except (EnvError, ValueError) as exc:
        return fail(str(exc))

    rows = []
    for seed in args.seeds:
        config = replace(base, seed=seed)
        probe = make_env(args.env)
        buffer = make_replay_buffer(config, probe)  # the very buffer train() would make, kept for timing
        probe.close()
        agent, history = train(config, progress=False, buffer=buffer)
        final = evaluate(agent.act, lambda: make_env(args.env), args.final_episodes)
        # Timed last: these extra updates change the agent, so nothing is evaluated after them.
        parts = time_components(agent, buffer, config.batch_size, config.update_every)
        rows.append({
            "seed": seed,
            "steps_per_s": round(history.steps_per_s, 1),
            "compile_s": round(history.compile_s, 1),
            **parts,
            "wall_s": round(history.wall_s, 1),
            "first_step_at_threshold": first_crossing(history.eval_steps, history.eval_means(), args.threshold),
            "final_eval_mean": round(float(final.mean()), 1),
            "final_eval_std": round(float(final.std()), 1),
        })
        r = rows[-1]
        print(f"seed {seed}: {r['steps_per_s']:.0f} steps/s, reached {args.threshold:g} at "
              f"{r['first_step_at_threshold']}, final {args.final_episodes}-episode eval "
              f"{r['final_eval_mean']:.1f}", file=sys.stderr, flush=True)

    header = f"| seed | steps/s | compile s | ms/update | ms/act | first step with 10-ep eval >= {args.threshold:g} | final {args.final_episodes}-ep eval |"
    print(header)
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        reached = r["first_step_at_threshold"] if r["first_step_at_threshold"] is not None else "never"
        print(f"| {r['seed']} | {r['steps_per_s']:.0f} | {r['compile_s']:.1f} | {r['update_ms']:.2f} | {r['act_ms']:.2f} | {reached} | {r['final_eval_mean']:.1f} ± {r['final_eval_std']:.1f} |")
    crossings = [r["first_step_at_threshold"] for r in rows]
    summary = {
        "env": args.env,
        "steps": args.steps,
        "seeds": args.seeds,
        "median_steps_per_s": float(np.median([r["steps_per_s"] for r in rows])),
        "median_first_step_at_threshold": (
            float(np.median(crossings)) if all(c is not None for c in crossings) else None
        ),
        "worst_final_eval_mean": min(r["final_eval_mean"] for r in rows),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "per_seed": rows,
    }
    median_crossing = summary["median_first_step_at_threshold"]
    print(f"| median | {summary['median_steps_per_s']:.0f} | | | | "
          f"{'never' if median_crossing is None else f'{median_crossing:.0f}'} | "
          f"worst {summary['worst_final_eval_mean']:.1f} |")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
