"""Record one episode of any policy as an mp4 (and a small GIF), headless.

gymnasium's ``RecordVideo`` grabs ``render_mode="rgb_array"`` frames and writes
them with moviepy; no display, Xvfb or virtual screen is involved.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from helpers.envs import EnvFactory
from helpers.evaluation import EVAL_SEED, Policy

VIDEO_SEED = EVAL_SEED + 31
"""Start state of the recordings: evaluation episode 31, where Pendulum-v1 hangs almost
straight down (angle -3.10 rad) and a good policy has to swing it up."""

INSTALL_HINT = 'pip install "gymnasium[classic-control]" "moviepy>=2"'
MUJOCO_HINT = 'pip install "gymnasium[mujoco]"'


def failure_hint(exc: BaseException) -> str:
    """What failed and what to do, in one line, for an exception raised while filming."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    if isinstance(exc, ImportError) or "dependencynotinstalled" in lowered:
        needed = MUJOCO_HINT if "mujoco" in lowered else INSTALL_HINT
        return f"video recording needs a package that is missing ({text}); run: {needed}"
    if any(word in lowered for word in ("opengl", "egl", "glfw", "osmesa", "mjr_makecontext")):
        backend = os.environ.get("MUJOCO_GL", "unset")
        return (f"MuJoCo could not open an OpenGL context to draw frames (MUJOCO_GL={backend}; {text}). "
                "Without a display, set MUJOCO_GL=egl (needs the EGL library, libegl1) or MUJOCO_GL=osmesa "
                "before anything imports mujoco, then restart the kernel or process")
    if "moviepy" in lowered or "ffmpeg" in lowered:
        return f"writing the mp4 failed ({text}); run: {INSTALL_HINT}"
    return f"video recording failed ({text}); the env needs render_mode='rgb_array', and {INSTALL_HINT}"


class VideoError(RuntimeError):
    """Recording failed; the message says what to install."""


class Recording(NamedTuple):
    mp4: Path
    gif: Path | None
    episode_return: float


def record_video(
    policy: Policy,
    env_fn: EnvFactory,
    path: str | Path,
    seed: int = VIDEO_SEED,
    gif: bool = True,
    gif_width: int = 160,
    gif_every: int = 2,
    max_gif_frames: int | None = None,
) -> Recording:
    """Run one episode of ``policy`` from ``env.reset(seed=seed)`` and save it.

    ``path`` is the mp4 to write (``.mp4`` is added if missing). With ``gif``,
    a GIF with every ``gif_every``-th frame, ``gif_width`` pixels wide, is
    written next to it; ``max_gif_frames`` raises ``gif_every`` as far as needed to keep
    a long episode's GIF small. Actions are clipped to the action space, as in ``evaluate``.

    A MuJoCo env is filmed in two steps: the episode runs here, without
    rendering, and a separate Python process that never imports TensorFlow
    replays its actions from the same seed and draws the frames. On a machine
    without a GPU, MuJoCo's OpenGL (Mesa's software renderer) and TensorFlow
    cannot share one process: they carry clashing copies of LLVM, and drawing
    the first frame crashes the process.
    """
    # pygame, the renderer of the classic-control envs, warns when it finds no
    # XDG_RUNTIME_DIR or audio device; neither is needed to draw frames.
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    mp4 = Path(path).with_suffix(".mp4")
    mp4.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            probe = env_fn()
            mujoco = hasattr(probe.unwrapped, "mujoco_renderer")
            if mujoco:
                actions, total, last_obs = run_episode(policy, probe, seed)
            probe.close()
            if mujoco:  # frames come back already thinned for the GIF
                frames = film_in_subprocess(probe.spec, seed, actions, total, Path(tmp),
                                            gif_frames(len(actions) + 1, gif_every, max_gif_frames), last_obs)
                gif_every, max_gif_frames = 1, None
            else:
                frames, total = film_here(policy, env_fn, seed, Path(tmp))
        except VideoError:
            raise
        except Exception as exc:  # a missing package, no OpenGL, an ffmpeg failure, ...: never lose the run for a video
            raise VideoError(failure_hint(exc)) from None
        written = sorted((Path(tmp) / "frames").glob("*.mp4"))
        if not written:
            raise VideoError(f"no video was written; check that moviepy works: {INSTALL_HINT}")
        shutil.move(str(written[0]), mp4)
    gif_path = write_gif(frames[:: gif_frames(len(frames), gif_every, max_gif_frames)], mp4.with_suffix(".gif"),
                         gif_width) if gif else None
    return Recording(mp4, gif_path, total)


