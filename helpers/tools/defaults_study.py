"""The measurement behind two defaults: network size and where the action enters the critic.

    python -m helpers.tools.defaults_study                 # about 15 minutes on a 2-core CPU
    python -m helpers.tools.defaults_study --quick         # a smoke run

For each task (Pendulum-v1, 10,000 steps; MultiPendulum-v0, two pendulums
driven by one 2-D action, 20,000 steps) it trains 10 seeds of every arm as one
group: hidden sizes 64-64, 128-128 and 256-256, each with the action at the
critic's input and at its second hidden layer. Each seed is scored by a
100-episode noise-free evaluation on fixed start states. Per arm it prints the
mean over seeds with a 95% bootstrap interval (``helpers.stats``, built on ``scipy.stats.bootstrap``), the
worst seed, and how many seeds reached the task's bar; each difference that decides a default gets the exact
rank-sum test's p-value, Holm-corrected over all of them (``--report`` prints it all again from the JSON). As a
reference for MultiPendulum-v0 it applies a Pendulum-v1 actor of this study to each pendulum
separately. It writes everything to ``results/defaults_study.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = ((64, 64), (128, 128), (256, 256))
PLACEMENTS = ("input", "hidden")
TASKS = {"Pendulum-v1": 10_000, "MultiPendulum-v0": 20_000}
BAR_PER_PENDULUM = -170.0
"""A seed 'solves' a task when its 100-episode evaluation reaches -170 per pendulum."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.tools.defaults_study", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 1,500 steps: checks that it runs")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "defaults_study.json")
    parser.add_argument("--report", action="store_true", help="print the tables again from --out, without training")
    args = parser.parse_args(argv)
    if args.report:
        data = json.loads(args.out.read_text())
        report(data["arms"], data["multi_pendulum_reference"])
        return 0

    seeds = list(range(2 if args.quick else args.seeds))
    arms, pendulum_actor = [], None
    for env_id, steps in TASKS.items():
        for hidden in SIZES:
            for placement in PLACEMENTS:
                arm, agent = train_arm(env_id, 1_500 if args.quick else steps, hidden, placement, seeds)
                arms.append(arm)
                if env_id == "Pendulum-v1" and hidden == SIZES[-1] and placement == "input":
                    best = int(max(range(len(seeds)), key=lambda i: arm["final_eval_per_seed"][i]))
                    pendulum_actor = (seeds[best], agent.seed_agent(best))
                print(json.dumps(arm), file=sys.stderr, flush=True)
    reference = multi_pendulum_reference(*pendulum_actor) if pendulum_actor is not None else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"arms": arms, "multi_pendulum_reference": reference}, indent=1) + "\n")
    report(arms, reference)
    return 0


def train_arm(env_id: str, steps: int, hidden: tuple, placement: str, seeds: list[int]) -> tuple[dict, object]:
    """One arm of the study, all seeds as one group: its stored record, and the trained group."""
    import numpy as np

    from helpers.config import DDPGConfig
    from helpers.envs import make_env
    from helpers.evaluation import evaluate_group
    from helpers.loop import train_group
    from helpers.stats import summarize

    pendulums = 2 if env_id == "MultiPendulum-v0" else 1
    config = replace(DDPGConfig(), env_id=env_id, total_steps=steps, hidden_sizes=hidden, critic_action=placement,
                     eval_every=steps)
    start = time.perf_counter()
    run = train_group(config, seeds, progress=False)
    finals = evaluate_group(run.agent, partial(make_env, env_id), 100).mean(axis=1)
    low, high = summarize(finals).mean_ci
    arm = {"env": env_id, "steps": steps, "hidden_sizes": list(hidden), "critic_action": placement,
           "seeds": seeds, "final_eval_per_seed": np.round(finals, 1).tolist(),
           "mean": round(float(finals.mean()), 1), "ci95": [round(low, 1), round(high, 1)],
           "worst": round(float(finals.min()), 1),
           "solved": int((finals >= BAR_PER_PENDULUM * pendulums).sum()),
           "wall_s": round(time.perf_counter() - start, 1),
           "steps_per_s": round(run.histories[0].steps_per_s * len(seeds), 1)}
    return arm, run.agent


def multi_pendulum_reference(seed: int, agent) -> dict:
    """The best Pendulum-v1 actor applied to each pendulum of MultiPendulum-v0 separately."""
    from helpers.envs import make_env
    from helpers.evaluation import evaluate

    def per_pendulum(obs):  # each pendulum's (cos, sin, velocity) through the Pendulum-v1 actor
        return agent.act(obs.reshape(-1, 3)).reshape(len(obs), -1)

    returns = evaluate(per_pendulum, partial(make_env, "MultiPendulum-v0"), 100)
    return {"what": f"the best Pendulum-v1 actor of the 256-256 input arm (seed {seed}) applied to "
                    "each pendulum separately", "mean": round(float(returns.mean()), 1)}


def difference(c) -> str:
    """A comparison of two arms: the Hodges-Lehmann shift with the interval of its rank test (at Holm's level),
    its p-value and verdict."""
    return f"{c.interval()}, p = {c.p_value:.3g}, {'significant' if c.significant else 'not significant'}"


def report(arms: list[dict], reference: dict | None) -> None:
    """The table of arms, the differences that decide the defaults, and the reference line."""
    from helpers.stats import compare, holm

    seeds = arms[0]["seeds"]
    print(f"| task | hidden | action enters critic at | mean of {len(seeds)} seeds [95% CI] | worst seed | "
          f"seeds >= {BAR_PER_PENDULUM:g} per pendulum |")
    print("|---|---|---|---:|---:|---:|")
    for a in arms:
        print(f"| {a['env']} | {'-'.join(map(str, a['hidden_sizes']))} | {a['critic_action']} | {a['mean']:.1f} "
              f"[{a['ci95'][0]:.1f}, {a['ci95'][1]:.1f}] | {a['worst']:.1f} | {a['solved']}/{len(seeds)} |")
    if reference:
        print(f"\nMultiPendulum-v0 reference: {reference['what']}: {reference['mean']:.1f}")
    pick = {(a["env"], tuple(a["hidden_sizes"]), a["critic_action"]): a for a in arms}
    pairs = {}  # what is compared -> (arm a, arm b): a minus b
    for env in TASKS:
        for hidden in SIZES:
            pairs[f"{env}, {'-'.join(map(str, hidden))}: action at input minus at second layer"] = \
                pick.get((env, hidden, "input")), pick.get((env, hidden, "hidden"))
        for hidden in SIZES[:-1]:
            pairs[f"{env}, action at input: {'-'.join(map(str, hidden))} minus {'-'.join(map(str, SIZES[-1]))}"] = \
                pick.get((env, hidden, "input")), pick.get((env, SIZES[-1], "input"))
    tested = holm({what: compare(a["final_eval_per_seed"], b["final_eval_per_seed"])
                   for what, (a, b) in pairs.items() if a and b})
    print(f"\nHodges-Lehmann shifts (the median of the seed-against-seed differences), each with the interval of its "
          f"exact rank-sum test at the level of its Holm step; p Holm-corrected over these {len(tested)} comparisons:")
    for what, c in tested.items():
        print(f"- {what}: {difference(c)}")


if __name__ == "__main__":
    sys.exit(main())
