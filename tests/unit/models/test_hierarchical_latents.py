"""S2's latent families, merge and schedules against torch.distributions, numerical integration and
the formulas of methods.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from torch.distributions import Categorical, Normal, OneHotCategorical, kl_divergence

from vae_core.models.hierarchical_latents import (
    CategoricalLatent,
    GaussianLatent,
    gumbel_temperature,
    kl_weight,
    precision_weighted_merge,
)


def _gaussian_params(offset: float = 0.0, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(32, 6, generator=g, dtype=torch.float64) * 3 + offset
    std = (torch.rand(32, 6, generator=g, dtype=torch.float64) + 0.05) * scale
    return mu, std


@pytest.mark.parametrize(("offset", "scale"), [(0.0, 1.0), (50.0, 1.0), (0.0, 1e-3), (0.0, 30.0)])
def test_gaussian_rate_matches_torch_kl(offset, scale):
    mu, std = _gaussian_params(offset, scale)
    expected = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(GaussianLatent(4, 6).rate((mu, std)), expected)


@pytest.mark.parametrize("logit_scale", [0.1, 3.0, 60.0])  # near uniform .. near one-hot (p ~ e^-100)
def test_categorical_rate_is_the_kl_to_uniform(logit_scale):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(40, 7, generator=g, dtype=torch.float64) * logit_scale
    latent = CategoricalLatent(4, 7)
    log_probs = torch.log_softmax(logits, -1)
    uniform = torch.full((7,), 1 / 7, dtype=torch.float64)
    expected = kl_divergence(Categorical(logits=logits), Categorical(uniform))
    torch.testing.assert_close(latent.rate(log_probs), expected)
    torch.testing.assert_close(latent.rate(log_probs),
                               kl_divergence(OneHotCategorical(logits=logits), OneHotCategorical(uniform)))


def test_categorical_log_ratio_averages_to_minus_the_rate_exactly():
    """sum_c pi_c [log p(c) - log q(c|x)] = -KL, enumerating every class."""
    latent = CategoricalLatent(4, 5)
    log_probs = torch.log_softmax(torch.randn(9, 5, generator=torch.Generator().manual_seed(2)), -1)
    expected = torch.zeros(9)
    for c in range(5):
        z = torch.nn.functional.one_hot(torch.full((9,), c), 5).float()
        torch.testing.assert_close(latent.log_ratio(z, log_probs),
                                   -math.log(5) - OneHotCategorical(logits=log_probs).log_prob(z))
        expected += log_probs[:, c].exp() * latent.log_ratio(z, log_probs)
    torch.testing.assert_close(expected, -latent.rate(log_probs))


def test_gaussian_log_ratio_averages_to_minus_the_rate():
    mu, std = _gaussian_params()
    latent = GaussianLatent(4, 6)
    z = Normal(mu, std).sample((4000,), ).reshape(-1, 6)
    ratios = latent.log_ratio(z, (mu.repeat(4000, 1), std.repeat(4000, 1))).view(4000, 32)
    error = ratios.std(0) / math.sqrt(4000)
    assert ((ratios.mean(0) + latent.rate((mu, std))).abs() < 5 * error).all()


def test_samples_hard_and_relaxed():
    latent = CategoricalLatent(4, 6)
    log_probs = torch.log_softmax(torch.randn(500, 6), -1)
    hard = latent.sample(log_probs, 0.5, hard=True)
    assert set(hard.unique().tolist()) == {0.0, 1.0} and (hard.sum(1) == 1).all()
    cold, warm = latent.sample(log_probs, 0.4, hard=False), latent.sample(log_probs, 5.0, hard=False)
    torch.testing.assert_close(cold.sum(1), torch.ones(500))
    assert cold.max(1).values.mean() > warm.max(1).values.mean() + 0.2  # colder: nearer one-hot
    assert latent.point(log_probs).argmax(1).equal(log_probs.argmax(1))


def _numerical_product(mu_a, s_a, mu_b, s_b):
    """Mean and sd of N(mu_a, s_a^2) N(mu_b, s_b^2), normalised on a fine grid."""
    lo, hi = min(mu_a - 12 * s_a, mu_b - 12 * s_b), max(mu_a + 12 * s_a, mu_b + 12 * s_b)
    t = np.linspace(lo, hi, 400_001)
    log_density = -0.5 * ((t - mu_a) / s_a) ** 2 - 0.5 * ((t - mu_b) / s_b) ** 2
    weights = np.exp(log_density - logsumexp(log_density))
    mean = (weights * t).sum()
    return mean, np.sqrt((weights * (t - mean) ** 2).sum())


@pytest.mark.parametrize(("mu_hat", "s_hat", "mu_p", "s_p"), [
    (0.3, 0.5, -1.0, 2.0), (2.0, 1.0, 2.0, 1.0), (5.0, 0.01, -3.0, 1.0), (-4.0, 30.0, 1.0, 0.2)])
def test_precision_weighted_merge_is_the_normalised_product(mu_hat, s_hat, mu_p, s_p):
    as_t = lambda v: torch.tensor([v], dtype=torch.float64)  # noqa: E731
    mu, sigma = precision_weighted_merge(as_t(mu_hat), as_t(s_hat), as_t(mu_p), as_t(s_p))
    formula_var = s_hat**2 * s_p**2 / (s_hat**2 + s_p**2)
    formula_mu = (mu_hat * s_p**2 + mu_p * s_hat**2) / (s_hat**2 + s_p**2)
    assert float(mu) == pytest.approx(formula_mu, rel=1e-12)
    assert float(sigma) ** 2 == pytest.approx(formula_var)
    numerical_mu, numerical_sd = _numerical_product(mu_hat, s_hat, mu_p, s_p)
    assert float(mu) == pytest.approx(numerical_mu, abs=1e-6 * max(s_hat, s_p))
    assert float(sigma) == pytest.approx(numerical_sd, rel=1e-4)


def test_temperature_schedule():
    assert gumbel_temperature(0) == 1.0
    assert gumbel_temperature(50) == pytest.approx(math.exp(-0.35))
    assert gumbel_temperature(130) == pytest.approx(math.exp(-0.91))  # 0.4025, still above the floor
    assert gumbel_temperature(131) == 0.4 and gumbel_temperature(1000) == 0.4


def test_kl_warmup_schedule():
    assert [kl_weight(e, 100) for e in (0, 1, 10, 19, 20, 21, 100)] == [0.0, 0.05, 0.5, 0.95, 1.0, 1.0, 1.0]
    assert [kl_weight(e, 12) for e in (0, 1, 2, 3)] == [0.0, 0.5, 1.0, 1.0]  # ramp of 12 // 5 = 2 epochs
    assert kl_weight(1, 4) == 1.0 and kl_weight(0, 4) == 1.0  # fewer than 5 epochs: no ramp
