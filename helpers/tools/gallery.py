"""The video gallery: curated recordings from fixed seeds, made by one command.

    python -m helpers.tools.gallery            # about 2 minutes on a 2-core CPU

It writes ``videos/gallery/``:

- Pendulum-v1, the main job's settings (seed 0): the untrained actor, snapshots
  during training, and the trained actor;
- MountainCarContinuous-v0, the setting of notebook 04 (seed 2): the actor
  trained with OU noise against the one trained with Gaussian noise;

each as an mp4 and a small GIF, with ``index.json`` holding every measured
number. It then writes ``videos/README.md`` (the index) and the gallery block of
the top-level README from those numbers. Every run is deterministic, so the
files can be regenerated at will.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

from helpers.config import DDPGConfig

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "python -m helpers.tools.gallery"
PENDULUM = DDPGConfig()
"""The main job's settings: Pendulum-v1, seed 0, 10,000 steps, 256-256 networks."""
SNAPSHOTS = (2_000, 3_000, 5_000)
"""Env steps at which the learning actor is filmed (the 1,000 warm-up steps do no updates)."""
MOUNTAIN_CAR = replace(DDPGConfig(), env_id="MountainCarContinuous-v0", seed=2, total_steps=15_000,
                       hidden_sizes=(64, 64), noise_sigma=0.5, eval_every=5_000, eval_episodes=5)
"""Notebook 04's MountainCar arm; seed 2 is filmed."""
MOUNTAIN_CAR_SEEDS = (0, 1, 2)
"""The gallery trains these seeds as one group with notebook 04's MountainCar settings. Notebook 04 trains seeds 0 to 9
as one group; a group's size changes the floating-point order of its updates, so the runs are not bit-identical."""
EVAL_EPISODES = 100
"""Noise-free evaluation episodes per filmed policy (fixed start states, as everywhere)."""
MAX_GIF_FRAMES = 160
"""GIFs keep at most this many frames (every n-th), to stay small."""
GALLERY_START, GALLERY_END = "<!-- gallery: written by python -m helpers.tools.gallery -->", "<!-- /gallery -->"


@dataclass
class Clip:
    """One recorded policy and what was measured about it."""

    name: str
    """File stem in videos/gallery/."""
    env_id: str
    title: str
    shows: str
    """What to look for, one sentence."""
    steps: int
    """Env steps of training behind this policy."""
    video_return: float
    """Return of the filmed episode (start state ``helpers.video.VIDEO_SEED``)."""
    eval_mean: float
    eval_std: float
    eval_episodes: int


def film(agent, env_fn, out: Path, name: str, env_id: str, title: str, shows: str, steps: int) -> Clip:
    """Record ``agent``'s noise-free policy and evaluate it on EVAL_EPISODES fixed start states."""
    from helpers.evaluation import evaluate
    from helpers.video import record_video

    rec = record_video(agent.act, env_fn, out / f"{name}.mp4", max_gif_frames=MAX_GIF_FRAMES)
    returns = evaluate(agent.act, env_fn, EVAL_EPISODES)
    return Clip(name, env_id, title, shows, steps, round(rec.episode_return, 1), round(float(returns.mean()), 1),
                round(float(returns.std()), 1), EVAL_EPISODES)


def pendulum_clips(out: Path, progress: bool) -> list[Clip]:
    """The main job's run, filmed before, during and after training."""
    from helpers.agent import DDPGAgent
    from helpers.envs import make_env, seed_everything
    from helpers.loop import train

    config = PENDULUM
    env_fn = partial(make_env, config.env_id)
    seed_everything(config.seed)
    probe = env_fn()
    agent = DDPGAgent.for_env(probe, config)
    probe.close()
    clips = [film(agent, env_fn, out, "pendulum_untrained", config.env_id, "untrained",
                  "the freshly initialized actor: its torques are near zero, so the pendulum stays near the bottom", 0)]
    shows = {2_000: "1,000 updates in: it pushes hard one way, and the pendulum only rocks near the bottom",
             3_000: "2,000 updates in: it swings the pendulum high, but does not catch it at the top",
             5_000: "4,000 updates in: it already swings up and holds the pendulum upright"}

    def on_step(step: int, agent) -> None:
        # Filming uses its own env and the deterministic actor, so the training run is unchanged.
        if step in SNAPSHOTS:
            clips.append(film(agent, env_fn, out, f"pendulum_step{step:05d}", config.env_id,
                              f"after {step:,} steps", shows.get(step, "the actor during training"), step))

    agent, _ = train(config, env_fn, progress=progress, agent=agent, on_step=on_step)
    clips.append(film(agent, env_fn, out, "pendulum_trained", config.env_id, f"trained, {config.total_steps:,} steps",
                      "the trained actor: it swings the pendulum up and holds it upright",
                      config.total_steps))
    return clips


