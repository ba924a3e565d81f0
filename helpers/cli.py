"""Command-line pieces shared by ``python -m helpers.train`` and the maintainer commands in ``helpers.tools``:
one flag per config field, seed lists, and errors that fit on one line. Imports no TensorFlow, so ``--help``
and mistakes in the arguments answer at once."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import fields, replace

from helpers.algorithms import ALGORITHMS
from helpers.config import CRITIC_ACTION_INPUTS, NOISE_TYPES, NORMALIZATIONS, DDPGConfig, field_docs

RENAMED = {"env_id": "--env", "total_steps": "--steps", "warmup_steps": "--warmup",
           "eval_episodes": "--curve-eval-episodes"}
"""Config fields whose flag is not ``--field-name``; ``seed`` is set by ``--seed`` or ``--seeds``."""

CHOICES = {"noise": NOISE_TYPES, "normalization": NORMALIZATIONS, "critic_action": CRITIC_ACTION_INPUTS}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def fail(message: str) -> int:
    """Print a one-line error and return the exit code 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


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


def make_config(algo: str, **changes) -> DDPGConfig:
    """The default config of ``algo`` (a name in ``helpers.algorithms.ALGORITHMS``) with ``changes`` (validated)."""
    return replace(ALGORITHMS[algo].config(), **changes)


def config_flag(name: str) -> str:
    return RENAMED.get(name, "--" + name.replace("_", "-"))


def add_algo_flag(parser: argparse.ArgumentParser, default: str = "ddpg") -> None:
    parser.add_argument("--algo", choices=list(ALGORITHMS), default=default,
                        help="; ".join(f"{a.name}: {a.summary}" for a in ALGORITHMS.values())
                        + " (default: %(default)s)")


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of every algorithm's config, its documentation as the help: DDPGConfig's fields, then
    each algorithm's own. Unset flags stay None."""
    shared = {f.name for f in fields(DDPGConfig)}
    for algorithm in ALGORITHMS.values():
        cls = algorithm.config
        own = [f for f in fields(cls) if (f.name in shared) == (cls is DDPGConfig) and f.name != "seed"]
        if not own:
            continue
        title = (f"{algorithm.name.upper()} settings ({cls.__name__}"
                 + (", with --algo " + algorithm.name if cls is not DDPGConfig else "") + ")")
        group, docs, defaults = parser.add_argument_group(title), field_docs(cls), cls()
        for f in own:
            group.add_argument(config_flag(f.name), **_flag_options(f, docs[f.name], getattr(defaults, f.name)))


def _flag_options(f, doc: str, default) -> dict:
    shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
    options = {"dest": f"config_{f.name}", "default": None, "metavar": f.name.upper(),
               "help": f"{doc} (default: {shown})".replace("``", "").replace("%", "%%")}
    if f.type == "bool":
        options.update(action=argparse.BooleanOptionalAction, metavar=None)
    elif f.type.startswith("tuple"):
        options.update(type=positive_int, nargs="+", metavar="UNITS")
    else:
        options["type"] = positive_int if f.name == "total_steps" else {"int": int, "float": float, "str": str}[f.type]
        if f.name in CHOICES:
            options.update(choices=CHOICES[f.name], metavar="{" + ",".join(CHOICES[f.name]) + "}")
    return options


def config_fields(args: argparse.Namespace) -> dict:
    """The config fields given on the command line, by field name."""
    given = {k.removeprefix("config_"): v for k, v in vars(args).items() if k.startswith("config_") and v is not None}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}


def build_config(args: argparse.Namespace, seed: int) -> DDPGConfig:
    """The config of ``--algo`` with the fields given as flags; ``ValueError`` (one line) for a bad value or a
    setting of another algorithm (``--twin-critics`` without ``--algo td3``)."""
    given = config_fields(args)
    foreign = sorted(set(given) - {f.name for f in fields(ALGORITHMS[args.algo].config)})
    if foreign:
        owner = next(a for a in ALGORITHMS.values() if foreign[0] in {f.name for f in fields(a.config)})
        verb = "is a" if len(foreign) == 1 else "are"
        noun = "setting" if len(foreign) == 1 else "settings"
        raise ValueError(f"{', '.join(map(config_flag, foreign))} {verb} {owner.name.upper()} {noun}; "
                         f"add --algo {owner.name}")
    return make_config(args.algo, **given, seed=seed)
