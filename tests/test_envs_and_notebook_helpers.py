from dataclasses import fields

import numpy as np
import pytest

from helpers.agent import DDPGAgent
from helpers.config import DDPGConfig
from helpers.envs import EnvError, command_pendulum, make_env, seed_everything
from helpers.notebook import config_table, show_source


def test_make_env_accepts_box_and_rejects_the_rest():
    env = make_env("MountainCarContinuous-v0")
    assert env.action_space.low[0] == -1.0
    with pytest.raises(EnvError, match="DDPG needs continuous"):
        make_env("CartPole-v1")
    with pytest.raises(EnvError, match="cannot make env"):
        make_env("NoSuchEnv-v0")
    with pytest.raises(EnvError, match="cannot make env"):
        make_env(":")


def test_seed_everything_makes_numpy_and_keras_repeat():
    import keras

    def draw():
        assert seed_everything(7) is None  # every other random stream is a generator of its own (envs.rng)
        layer = keras.layers.Dense(4)
        layer.build((None, 3))
        return np.random.rand(), layer.kernel.numpy(), keras.random.normal((2,)).numpy()

    a, b = draw(), draw()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_show_source_is_the_real_source():
    shown = show_source(DDPGAgent.td_target).data
    assert "helpers.agent.DDPGAgent.td_target" in shown
    assert "bootstrapped(reward, terminated" in shown


def test_config_table_lists_every_field():
    table = config_table(DDPGConfig()).data
    for name in (f.name for f in fields(DDPGConfig)):
        assert f"`{name}`" in table


def test_scaled_env_multiplies_observations_and_bounds():
    from helpers.envs import scaled_env_fn

    scale = [1000.0, 1.0, 0.01]
    plain, scaled = make_env("Pendulum-v1"), scaled_env_fn("Pendulum-v1", scale)()
    a, _ = plain.reset(seed=3)
    b, _ = scaled.reset(seed=3)
    np.testing.assert_allclose(b, a * np.array(scale, np.float32), rtol=1e-6)
    np.testing.assert_allclose(scaled.observation_space.high, [1000.0, 1.0, 0.08], rtol=1e-6)
    assert scaled.observation_space.contains(b)
    with pytest.raises(EnvError, match="shape"):
        scaled_env_fn("Pendulum-v1", [1.0, 2.0])()


def test_command_pendulum_is_pendulum_with_a_zero_to_one_box():
    command, plain = command_pendulum(), make_env("Pendulum-v1")
    assert command.action_space.low.tolist() == [0.0] and command.action_space.high.tolist() == [1.0]
    obs_c, _ = command.reset(seed=3)
    obs_p, _ = plain.reset(seed=3)
    for c, torque in [(0.5, 0.0), (1.0, 2.0), (0.0, -2.0), (0.75, 1.0)]:
        obs_c, r_c, *_ = command.step(np.array([c], np.float32))
        obs_p, r_p, *_ = plain.step(np.array([torque], np.float32))
        assert np.allclose(obs_c, obs_p) and np.isclose(r_c, r_p)


def test_a_mujoco_model_s_deprecation_warning_is_neither_printed_nor_logged(tmp_path, monkeypatch, capfd):
    """HalfCheetah's model file uses a deprecated compiler attribute; MuJoCo would print a warning on every load
    and append it to MUJOCO_LOG.TXT in the working directory."""
    import warnings

    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing reaches Python's warnings either
        make_env("HalfCheetah-v5").close()
    assert capfd.readouterr() == ("", "")
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists()