def mountain_car_clips(out: Path, progress: bool) -> list[Clip]:
    """Notebook 04's MountainCar settings (seeds 0 to 2 as one group), seed 2 filmed, OU against Gaussian."""
    from helpers.envs import make_env
    from helpers.loop import train_seeds

    env_fn = partial(make_env, MOUNTAIN_CAR.env_id)
    shows = {"ou": "trained with OU noise: it rocks back and forth to gain momentum and reaches the flag",
             "gaussian": "trained with Gaussian noise: it never found the flag, so it learned to save fuel and "
                         "stay in the valley"}
    clips = []
    for noise in ("ou", "gaussian"):
        config = replace(MOUNTAIN_CAR, noise=noise)
        run = next(r for r in train_seeds(config, MOUNTAIN_CAR_SEEDS, label=f"MountainCar, {noise} noise")
                   if r.seed == MOUNTAIN_CAR.seed)
        clips.append(film(run.agent, env_fn, out, f"mountaincar_{noise}", config.env_id,
                          f"{'OU' if noise == 'ou' else 'Gaussian'} noise, {config.total_steps:,} steps",
                          shows[noise], config.total_steps))
    return clips


def _returns(clip: Clip) -> str:
    return f"{clip.eval_mean:.1f} ± {clip.eval_std:.1f}"


OTHER_FOLDERS = [
        "## `Pendulum-v1_seed0/`: made by `python -m helpers.train --out videos/Pendulum-v1_seed0 --overwrite`",
        "",
        "The main job of the README: `untrained` and `trained` clips of the same run as the gallery's Pendulum "
        "clips (same settings and seed), its learning curve, and `summary.json` with its 100-episode evaluation.",
        "",
        "## `Pendulum-v1_seeds0-9/`: made by "
        "`python -m helpers.train --seeds 0-9 --out videos/Pendulum-v1_seeds0-9 --overwrite`",
        "",
        "The same settings for seeds 0 to 9, trained side by side as one group: an aggregate `summary.json` and "
        "learning curve, and a folder per seed with its own. Seed 0 is filmed (`seed0/`); its run in the group "
        "drifts from its run alone by round-off, so these clips are not byte-identical to the ones above.",
        "",
        "## `07_td3/`: made by `python -m helpers.tools.experiments run td3_inverted_pendulum`",
        "",
        "Seed 0 of DDPG and of TD3 on InvertedPendulum-v5 after 30,000 steps at the defaults, filmed noise-free "
        "from the course's video start state by the command that trains the stored run "
        "(`results/runs/td3_inverted_pendulum/`); notebook 07 shows them. Both filmed episodes return 1000.0, the "
        "maximum, as do both seeds on their 100-episode final evaluation.",
        "",
        "## `08_locomotion/`: made by `python -m helpers.tools.experiments run locomotion_hopper` and "
        "`run locomotion_half_cheetah`",
        "",
        "The median seed (by final return) of DDPG and of TD3 on Hopper-v5 after 200,000 steps at the defaults, "
        "filmed noise-free from the course's video start state by the command that trains the stored run "
        "(`results/runs/locomotion_hopper/`, which keeps their actors; `python -m helpers.tools.experiments film "
        "locomotion_hopper` films them again). DDPG is seed 9, 50-episode final evaluation 1020.1; TD3 is seed 0, "
        "final evaluation 2487.0. The same for HalfCheetah-v5 (`python -m helpers.tools.experiments run "
        "locomotion_half_cheetah`, `results/runs/locomotion_half_cheetah/`): DDPG is seed 6, final evaluation 5643.6; "
        "TD3 is seed 5, final evaluation 6674.6. Notebook 08 shows all four clips.",
        "",
        "Notebook 05 films its own agent into `runs/05_ddpg/`, a folder git ignores, and embeds the clips in its "
        "output, so running it changes no file here.",
        "",
]
"""The sections of videos/README.md about the folders that other commands write."""


