"""The gallery's index writers, on made-up clips (the real run is `python -m helpers.tools.gallery`)."""

import numpy as np
import pytest

from helpers.tools import gallery
from helpers.video import record_video


def clips():
    make = lambda name, env, steps, ret: gallery.Clip(name, env, name.replace("_", " "), "what it shows", steps,
                                                      ret, ret + 1.0, 10.0, 100)
    return [make("pendulum_untrained", "Pendulum-v1", 0, -1500.0),
            make("pendulum_step02000", "Pendulum-v1", 2000, -800.0),
            make("pendulum_trained", "Pendulum-v1", 10000, -150.0),
            make("mountaincar_ou", "MountainCarContinuous-v0", 15000, 90.0)]


def test_the_readme_block_has_only_pendulum_clips_with_their_returns():
    block = gallery.readme_gallery(clips())
    assert block.startswith(gallery.GALLERY_START) and block.endswith(gallery.GALLERY_END)
    assert "pendulum_step02000.gif" in block and "mountaincar" not in block
    assert "return -800<br>eval -799" in block


def test_the_block_replaces_only_what_lies_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{gallery.GALLERY_START}\nold\n{gallery.GALLERY_END}\noutro\n")
    gallery.write_readme_gallery(readme, gallery.readme_gallery(clips()))
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("\noutro\n") and "old" not in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no gallery block"):
        gallery.write_readme_gallery(readme, "x")


def test_the_video_index_names_every_clip_and_the_command():
    text = gallery.videos_readme(clips())
    assert gallery.COMMAND in text
    for clip in clips():
        assert f"gallery/{clip.name}.mp4" in text and f"{clip.eval_mean:.1f} ± {clip.eval_std:.1f}" in text


def test_a_long_episode_gets_a_short_gif(tmp_path):
    from helpers.envs import make_env

    still = lambda obs: np.zeros((len(obs), 1), np.float32)
    rec = record_video(still, lambda **kw: make_env("Pendulum-v1", **kw), tmp_path / "clip.mp4", max_gif_frames=20)
    from PIL import Image

    assert rec.gif is not None and Image.open(rec.gif).n_frames <= 20
