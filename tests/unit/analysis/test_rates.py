"""Likelihood bounds, PSNR, the Monte Carlo I_q(z; L) and Fano's inversion against scipy, brute-force
loops and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.special import logsumexp
from scipy.stats import entropy, norm

from vae_core.analysis.rates import (
    categorical_label_information,
    fano_bound,
    fano_max_accuracy,
    gaussian_label_information,
    gaussian_log_density_rows,
    label_entropy,
    label_information,
    likelihood_bounds,
    log_mean_exp,
    psnr,
    reconstruction_scores,
)
from vae_core.config import ConfigError


# -- likelihood bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [0.0, -1e4, 3e4])
def test_log_mean_exp_matches_scipy_at_any_offset(offset):
    log_w = torch.randn(50, 7, dtype=torch.float64) * 20 + offset
    expected = logsumexp(log_w.numpy(), axis=0) - math.log(50)
    np.testing.assert_allclose(log_mean_exp(log_w, 0).numpy(), expected, rtol=1e-12)


def test_bounds_order_and_single_sample():
    log_w = torch.randn(30, 5, dtype=torch.float64) * 3 - 500
    bounds = likelihood_bounds(log_w)
    assert bounds["ll.iwae"] > bounds["ll.elbo"] and bounds["ll.samples"] == 30
    single = likelihood_bounds(log_w[:1])
    assert single["ll.iwae"] == pytest.approx(single["ll.elbo"])


# -- PSNR ----------------------------------------------------------------------------------------
def test_psnr_against_a_hand_loop():
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 8, 8))
    x_hat = np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1)
    x_hat[2] = x[2] + 0.5  # a bad one
    expected = []
    for image, reconstruction in zip(x, x_hat):
        squared = [(a - b) ** 2 for a, b in zip(image.ravel(), reconstruction.ravel())]
        expected.append(10 * math.log10(1.0 / (sum(squared) / len(squared))))
    np.testing.assert_allclose(psnr(x, x_hat), expected, rtol=1e-12)
    np.testing.assert_allclose(psnr(255 * x, 255 * x_hat, data_range=255), expected, rtol=1e-12)
    scores = reconstruction_scores(torch.tensor(x), torch.tensor(x_hat))
    assert scores["recon.psnr"] == pytest.approx(np.mean(expected))
    assert scores["recon.mse"] == pytest.approx(((x - x_hat) ** 2).mean())


def test_psnr_of_a_perfect_copy_is_infinite_and_shapes_must_match():
    x = np.random.default_rng(1).random((2, 1, 4, 4))
    assert np.isinf(psnr(x, x)).all()
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(x, x[:, :, :3])


# -- I_q(z; L) -----------------------------------------------------------------------------------
def _two_class_mi(means: tuple[float, float], sd: float, weights: tuple[float, float]) -> float:
    """I(z; L) for z | l ~ N(m_l, sd^2), by numerical integration."""
    def integrand(z, label):
        mixture = sum(w * norm.pdf(z, m, sd) for w, m in zip(weights, means))
        own = norm.pdf(z, means[label], sd)
        return weights[label] * own * math.log(own / mixture) if own > 0 else 0.0
    span = (min(means) - 12 * sd, max(means) + 12 * sd)
    return sum(integrate.quad(integrand, *span, args=(label,), limit=200)[0] for label in (0, 1))


def _toy(n: int, class0: int, means, sd: float, spread: float, noise_dims: int, offset: float, seed: int):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(class0, int), np.ones(n - class0, int)]
    mu = np.zeros((n, 1 + noise_dims)) + offset
    mu[:, 0] += np.asarray(means)[labels] + spread * rng.normal(size=n)
    logvar = np.zeros_like(mu)
    logvar[:, 0] = 2 * math.log(sd)
    return torch.tensor(mu), torch.tensor(logvar), labels


@pytest.mark.parametrize(("noise_dims", "offset"), [(0, 0.0), (15, 1000.0), (63, -50.0)])
def test_gaussian_mi_matches_numerical_integration(noise_dims, offset):
    """Points of a class share one posterior N(m_l, 1): the estimator is then unbiased (plus noise
    dimensions identical for every point, which must cancel, at an offset)."""
    mu, logvar, labels = _toy(6000, 1800, (-1.0, 1.0), 1.0, 0.0, noise_dims, offset, seed=0)
    got = gaussian_label_information(mu, logvar, labels, seed=1)
    assert got["mi.z_label"] == pytest.approx(_two_class_mi((-1.0, 1.0), 1.0, (0.3, 0.7)), abs=0.02)
    assert got["mi.h_label"] == pytest.approx(entropy([0.3, 0.7]))


def test_gaussian_mi_with_spread_posteriors_matches_the_aggregate_closed_form():
    """mu_i = m_l + N(0, 1), sd 0.5: q(z|l) is N(m_l, 1.25) in the limit of many points."""
    mu, logvar, labels = _toy(6000, 3000, (-1.5, 1.5), 0.5, 1.0, 0, 0.0, seed=2)
    got = gaussian_label_information(mu, logvar, labels, seed=3, chunk=1000)
    expected = _two_class_mi((-1.5, 1.5), math.sqrt(1.25), (0.5, 0.5))
    assert got["mi.z_label"] == pytest.approx(expected, abs=0.02)


def _brute_force_mi(mu, logvar, samples, labels) -> float:
    """The full N x N matrix of log-densities from torch.distributions, and scipy's logsumexp."""
    posteriors = torch.distributions.Normal(mu[None], (0.5 * logvar).exp()[None])
    log_q = posteriors.log_prob(samples[:, None]).sum(-1).numpy()
    total = 0.0
    for j, label in enumerate(labels):
        same = labels == label
        within = logsumexp(log_q[j, same]) - math.log(same.sum())
        total += within - (logsumexp(log_q[j]) - math.log(len(labels)))
    return total / len(labels)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
