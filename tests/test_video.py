from functools import partial

import numpy as np
import pytest

from helpers.envs import make_env
from helpers.video import failure_hint, record_video, show_video


def test_records_mp4_and_gif_headless(tmp_path):
    policy = lambda obs: np.zeros((len(obs), 1), np.float32)
    rec = record_video(policy, partial(make_env, "Pendulum-v1"), tmp_path / "clip")
    assert rec.mp4 == tmp_path / "clip.mp4" and rec.mp4.stat().st_size > 1000
    assert rec.gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert rec.gif.stat().st_size < 300_000
    assert np.isfinite(rec.episode_return)


def test_show_video_references_the_file():
    html = show_video("../videos/x.mp4")._repr_html_()
    assert 'src="../videos/x.mp4"' in html and "base64" not in html


def test_two_pendulums_render_and_record(tmp_path):
    env = make_env("MultiPendulum-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (160, 320, 3) and frame.dtype == np.uint8 and (frame != 255).any()
    policy = lambda obs: np.zeros((len(obs), 2), np.float32)
    rec = record_video(policy, partial(make_env, "MultiPendulum-v0"), tmp_path / "two")
    assert rec.mp4.stat().st_size > 1000 and rec.gif.exists()


def test_mujoco_renders_headless_with_the_default_backend(tmp_path):
    import os
    assert os.environ["MUJOCO_GL"]  # set by `import helpers` (egl on Linux) unless the user chose one
    policy = lambda obs: np.zeros((len(obs), 1), np.float32)
    rec = record_video(policy, partial(make_env, "InvertedPendulum-v5"), tmp_path / "cart", max_gif_frames=20)
    assert rec.mp4.stat().st_size > 1000 and rec.gif.exists() and 2 < rec.episode_return < 100


@pytest.mark.parametrize("error, words", [
    (RuntimeError("an OpenGL platform library has not been loaded into this process"), ["MUJOCO_GL", "egl"]),
    (ImportError("No module named 'mujoco'"), ['gymnasium[mujoco]']),
    (ImportError("No module named 'moviepy'"), ["moviepy>=2", "classic-control"]),
    (OSError("ffmpeg exited with status 1"), ["writing the mp4", "moviepy"]),
    (ValueError("no render_mode"), ["rgb_array"]),
])
def test_a_failed_recording_names_what_failed_and_what_to_do(error, words):
    hint = failure_hint(error)
    assert "\n" not in hint and str(error) in hint
    for word in words:
        assert word in hint