def gif_frames(n: int, every: int, most: int | None) -> int:
    """Keep every ``every``-th of ``n`` frames, or fewer so that at most ``most`` are kept."""
    return max(every, -(-n // most)) if most else every


def run_episode(policy: Policy, env, seed: int) -> tuple[list, float, np.ndarray]:
    """One episode of ``policy`` from ``env.reset(seed=seed)``: the clipped actions, the return, the last
    observation."""
    low, high = env.action_space.low, env.action_space.high
    obs, _ = env.reset(seed=seed)
    actions, total, done = [], 0.0, False
    while not done:
        action = np.clip(np.asarray(policy(np.asarray(obs, np.float32)[None]))[0], low, high)
        obs, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        total += float(reward)
        done = terminated or truncated
    return actions, total, obs


def film_here(policy: Policy, env_fn: EnvFactory, seed: int, folder: Path) -> tuple[list, float]:
    """Film one episode in this process with gymnasium's ``RecordVideo``: the frames and the return."""
    from gymnasium.wrappers import RecordVideo

    env = RecordVideo(env_fn(render_mode="rgb_array"), str(folder / "frames"), name_prefix="episode",
                      episode_trigger=lambda i: i == 0)
    try:
        _, total, _ = run_episode(policy, env, seed)
        frames = list(env.recorded_frames)
    finally:
        env.close()  # RecordVideo writes the mp4 here
    return frames, total


# Run by `film_in_subprocess` with `python -c`: it imports gymnasium and mujoco, never TensorFlow.
_REPLAY_AND_FILM = """
import json, sys
import numpy as np, gymnasium as gym
from gymnasium.envs.registration import EnvSpec
from gymnasium.wrappers import RecordVideo
from helpers.envs import quiet_mujoco  # importable: the parent puts the course's root on PYTHONPATH
quiet_mujoco()
job = json.loads(open(sys.argv[1]).read())
spec = EnvSpec.from_json(job["spec"])
env = RecordVideo(gym.make(spec, render_mode="rgb_array"), job["folder"], name_prefix="episode",
                  episode_trigger=lambda i: i == 0)
obs, _ = env.reset(seed=job["seed"])
total = 0.0
for action in job["actions"]:
    obs, reward = env.step(np.asarray(action, np.float32))[:2]
    total += float(reward)
frames = np.stack(env.recorded_frames[::job["every"]])
env.close()
np.save(job["frames"], frames)
print(json.dumps({"return": total, "last_obs": np.asarray(obs, float).tolist()}))
"""


def film_in_subprocess(spec, seed: int, actions: list, total: float, folder: Path, every: int = 1,
                       last_obs=None) -> list:
    """Replay ``actions`` from ``reset(seed=seed)`` in a fresh Python process that films them; return every
    ``every``-th frame (the mp4 has them all).

    The env is rebuilt there from its spec (``gym.make(EnvSpec)``, so an env registered by a user's module and
    the spec's wrappers come back too). MuJoCo is deterministic, so the replay is the same episode; its return
    and last observation are checked against ``total`` and ``last_obs``.
    """
    import json
    import subprocess
    import sys

    try:
        spec_json = spec.to_json()
    except Exception as exc:  # a callable entry point or settings that JSON cannot carry
        raise VideoError(f"a MuJoCo env is filmed by replaying it in a separate process, which needs an env "
                         f"made by gymnasium.make from a registered id with JSON-friendly settings ({exc})") from None
    job = {"spec": spec_json, "seed": seed, "folder": str(folder / "frames"), "frames": str(folder / "frames.npy"),
           "every": every, "actions": [np.asarray(a).tolist() for a in actions]}
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(job))  # a file, not an argument: a long episode's actions exceed argv limits
    done = subprocess.run([sys.executable, "-c", _REPLAY_AND_FILM, str(job_file)], capture_output=True,
                          text=True, env=_subprocess_env(), timeout=900)
    if done.returncode < 0:  # killed by a signal: in practice, the OpenGL driver crashed
        raise VideoError(failure_hint(RuntimeError(f"the process drawing MuJoCo frames with OpenGL crashed "
                                                   f"(signal {-done.returncode})")))
    if done.returncode != 0:
        lines = (done.stderr or "").strip().splitlines() or [f"exit status {done.returncode}"]
        raise VideoError(failure_hint(RuntimeError(lines[-1])))
    replay = json.loads(done.stdout.strip().splitlines()[-1])
    same_end = last_obs is None or np.allclose(replay["last_obs"], np.asarray(last_obs, float), atol=1e-6)
    if not np.isclose(replay["return"], total, rtol=1e-6, atol=1e-6) or not same_end:
        raise VideoError(f"the filmed replay (return {replay['return']:.3f}) is not the episode that ran "
                         f"(return {total:.3f}): the env is not deterministic under a fixed seed")
    return list(np.load(folder / "frames.npy"))


def _subprocess_env() -> dict:
    """The environment of the filming process: the course's root on ``PYTHONPATH``, TensorFlow's logs off."""
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path}


