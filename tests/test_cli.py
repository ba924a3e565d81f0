"""The main job and the benchmark as a user runs them: as subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--steps", "500", "--warmup", "300", "--eval-episodes", "2", "--quiet"]


def run(*args, extra_path=None, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path or ""), str(ROOT), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_train_writes_results_and_videos(tmp_path):
    out = tmp_path / "run"
    result = run("helpers.train", *SHORT, "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in ["env", "seed", "total_steps", "wall_s", "steps_per_s", "eval_episodes", "eval_mean", "eval_std"]:
        assert key in summary
    assert summary["env"] == "Pendulum-v1" and summary["total_steps"] == 500 and summary["eval_episodes"] == 2
    for name in ["learning_curve.png", "untrained.mp4", "trained.mp4", "trained.gif"]:
        assert (out / name).stat().st_size > 1000, name
    assert "Traceback" not in result.stderr


def test_no_video_and_a_module_env_id(tmp_path):
    (tmp_path / "my_envs.py").write_text(
        "import gymnasium\n"
        "gymnasium.register(id='WeakPendulum-v0', max_episode_steps=100,\n"
        "    entry_point='gymnasium.envs.classic_control.pendulum:PendulumEnv', kwargs={'g': 4.0})\n"
    )
    out = tmp_path / "run"
    result = run("helpers.train", "--env", "my_envs:WeakPendulum-v0", *SHORT, "--no-video", "--out", str(out),
                 extra_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "summary.json").read_text())["env"] == "my_envs:WeakPendulum-v0"
    assert not list(out.glob("*.mp4"))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--env", "CartPole-v1"], "DDPG needs continuous"),
        (["--env", "NoSuchEnv-v0"], "NoSuchEnv"),
        (["--env", "no_such_module:Foo-v0"], "no_such_module"),
        (["--steps", "0"], "positive"),
        (["--steps", "-5"], "positive"),
        (["--steps", "100"], "warmup_steps"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(args, words):
    result = run("helpers.train", *args, "--no-video")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_training_results_survive_a_missing_moviepy(tmp_path):
    fake = tmp_path / "fake"
    (fake / "moviepy").mkdir(parents=True)
    (fake / "moviepy" / "__init__.py").write_text("raise ImportError('moviepy is missing in this test')\n")
    out = tmp_path / "run"
    result = run("helpers.train", *SHORT, "--out", str(out), extra_path=fake)
    assert result.returncode == 0, result.stderr
    assert "pip install" in result.stderr and "moviepy" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "video_error" in summary and (out / "learning_curve.png").exists()


def test_benchmark_measures_single_and_group_and_ends_with_one_json_line():
    result = run("helpers.tools.benchmark", "--seeds", "0-2", "--steps", "600", "--warmup", "300",
                 "--hidden-sizes", "16", "16", "--final-episodes", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| path | seeds | env steps/s")
    data = json.loads(lines[-1])
    for key in ("single_steps_per_s", "group_steps_per_s", "group_size", "hidden_sizes", "batch_size", "compile_s"):
        assert key in data, key
    assert data["group_size"] == 3 and data["hidden_sizes"] == [16, 16] and data["batch_size"] == 64
    assert len(data["final_eval_mean_per_seed"]) == 3
    assert set(data["paths"][1]["ms_per_seed_step"]) >= {"act", "env", "buffer", "update"}
    assert data["algo"] == "ddpg"


def test_benchmark_runs_td3():
    result = run("helpers.tools.benchmark", "--algo", "td3", "--seeds", "0-1", "--steps", "400", "--warmup", "300",
                 "--hidden-sizes", "16", "16", "--final-episodes", "2", "--no-single")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["algo"] == "td3" and data["group_size"] == 2


def test_train_seeds_writes_a_folder_per_seed_and_an_aggregate_summary(tmp_path):
    out = tmp_path / "group"
    result = run("helpers.train", *SHORT, "--seeds", "0", "2-3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [0, 2, 3] and summary["eval_episodes"] == 2
    assert len(summary["eval_mean_per_seed"]) == 3 and summary["steps_per_s"] > 0
    assert summary["filmed_seed"] == 0 and "filmed seed 0" in result.stdout
    for seed in (0, 2, 3):
        assert json.loads((out / f"seed{seed}" / "summary.json").read_text())["seed"] == seed
        assert f"| {seed} | " in result.stdout  # the per-seed table
    assert (out / "seed0" / "trained.mp4").exists() and not (out / "seed2" / "trained.mp4").exists()


@pytest.mark.parametrize(
    "seeds, words",
    [
        ([], "expected at least one argument"),
        (["-1"], "neither a seed"),
        (["1", "1"], "more than once"),
        (["0-3", "2"], "more than once"),
        (["5-2"], "ends before it starts"),
        (["1-"], "neither a seed"),
        (["a-b"], "neither a seed"),
    ],
)
def test_bad_seeds_give_one_line_and_nonzero_exit(seeds, words):
    result = run("helpers.train", "--seeds", *seeds, "--no-video")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr


def test_parse_seeds_ranges_and_lists():
    from helpers.cli import parse_seeds

    assert parse_seeds(["0-9"]) == list(range(10))
    assert parse_seeds(["0", "3", "7"]) == [0, 3, 7]
    assert parse_seeds(["4-5", "1"]) == [4, 5, 1]


def test_td3_on_the_mujoco_task_trains_and_films_like_any_other(tmp_path):
    out = tmp_path / "td3"
    result = run("helpers.train", "--algo", "td3", "--env", "InvertedPendulum-v5", *SHORT, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Training TD3 on InvertedPendulum-v5" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algo"] == "td3" and summary["config"]["policy_delay"] == 2
    assert "video_error" not in summary and (out / "trained.mp4").stat().st_size > 1000
    assert result.stderr.strip() == "", result.stderr


def test_the_mujoco_backend_defaults_to_egl_and_a_user_choice_wins():
    code = "import os, helpers; print(os.environ['MUJOCO_GL'])"
    env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    env["PYTHONPATH"] = str(ROOT)
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip() == "egl"
    env["MUJOCO_GL"] = "osmesa"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env).stdout.strip() == "osmesa"


def test_every_config_field_is_a_flag_with_its_documentation():
    from dataclasses import fields

    from helpers.cli import build_config, config_flag
    from helpers.config import TD3Config, field_docs
    from helpers.train import parse_args

    args = parse_args(["--algo", "td3", "--hidden-sizes", "64", "64", "--noise", "ou", "--batch-size", "128",
                       "--no-twin-critics", "--policy-delay", "3", "--curve-eval-episodes", "4"])
    config = build_config(args, seed=5)
    assert config == TD3Config(hidden_sizes=(64, 64), noise="ou", batch_size=128, twin_critics=False,
                               policy_delay=3, eval_episodes=4, seed=5)
    help_text = " ".join(run("helpers.train", "--help").stdout.split())
    docs = field_docs(TD3Config)
    for f in fields(TD3Config):
        if f.name != "seed":
            assert config_flag(f.name) in help_text, f.name
            assert " ".join(docs[f.name].replace("``", "").split()[:4]) in help_text, f.name  # its documentation


def test_a_td3_setting_without_td3_is_one_line_and_exit_2():
    result = run("helpers.train", "--policy-delay", "3", "--no-video")
    assert result.returncode == 2 and result.stderr.strip() == "error: --policy-delay is a TD3 setting; add --algo td3"
    result = run("helpers.train", "--algo", "td3", "--bins", "5", "--no-video")
    assert result.returncode == 2 and result.stderr.strip() == "error: --bins is a DQN setting; add --algo dqn"


def test_every_algorithm_in_the_table_has_its_flags_and_builds_its_config():
    from helpers.algorithms import ALGORITHMS
    from helpers.cli import build_config
    from helpers.config import DQNConfig
    from helpers.train import parse_args

    assert build_config(parse_args(["--algo", "dqn", "--bins", "5"]), seed=1) == DQNConfig(bins=5, seed=1)
    help_text = run("helpers.train", "--help").stdout
    for algorithm in ALGORITHMS.values():
        assert algorithm.name in help_text and algorithm.config.__name__ in help_text


def test_runs_go_to_an_ignored_folder_and_never_replace_an_earlier_run(tmp_path):
    from helpers.config import DDPGConfig
    from helpers.train import output_folder, parse_args

    ignored = subprocess.run(["git", "check-ignore", "-q", "runs/Pendulum-v1_seed0/summary.json"], cwd=ROOT)
    assert ignored.returncode == 0, "the default output folder must be ignored by git"
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        args = parse_args([])
        first = output_folder(args, DDPGConfig(), [0])
        assert first == Path("runs/Pendulum-v1_seed0")
        first.mkdir(parents=True)
        assert output_folder(args, DDPGConfig(), [0]) == Path("runs/Pendulum-v1_seed0-2")
    finally:
        os.chdir(cwd)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "summary.json").write_text("{}")
    result = run("helpers.train", "--out", str(tmp_path / "full"), "--no-video", "--steps", "500", "--warmup", "300")
    assert result.returncode == 2 and "--overwrite" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (tmp_path / "full" / "summary.json").read_text() == "{}"


def test_ctrl_c_keeps_every_history_and_says_where(tmp_path):
    import signal
    import time

    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "helpers.train", "--steps", "200000", "--eval-every", "500",
                                "--hidden-sizes", "16", "16", "--no-video", "--quiet", "--seeds", "0-1",
                                "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().startswith("Training")  # imports done, the loop is about to start
    time.sleep(8)  # past the warm-up and the first evaluations
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and str(out) in stderr and "Traceback" not in stderr
    for seed in (0, 1):
        history = json.loads((out / f"seed{seed}" / "history.json").read_text())
        assert 0 < history["total_steps"] < 200000 and history["seed"] == seed
        assert history["eval_steps"] and (out / f"seed{seed}" / "learning_curve.png").exists()


def test_a_walker_trains_and_films_both_clips_with_the_robot_moving(tmp_path):
    # Hopper only: HalfCheetah goes through the same filming code, but its 1,000-step episodes take two minutes
    # to draw on a CPU (about 50 ms a frame); the test below trains it without filming.
    from PIL import Image, ImageSequence

    out, log = tmp_path / "walker", ROOT / "MUJOCO_LOG.TXT"  # where MuJoCo would log a warning: the working directory
    logged = log.stat().st_size if log.exists() else 0
    result = run("helpers.train", "--env", "Hopper-v5", *SHORT, "--hidden-sizes", "32", "32", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no MuJoCo warning either
    assert (log.stat().st_size if log.exists() else 0) == logged
    for clip in ("untrained", "trained"):
        assert (out / f"{clip}.mp4").stat().st_size > 1000
        frames = [np.asarray(f.convert("RGB"), float) for f in ImageSequence.Iterator(Image.open(out / f"{clip}.gif"))]
        assert len(frames) > 2 and all(f.std() > 10 for f in frames), "a blank frame"
        assert np.abs(frames[-1] - frames[0]).mean() > 1, "the robot did not move"


def test_half_cheetah_trains_from_the_command_line(tmp_path):
    import json

    out = tmp_path / "cheetah"
    result = run("helpers.train", "--env", "HalfCheetah-v5", *SHORT, "--hidden-sizes", "32", "32", "--no-video",
                 "--out", str(out))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env"] == "HalfCheetah-v5" and np.isfinite(summary["eval_mean"])
