"""The course's stored long runs (``helpers.experiments``): list them, train one, check them against the code.

    python -m helpers.tools.experiments list             # every experiment, and whether it is stored and current
    python -m helpers.tools.experiments run NAME         # train it and write results/runs/NAME/
    python -m helpers.tools.experiments check            # exit 1 if a stored run differs from its definition
    python -m helpers.tools.experiments replay NAME      # record its first evaluations on this kind of CPU
    python -m helpers.tools.experiments film NAME        # film the actors a stored run keeps again

A run's numbers repeat exactly only on the kind of CPU that made them (XLA compiles for the CPU's instruction
set). ``replay`` trains the first 2,000 steps of a stored run again and records their evaluations for this CPU
in ``results/runs/NAME/replays.json``; the tests then check on such a CPU that the code still makes them.
"""

from __future__ import annotations

import sys

from helpers.cli import OneLineParser


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m helpers.tools.experiments", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every experiment, and whether its stored run is current")
    commands.add_parser("check", help="exit 1 if a stored run differs from what `run` would train today")
    run = commands.add_parser("run", help="train an experiment and store it in results/runs/NAME/")
    run.add_argument("name")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--fresh", action="store_true", help="start again, deleting the run's checkpoints (an "
                     "experiment with checkpoints otherwise continues from its last one)")
    commands.add_parser("replay", help="record the first evaluations of a stored run on this CPU").add_argument("name")
    refilm = commands.add_parser("film", help="film the actors a stored run keeps again (into videos/)")
    refilm.add_argument("name")
    refilm.add_argument("--gif-frames", type=int, default=40, help="frames of each GIF at most (default: 40)")
    args = parser.parse_args(argv)

    from helpers import experiments

    if args.command in ("run", "replay", "film") and args.name not in experiments.EXPERIMENTS:
        print(f"error: no experiment {args.name!r}; known: {', '.join(experiments.EXPERIMENTS)}", file=sys.stderr)
        return 2
    if args.command == "run":
        out = experiments.run(args.name, progress=not args.quiet, fresh=args.fresh)
        print(experiments.load(args.name).provenance())
        print(f"written to {out}")
        return 0
    if args.command == "film":
        experiments.refilm(args.name, args.gif_frames)
        return 0
    if args.command == "replay":
        stored = experiments.load(args.name)
        experiments.write_replay(stored.folder, experiments.replay(args.name))
        print(f"recorded the first {experiments.REPLAY_STEPS:,} steps of {args.name} on {experiments.cpu_signature()} "
              f"in {stored.folder / 'replays.json'}")
        return 0
    return list_or_check(args.command)


def list_or_check(command: str) -> int:
    """Print every experiment with its status (``list``), or only the stale ones (``check``: exit 1 if any)."""
    from helpers import experiments

    stored = set(experiments.stored_names())
    stale = 0
    for name, experiment in experiments.EXPERIMENTS.items():
        if name not in stored:
            status = "not stored yet"
        else:
            differences = experiments.load(name).differences()
            stale += bool(differences)
            status = "stored, current" if not differences else "stored, STALE: " + "; ".join(differences)
        if command == "list":
            print(f"{name}: {experiment.description}\n    {status}")
        elif status != "stored, current":
            print(f"{name}: {status}")
    return 1 if command == "check" and stale else 0


if __name__ == "__main__":
    sys.exit(main())
