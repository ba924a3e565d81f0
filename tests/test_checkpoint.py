"""A run interrupted and resumed from its checkpoint ends with the same numbers as a run that never stopped."""

from dataclasses import replace

import numpy as np
import pytest

from helpers.checkpoint import Checkpointing, env_state, restore_env
from helpers.config import DDPGConfig, DQNConfig, TD3Config
from helpers.envs import make_env
from helpers.loop import train_group

QUICK = dict(total_steps=1_200, warmup_steps=300, eval_every=300, eval_episodes=2, hidden_sizes=(16, 16),
             update_every=50, batch_size=16)


def fingerprint(run):
    return [(h.critic_loss, h.actor_loss, h.eval_returns, h.episode_returns, h.total_steps) for h in run.histories]


@pytest.mark.parametrize("config", [DDPGConfig(**QUICK, noise="ou"), TD3Config(**QUICK), DQNConfig(**QUICK)],
                         ids=["ddpg-ou", "td3", "dqn"])
def test_a_resumed_run_ends_as_the_uninterrupted_one(tmp_path, config):
    whole = train_group(config, [0, 1], progress=False)
    # The same run, stopped after 600 steps (its checkpoint at 600 is the last one it wrote) ...
    train_group(replace(config, total_steps=600), [0, 1], progress=False,
                checkpoint=Checkpointing(tmp_path, every=600))
    # ... and continued to the end from that checkpoint, in a fresh agent.
    resumed = train_group(config, progress=False, resume=tmp_path)
    assert fingerprint(resumed) == fingerprint(whole)
    for a, b in zip(resumed.agent.seed_state(1)[0].trainable, whole.agent.seed_state(1)[0].trainable):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_fall_on_update_phases():
    with pytest.raises(ValueError, match="multiple of update_every"):
        train_group(DDPGConfig(**QUICK), [0], progress=False, checkpoint=Checkpointing("unused", every=70))


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "InvertedPendulum-v5"])
def test_an_env_restored_from_its_state_continues_exactly(env_id):
    env = make_env(env_id)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(20):
        env.step(env.action_space.sample())
    twin = restore_env(env_state(env), lambda: make_env(env_id))
    for _ in range(1_100):  # across the time limit and a reset
        a, b = env.step(env.action_space.sample()), twin.step(twin.action_space.sample())
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]
        if a[2] or a[3]:
            np.testing.assert_array_equal(env.reset()[0], twin.reset()[0])


def test_the_command_line_resumes_an_interrupted_run_to_the_same_result(tmp_path):
    """Ctrl-C after the first checkpoint, then --resume: the final evaluations equal an uninterrupted run's."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONUNBUFFERED="1")
    args = ["--seeds", "0-1", "--steps", "6000", "--warmup", "500", "--hidden-sizes", "16", "16", "--eval-every",
            "1000", "--checkpoint-every", "1000", "--eval-episodes", "3", "--no-video", "--quiet"]
    whole = subprocess.run([sys.executable, "-m", "helpers.train", *args, "--out", str(tmp_path / "whole")],
                           capture_output=True, text=True, env=env, timeout=600)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "cut"
    process = subprocess.Popen([sys.executable, "-m", "helpers.train", *args, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    while not (out / "checkpoint" / "checkpoint.pkl").exists() and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and f"--resume {out}" in stderr, stderr
    resumed = subprocess.run([sys.executable, "-m", "helpers.train", "--resume", str(out)], capture_output=True,
                             text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    first, again = (json.loads((folder / "summary.json").read_text()) for folder in (tmp_path / "whole", out))
    assert again["eval_mean_per_seed"] == first["eval_mean_per_seed"]
    assert again["total_steps"] == first["total_steps"] == 6000