def write_gif(frames: list[np.ndarray], path: str | Path, width: int = 160, fps: int = 15) -> Path:
    """Write RGB frames as a looping, palette-compressed GIF ``width`` pixels wide."""
    from PIL import Image

    if not frames:
        raise VideoError("no frames to write")
    h, w = frames[0].shape[:2]
    size = (width, max(1, round(h * width / w)))
    images = [Image.fromarray(f).resize(size, Image.LANCZOS).quantize(colors=32) for f in frames]
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0, optimize=True)
    return path


MAX_EMBEDDED_BYTES = 150_000
"""The most a clip may add to a notebook, before base64: a fresh clip's mp4 and GIF together, or a stored
clip's GIF (``show_video``)."""

MAX_STORED_BYTES = 400_000
"""The most a clip stored in videos/ may take: its mp4 and its GIF together."""


class EmbeddedVideo:
    """A freshly filmed mp4 embedded in the notebook's output, with its GIF inside the player as the fallback.

    Jupyter and Colab play the mp4 (Colab serves no local files to outputs, so a clip that exists only on the
    machine that ran the notebook must be embedded). GitHub's notebook viewer removes ``<video>`` elements and
    shows the animated GIF left inside it."""

    def __init__(self, mp4: Path, gif: Path | None, width: int):
        self.mp4, self.gif, self.width = mp4, gif, width

    def __repr__(self) -> str:  # the plain-text form a notebook stores next to the HTML: no memory address
        return f"video {self.mp4.name}" + (f" (GIF {self.gif.name})" if self.gif else "")

    def _repr_html_(self) -> str:
        def data_url(path: Path, mime: str) -> str:
            return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

        fallback = (f'<img src="{data_url(self.gif, "image/gif")}" width="{self.width}" alt="{self.mp4.name}">'
                    if self.gif else f"(video: {self.mp4.name})")
        return (f'<video controls loop muted playsinline width="{self.width}" '
                f'src="{data_url(self.mp4, "video/mp4")}">{fallback}</video>')


