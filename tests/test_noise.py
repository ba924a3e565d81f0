import numpy as np
import pytest

from helpers.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise, make_noise


def ou(seed=0, **kwargs):
    params = dict(mean=np.zeros(1), sigma=np.array([0.3]), theta=1.0, dt=0.05)
    params.update(kwargs)
    return OrnsteinUhlenbeckActionNoise(rng=np.random.default_rng(seed), **params)


def test_ou_stationary_mean_and_variance_match_theory():
    noise = ou(mean=np.array([0.5]))
    burn_in = int(10 * noise.correlation_time())
    for _ in range(burn_in):
        noise()
    path = np.array([noise()[0] for _ in range(200_000)])
    # Exact law of the discretized AR(1) process x' = a x + (1 - a) mu + sigma sqrt(dt) eps.
    a = 1 - noise.theta * noise.dt
    exact_var = noise.sigma[0] ** 2 * noise.dt / (1 - a**2)
    # Effective sample size of an AR(1) path: n (1 - a) / (1 + a).
    n_eff = len(path) * (1 - a) / (1 + a)
    assert abs(path.mean() - 0.5) < 4 * np.sqrt(exact_var / n_eff)
    assert path.var() == pytest.approx(exact_var, rel=0.05)
    assert noise.stationary_std()[0] ** 2 == pytest.approx(exact_var)
    # The continuous-time value sigma^2 / (2 theta) is close for small theta * dt.
    assert exact_var == pytest.approx(0.3**2 / 2, rel=0.05)


def test_ou_autocorrelation_decays_with_the_predicted_time():
    noise = ou()
    path = np.array([noise()[0] for _ in range(200_000)])
    lag = int(round(noise.correlation_time()))
    x = path - path.mean()
    rho = np.dot(x[:-lag], x[lag:]) / np.dot(x, x)
    assert rho == pytest.approx(np.exp(-1), abs=0.03)


def test_ou_correlation_time_of_the_paper_settings_is_about_667_steps():
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(1), np.array([0.2]), np.random.default_rng(0))
    assert noise.correlation_time() == pytest.approx(1 / (0.15 * 0.01), rel=0.01)


def test_ou_reset_returns_to_initial_value():
    noise = ou(initial_noise=np.array([0.7]))
    for _ in range(50):
        noise()
    assert noise.x[0] != 0.7
    noise.reset()
    assert noise.x[0] == 0.7
    plain = ou()
    for _ in range(50):
        plain()
    plain.reset()
    assert plain.x[0] == 0.0


def test_same_seed_same_noise():
    a, b = ou(seed=3), ou(seed=3)
    assert np.array_equal([a() for _ in range(10)], [b() for _ in range(10)])


def test_gaussian_noise_moments_and_shape():
    noise = NormalActionNoise(np.zeros(2), np.array([0.1, 0.5]), np.random.default_rng(0))
    draws = np.array([noise() for _ in range(50_000)])
    assert draws.shape == (50_000, 2)
    np.testing.assert_allclose(draws.std(axis=0), [0.1, 0.5], rtol=0.02)
    np.testing.assert_allclose(draws.mean(axis=0), [0, 0], atol=0.01)


def test_make_noise():
    rng = np.random.default_rng(0)
    assert isinstance(make_noise("ou", np.ones(1), rng), OrnsteinUhlenbeckActionNoise)
    assert isinstance(make_noise("gaussian", np.ones(1), rng), NormalActionNoise)
    assert make_noise("none", np.ones(1), rng) is None
    with pytest.raises(ValueError, match="unknown noise"):
        make_noise("pink", np.ones(1), rng)


def test_sample_path_and_autocorrelation():
    from helpers.noise import autocorrelation, sample_path

    noise = ou(seed=4)
    path = sample_path(noise, 50_000)
    assert path.shape == (50_000, 1)
    acf = autocorrelation(path[:, 0], 40)
    assert acf[0] == pytest.approx(1.0)
    a = 1 - noise.theta * noise.dt  # an AR(1) process: autocorrelation a**k
    np.testing.assert_allclose(acf[[5, 20]], a ** np.array([5, 20]), atol=0.04)
    white = autocorrelation(np.random.default_rng(0).standard_normal(50_000), 3)
    np.testing.assert_allclose(white[1:], 0, atol=0.02)
    # With resets, every segment starts again from the initial value.
    reset = sample_path(ou(seed=4, initial_noise=np.array([3.0])), 30, reset_every=10)
    assert abs(reset[0, 0] - 3.0) < 0.5 and abs(reset[10, 0] - 3.0) < 0.5 and abs(reset[20, 0] - 3.0) < 0.5
