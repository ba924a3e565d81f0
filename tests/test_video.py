import base64
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from helpers.envs import make_env
from helpers.video import (
    MAX_EMBEDDED_BYTES,
    MAX_STORED_BYTES,
    embed_video,
    failure_hint,
    film,
    record_video,
    show_video,
)


def test_records_mp4_and_gif_headless(tmp_path):
    policy = lambda obs: np.zeros((len(obs), 1), np.float32)
    rec = record_video(policy, partial(make_env, "Pendulum-v1"), tmp_path / "clip")
    assert rec.mp4 == tmp_path / "clip.mp4" and rec.mp4.stat().st_size > 1000
    assert rec.gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert rec.gif.stat().st_size < 300_000
    assert np.isfinite(rec.episode_return)


def test_embed_video_embeds_a_fresh_clip_and_its_gif(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"mp4 bytes")
    (tmp_path / "x.gif").write_bytes(b"gif bytes")
    html = embed_video(tmp_path / "x.mp4")._repr_html_()
    # Colab serves no local files to outputs, and GitHub drops <video>: both formats travel inside the output.
    assert f'src="data:video/mp4;base64,{base64.b64encode(b"mp4 bytes").decode()}"' in html
    assert f'<img src="data:image/gif;base64,{base64.b64encode(b"gif bytes").decode()}"' in html
    assert html.index("<video") < html.index("<img") < html.index("</video>")  # the GIF is the player's fallback
    assert str(tmp_path) not in html  # no local path reaches the notebook


def test_embed_video_refuses_a_missing_or_oversized_clip(tmp_path):
    with pytest.raises(FileNotFoundError, match="record it first"):
        embed_video(tmp_path / "none.mp4")
    (tmp_path / "big.mp4").write_bytes(b"0" * (MAX_EMBEDDED_BYTES + 1))
    with pytest.raises(ValueError, match="more than the"):
        embed_video(tmp_path / "big.mp4")


def test_show_video_embeds_a_stored_clips_gif_and_links_its_mp4(monkeypatch):
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(root / "notebooks")
    html = show_video("../videos/gallery/pendulum_trained.mp4")._repr_html_()
    # The GIF itself is in the output, so Jupyter, Colab and GitHub's viewer all show it; no local file is linked.
    gif = (root / "videos/gallery/pendulum_trained.gif").read_bytes()
    assert f'<img src="data:image/gif;base64,{base64.b64encode(gif).decode()}"' in html
    assert "<video" not in html and 'src="../' not in html
    online = "https://github.com/ddpg-course/ddpg-measured/blob/main/videos/gallery/pendulum_trained.mp4"
    assert f'<a href="{online}"' in html
    assert len(html) < 1.4 * MAX_EMBEDDED_BYTES


def test_show_video_refuses_a_clip_outside_the_repository(tmp_path):
    (tmp_path / "x.mp4").write_bytes(b"mp4 bytes")
    with pytest.raises(ValueError, match="embed_video"):
        show_video(tmp_path / "x.mp4")


def test_every_stored_clip_stays_small():
    root = Path(__file__).resolve().parent.parent
    clips = sorted((root / "videos").rglob("*.mp4"))
    assert clips
    for mp4 in clips:
        gif = mp4.with_suffix(".gif")
        size = mp4.stat().st_size + (gif.stat().st_size if gif.exists() else 0)
        assert size <= MAX_STORED_BYTES, f"{mp4.relative_to(root)}: {size:,} bytes"


def test_film_prints_why_and_returns_none_when_recording_fails(tmp_path, capsys):
    def broken_env():
        raise ImportError("No module named 'pygame'")
    assert film(lambda obs: obs, broken_env, tmp_path / "x.mp4", "untrained actor") is None
    line = capsys.readouterr().out.strip()
    assert line.startswith("untrained actor: no video.") and "pip install" in line and "\n" not in line


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