class StoredVideo(EmbeddedVideo):
    """A clip stored in the repository, shown as its GIF embedded in the notebook's output.

    An embedded GIF plays the same in Jupyter, in Colab (which serves no local files to outputs) and in GitHub's
    viewer (which removes ``<video>`` elements); the mp4 stays in the repository, linked under the GIF. Embedding
    the GIF alone, not the mp4 too, keeps each clip's share of the notebook under ``MAX_EMBEDDED_BYTES``."""

    def __init__(self, mp4: Path, gif: Path, width: int, online: str):
        super().__init__(mp4, gif, width)
        self.online = online  # the mp4 on GitHub

    def _repr_html_(self) -> str:
        data = base64.b64encode(self.gif.read_bytes()).decode("ascii")
        return (f'<img src="data:image/gif;base64,{data}" width="{self.width}" alt="{self.mp4.name}"><br>'
                f'<a href="{self.online}">{self.mp4.name}</a>')


REPOSITORY = Path(__file__).resolve().parent.parent
"""The course's root folder: stored clips are addressed from here on GitHub."""


def clip_files(path: str | Path) -> tuple[Path, Path | None, int]:
    """The mp4 at ``path``, its GIF if there is one, and their size together; a one-line error if it is missing."""
    mp4 = Path(path)
    if not mp4.is_file():
        raise FileNotFoundError(f"no video at {mp4}: record it first (helpers.video.record_video)")
    gif = mp4.with_suffix(".gif") if mp4.with_suffix(".gif").is_file() else None
    return mp4, gif, mp4.stat().st_size + (gif.stat().st_size if gif else 0)


def show_video(path: str | Path, width: int = 320) -> StoredVideo:
    """Display a clip stored in the repository's videos/ folder as its embedded GIF, with a link to the mp4.

    ``path`` is relative to the notebook, e.g. ``"../videos/gallery/pendulum_trained.mp4"``."""
    from helpers.notebook import BRANCH, REPO_URL

    mp4, gif, size = clip_files(path)
    if size > MAX_STORED_BYTES:
        raise ValueError(f"{mp4} and its GIF take {size:,} bytes, more than the {MAX_STORED_BYTES:,} a stored clip "
                         "may take: record fewer frames or a smaller GIF")
    inside = mp4.resolve().relative_to(REPOSITORY) if mp4.resolve().is_relative_to(REPOSITORY) else None
    if inside is None:
        raise ValueError(f"{mp4} is not in the course's repository: show a fresh clip with embed_video()")
    if gif is None or gif.stat().st_size > MAX_EMBEDDED_BYTES:
        raise ValueError(f"{mp4} needs a GIF of at most {MAX_EMBEDDED_BYTES:,} bytes next to it to be shown: "
                         "record it again with gif=True and fewer frames")
    return StoredVideo(mp4, gif, width, f"{REPO_URL}/blob/{BRANCH}/{inside.as_posix()}")


def embed_video(path: str | Path, width: int = 320) -> EmbeddedVideo:
    """Display a freshly filmed clip (and its GIF) embedded in the notebook's output, for a clip that exists
    only where the notebook ran. A clip over ``MAX_EMBEDDED_BYTES`` is refused with a one-line error."""
    mp4, gif, size = clip_files(path)
    if size > MAX_EMBEDDED_BYTES:
        raise ValueError(f"{mp4} and its GIF take {size:,} bytes, more than the {MAX_EMBEDDED_BYTES:,} a notebook "
                         "output may embed: record fewer frames or a smaller GIF")
    return EmbeddedVideo(mp4, gif, width)


def film(policy: Policy, env_fn: EnvFactory, path: str | Path, label: str, **kwargs) -> EmbeddedVideo | None:
    """Record one episode with ``record_video`` and return it embedded, ready to display.

    If filming fails (a missing package, no OpenGL), print one line saying what failed and what to do, and
    return None: the notebook runs on without the clip. ``kwargs`` go to ``record_video``."""
    try:
        recording = record_video(policy, env_fn, path, **kwargs)
    except VideoError as error:
        print(f"{label}: no video. {error}")
        return None
    print(f"{label}, episode return {recording.episode_return:.1f}")
    try:
        return embed_video(recording.mp4)
    except ValueError as error:
        print(f"{label}: not shown here. {error}; the clip is at {recording.mp4}")
        return None