@pytest.mark.parametrize(("offset", "scale"), [(0.0, 1.0), (1e4, 1e-3)])  # far from 0, tight posteriors
def test_chunked_estimator_equals_the_brute_force(chunk, offset, scale):
    g = torch.Generator().manual_seed(4)
    mu = torch.randn(150, 5, generator=g, dtype=torch.float64) * scale * 3 + offset
    logvar = torch.randn(150, 5, generator=g, dtype=torch.float64) * 0.5 + 2 * math.log(scale)
    labels = torch.randint(0, 4, (150,), generator=g).numpy()
    labels[:3] = 7  # a small class
    samples = mu + (0.5 * logvar).exp() * torch.randn(150, 5, generator=g, dtype=torch.float64)
    got = label_information(gaussian_log_density_rows(mu, logvar), samples, labels, chunk=chunk)
    expected = _brute_force_mi(mu, logvar, samples, labels)
    assert got["mi.z_label"] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_categorical_mi_matches_the_discrete_closed_form():
    weights = np.array([0.2, 0.5, 0.3])
    posteriors = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    marginal = weights @ posteriors
    exact = sum(w * entropy(p, marginal) for w, p in zip(weights, posteriors))
    labels = np.repeat([0, 1, 2], (weights * 9000).astype(int))
    log_probs = torch.tensor(np.log(posteriors[labels]))
    got = categorical_label_information(log_probs, labels, seed=5)
    assert got["mi.z_label"] == pytest.approx(exact, abs=0.01)


def test_categorical_mi_extremes_are_exact():
    labels = np.array([0] * 30 + [1] * 50 + [2] * 20)
    one_hot = torch.full((100, 3), -1e9, dtype=torch.float64)
    one_hot[torch.arange(100), torch.tensor(labels)] = 0.0
    got = categorical_label_information(one_hot, labels)["mi.z_label"]
    assert got == pytest.approx(entropy([.3, .5, .2]))
    uniform = torch.full((100, 3), -math.log(3), dtype=torch.float64)
    got = categorical_label_information(uniform, labels, name="y")["mi.y_label"]
    assert got == pytest.approx(0.0, abs=1e-12)


def test_label_entropy_and_sample_count_check():
    labels = np.array([3, 3, 3, 9, 9, -1])
    assert label_entropy(labels) == pytest.approx(entropy([3, 2, 1]))
    with pytest.raises(ValueError, match="one per point"):
        label_information(lambda z: z, torch.zeros(5, 2), labels)


# -- Fano ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("accuracy", [0.1, 0.37, 0.9, 1.0])
@pytest.mark.parametrize("n_classes", [2, 10])
def test_fano_bound_against_its_formula(accuracy, n_classes):
    h_label = math.log(n_classes) - 0.01
    expected = h_label - entropy([accuracy, 1 - accuracy]) - (1 - accuracy) * math.log(n_classes - 1)
    assert fano_bound(accuracy, h_label, n_classes) == pytest.approx(expected)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.5, 0.93, 0.999])
def test_fano_inversion_is_the_largest_accuracy_the_bound_allows(n_classes, fraction):
    h_label = math.log(n_classes)
    information = fraction * h_label
    best = fano_max_accuracy(information, h_label, n_classes)
    grid = np.linspace(1 / n_classes, 1.0, 200_001)
    allowed = grid[[fano_bound(a, h_label, n_classes) <= information + 1e-12 for a in grid]]
    assert best == pytest.approx(allowed.max(), abs=1e-5)
    if 1 / n_classes < best < 1:
        assert fano_bound(best, h_label, n_classes) == pytest.approx(information, abs=1e-9)


def test_fano_edges():
    assert fano_max_accuracy(0.0, math.log(10), 10) == pytest.approx(0.1)  # no information: chance
    assert fano_max_accuracy(2.5, math.log(10), 10) == 1.0  # I >= H(L) (estimation noise): 1
    skewed = entropy([0.9, 0.05, 0.05])  # H(L) < log K: some accuracy is free
    assert fano_max_accuracy(0.0, skewed, 3) > 1 / 3
    with pytest.raises(ConfigError, match="^n_classes:"):
        fano_max_accuracy(0.1, 0.5, 1)
