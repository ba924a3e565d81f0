from functools import partial

import numpy as np

from helpers.envs import make_env
from helpers.video import record_video, show_video


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
