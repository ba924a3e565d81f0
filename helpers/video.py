"""Record one episode of any policy as an mp4 (and a small GIF), headless.

gymnasium's ``RecordVideo`` grabs ``render_mode="rgb_array"`` frames and writes
them with moviepy; no display, Xvfb or virtual screen is involved.
"""

from __future__ import annotations

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
    """
    # pygame, the renderer of the classic-control envs, warns when it finds no
    # XDG_RUNTIME_DIR or audio device; neither is needed to draw frames.
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from gymnasium.wrappers import RecordVideo

    mp4 = Path(path).with_suffix(".mp4")
    mp4.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = None
        try:
            env = RecordVideo(env_fn(render_mode="rgb_array"), str(Path(tmp) / "frames"), name_prefix="episode",
                              episode_trigger=lambda i: i == 0)
            low, high = env.action_space.low, env.action_space.high
            obs, _ = env.reset(seed=seed)
            total, done = 0.0, False
            while not done:
                action = np.clip(np.asarray(policy(np.asarray(obs, np.float32)[None]))[0], low, high)
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            frames = list(env.recorded_frames)
            env.close()  # RecordVideo writes the mp4 here
            env = None
        except Exception as exc:  # a missing package, no OpenGL, an ffmpeg failure, ...: never lose the run for a video
            raise VideoError(failure_hint(exc)) from None
        finally:
            if env is not None:
                try:
                    env.close()
                except Exception:
                    pass
        written = sorted((Path(tmp) / "frames").glob("*.mp4"))
        if not written:
            raise VideoError(f"no video was written; check that moviepy works: {INSTALL_HINT}")
        shutil.move(str(written[0]), mp4)
    if max_gif_frames:
        gif_every = max(gif_every, -(-len(frames) // max_gif_frames))
    gif_path = write_gif(frames[::gif_every], mp4.with_suffix(".gif"), gif_width) if gif else None
    return Recording(mp4, gif_path, total)


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


def show_video(path: str | Path, width: int = 320):
    """Display an mp4 in a notebook by reference to the file, not as embedded base64.

    ``path`` is relative to the notebook, e.g. ``"../videos/trained.mp4"``.
    """
    from IPython.display import Video

    return Video(url=str(path), width=width, html_attributes="controls loop muted")
