"""fd_pixel's Fréchet distance against closed forms and a brute-force sqrtm, and prior sampling."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from vae_core.analysis.representations import decode_mean, decodes, prior_samples
from vae_core.analysis.sample_quality import frechet_distance, moments
from vae_core.config import ConfigError
from vae_core.models import build_model, model_config
from vae_core.models.linear_vae import LinearVAE


def _brute_force(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook FID formula: scipy's sqrtm of the (non-symmetric) product S1 S2."""
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    m1, m2 = x.mean(0), y.mean(0)
    s1 = (x - m1).T @ (x - m1) / (len(x) - 1)
    s2 = (y - m2).T @ (y - m2) / (len(y) - 1)
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real)


@pytest.mark.parametrize("rotate", [False, True])
def test_commuting_covariances_match_the_closed_form(rotate: bool) -> None:
    """For S1 = Q diag(s1^2) Q^T, S2 = Q diag(s2^2) Q^T: |m1 - m2|^2 + sum (s1 - s2)^2."""
    rng = np.random.default_rng(0)
    d = 7
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    q = np.linalg.qr(rng.normal(size=(d, d)))[0] if rotate else np.eye(d)
    cov1, cov2 = q @ np.diag(s1 ** 2) @ q.T, q @ np.diag(s2 ** 2) @ q.T
    expected = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(m1, cov1, m2, cov2) == pytest.approx(expected, rel=1e-10)
    assert frechet_distance(m2, cov2, m1, cov1) == pytest.approx(expected, rel=1e-10)


def test_samples_match_a_brute_force_sqrtm() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2, 3)).astype(np.float32)  # flattened to 6 values each
    y = (rng.normal(size=(45, 6)) @ rng.normal(size=(6, 6)) + 0.5).reshape(45, 2, 3)
    expected = _brute_force(x.astype(np.float64), y)
    assert expected > 1.0
    assert frechet_distance(*moments(x), *moments(y)) == pytest.approx(expected, rel=1e-8)
    assert moments(x)[1] == pytest.approx(np.cov(x.reshape(60, 6).astype(np.float64), rowvar=False))


@pytest.mark.parametrize("n", [200, 20])  # full-rank and rank-deficient covariances (D = 64)
def test_identical_sets_give_zero(n: int) -> None:
    x = np.random.default_rng(2).uniform(size=(n, 64))
    mean, cov = moments(x)
    # round-off in the null directions passes a square root: about sqrt(eps) of the trace each
    assert frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-6 * np.trace(cov))
    assert frechet_distance(*moments(x), *moments(x + 0.1)) == pytest.approx(64 * 0.01, rel=1e-6)


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="do not match; give two means of length D"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="a covariance needs at least 2"):
        moments(np.zeros((1, 5)))


def test_prior_samples_decode_seeded_draws_of_the_latent_width() -> None:
    """Batched, in eval mode (BatchNorm's running statistics, not each batch's own)."""
    torch.manual_seed(0)
    model = build_model(model_config(dict(family="vae", arch="conv32", latent_size=3)), (1, 32, 32))
    samples = prior_samples(model, torch.rand(10, 1, 32, 32), n=7, seed=5, batch_size=3)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(5))
    model.eval()
    with torch.no_grad():
        expected = torch.sigmoid(model.decoder(z))  # the Bernoulli likelihood's mean
        torch.testing.assert_close(decode_mean(model, z), expected)
    assert samples.shape == (7, 1, 32, 32)
    torch.testing.assert_close(samples, expected)


def test_a_network_without_a_decoder_is_refused() -> None:
    model = LinearVAE(data_dim=6, latent_size=2)
    assert not decodes(model)
    with pytest.raises(ConfigError, match="LinearVAE has no encode\\(\\) and decoder"):
        prior_samples(model, torch.zeros(3, 6), n=4, seed=0)
