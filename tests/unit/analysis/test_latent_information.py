"""Monte Carlo I(X;U) against the Gaussian channel's closed form and the pairwise bound."""

from __future__ import annotations

import numpy as np
import pytest

from vae_core.analysis.channels import pair_information
from vae_core.analysis.latent_information import monte_carlo_information
from vae_core.config import ConfigError


@pytest.mark.parametrize(("k", "sigma"), [(1, 0.5), (3, 0.8)])
def test_gaussian_channel_matches_closed_form(k: int, sigma: float) -> None:
    """mu ~ N(0, 1) per dimension, u = mu + sigma eps: I = sum_k 0.5 log2(1 + var(mu_k) / sigma^2)
    (X uniform over many points is close to Gaussian mu; the sample variance is used)."""
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(1500, k))
    logvar = np.full_like(mu, 2 * np.log(sigma))
    result = monte_carlo_information(mu, logvar, n_samples=6000, seed=1, max_bytes=2 ** 22)
    expected = 0.5 * np.log2(1 + mu.var(axis=0) / sigma ** 2).sum()
    assert abs(result["latent_info.bits"] - expected) < 4 * result["latent_info.stderr_bits"] + 0.01
    assert 0 < result["latent_info.stderr_bits"] < 0.03


def test_chunking_does_not_change_the_draws() -> None:
    """One draw per chunk or all at once: the same draws, the same estimate."""
    rng = np.random.default_rng(2)
    mu, logvar = rng.normal(size=(50, 2)) * 1e4, rng.normal(size=(50, 2))
    small = monte_carlo_information(mu, logvar, n_samples=300, seed=3, max_bytes=1)
    large = monte_carlo_information(mu, logvar, n_samples=300, seed=3)
    assert small["latent_info.bits"] == pytest.approx(large["latent_info.bits"], abs=1e-12)


def test_separated_points_give_log2_n_and_bound_stays_below() -> None:
    """Far-apart points with tiny noise: I(X;U) = log2 N; for a blurrier channel the
    Bhattacharyya pairwise value is a lower bound on the Monte Carlo estimate."""
    n = 64
    mu = np.arange(n, dtype=float)[:, None] * 1e4
    sharp = monte_carlo_information(mu, np.full((n, 1), -10.0), n_samples=2000)
    assert sharp["latent_info.bits"] == pytest.approx(np.log2(n), abs=1e-9)
    rng = np.random.default_rng(4)
    mu = rng.normal(size=(300, 1))
    logvar = np.full((300, 1), np.log(0.3 ** 2))
    mc = monte_carlo_information(mu, logvar, n_samples=5000, seed=5)
    bound = pair_information(mu, logvar).info[0]
    assert bound < mc["latent_info.bits"] + 3 * mc["latent_info.stderr_bits"]
    assert bound > 0.5 * mc["latent_info.bits"]


def test_tiling_gives_two_draws() -> None:
    """I(X;U,U') from (mu, logvar) tiled: two noisy looks at one Gaussian channel are worth
    one look with half the variance."""
    rng = np.random.default_rng(6)
    mu = rng.normal(size=(1500, 1))
    logvar = np.full_like(mu, np.log(0.6 ** 2))
    tiled = monte_carlo_information(np.tile(mu, 2), np.tile(logvar, 2), n_samples=6000, seed=7)
    halved = 0.5 * np.log2(1 + 2 * mu.var() / 0.6 ** 2)
    assert abs(tiled["latent_info.bits"] - halved) < 4 * tiled["latent_info.stderr_bits"] + 0.01


def test_bad_shapes_raise() -> None:
    with pytest.raises(ConfigError, match="mu/logvar"):
        monte_carlo_information(np.zeros((5, 2)), np.zeros((5, 3)))