def videos_readme(clips: list[Clip]) -> str:
    """The index of videos/: what each clip shows, its returns and the command that made it."""
    rows = ["| clip | env | training steps | what it shows | return of the filmed episode | "
            f"{EVAL_EPISODES}-episode noise-free evaluation |", "|---|---|---:|---|---:|---:|"]
    for c in clips:
        rows.append(f"| [![{c.title}](gallery/{c.name}.gif)](gallery/{c.name}.mp4) | {c.env_id} | {c.steps:,} | "
                    f"{c.shows} | {c.video_return:.1f} | {_returns(c)} |")
    pendulum = PENDULUM
    return "\n".join([
        "# Videos",
        "",
        "Every file here is made by a command, from fixed seeds, so it can be regenerated at will. "
        "Each clip is an mp4 (click the GIF) and a GIF of every few frames. Returns: higher is better; "
        "on Pendulum-v1, ten seeds of the defaults end between −132.0 and −138.1 over the 100 evaluation starts "
        "(README, *Latest results*), and a start hanging straight down costs a few hundred more to swing up.",
        "",
        f"## `gallery/`: made by `{COMMAND}`",
        "",
        f"Pendulum-v1 with the main job's settings (seed {pendulum.seed}, {pendulum.total_steps:,} steps, batch "
        f"{pendulum.batch_size}, {'-'.join(map(str, pendulum.hidden_sizes))} networks, Gaussian noise), filmed "
        f"before, during and after training; MountainCarContinuous-v0 with notebook 04's setting (seed "
        f"{MOUNTAIN_CAR.seed}, {MOUNTAIN_CAR.total_steps:,} steps, 64-64 networks, noise sigma "
        f"{MOUNTAIN_CAR.noise_sigma} of the half-range: the sd of the Gaussian noise, the diffusion coefficient of "
        "the OU noise) with OU and with Gaussian noise. Every clip starts from "
        "the same start state (`helpers.video.VIDEO_SEED`): on Pendulum the pendulum hangs almost straight down. "
        f"The evaluation runs the noise-free actor from {EVAL_EPISODES} fixed start states (`helpers.evaluation`); "
        "± is the spread over those start states. All numbers are in `gallery/index.json`.",
        "",
        *rows,
        "",
        *OTHER_FOLDERS,
    ])


def readme_gallery(clips: list[Clip]) -> str:
    """The block at the top of README.md: the pendulum before, during and after training."""
    pendulum = [c for c in clips if c.env_id == PENDULUM.env_id]
    head = "| " + " | ".join(c.title for c in pendulum) + " |"
    rule = "|" + ":---:|" * len(pendulum)
    gifs = "| " + " | ".join(f"[![{c.title}](videos/gallery/{c.name}.gif)](videos/gallery/{c.name}.mp4)"
                             for c in pendulum) + " |"
    returns = "| " + " | ".join(f"return {c.video_return:.0f}<br>eval {c.eval_mean:.0f}" for c in pendulum) + " |"
    return "\n".join([GALLERY_START, head, rule, gifs, returns, GALLERY_END])


def write_readme_gallery(readme: Path, block: str) -> None:
    text = readme.read_text()
    if GALLERY_START not in text or GALLERY_END not in text:
        raise ValueError(f"{readme} has no gallery block; add the lines {GALLERY_START!r} and {GALLERY_END!r}")
    before, rest = text.split(GALLERY_START, 1)
    readme.write_text(before + block + rest.split(GALLERY_END, 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"{COMMAND}", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "videos", help="videos folder (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    gallery = args.out / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    clips = pendulum_clips(gallery, not args.quiet) + mountain_car_clips(gallery, not args.quiet)
    (gallery / "index.json").write_text(json.dumps({"command": COMMAND, "clips": [asdict(c) for c in clips]},
                                                   indent=2) + "\n")
    (args.out / "README.md").write_text(videos_readme(clips))
    readme = args.out.parent / "README.md"
    if readme.exists():
        write_readme_gallery(readme, readme_gallery(clips))
    for c in clips:
        print(f"{c.name:22s} video return {c.video_return:8.1f}   eval {_returns(c)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
