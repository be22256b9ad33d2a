"""The discretised mixture of logistics: normalised over the 256 levels (grey and colour), equal to a
scipy brute force per pixel, exact in the far tails (mpmath), and its mean image."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import logistic

from vae_core.models.logistic_mixture import DiscretizedLogisticMixture, _log_bin_mass

LEVELS = torch.arange(256, dtype=torch.float64)


def _random_params(likelihood, channels, n, seed, spread=1.0):
    """(n, P) parameter vectors: means beyond [-1, 1], log-scales from far below the clamp to e^2."""
    g = torch.Generator().manual_seed(seed)
    params = torch.randn(n, likelihood.out_channels(channels), generator=g, dtype=torch.float64) * spread
    k = likelihood.n_components
    log_scales = torch.empty(n, channels * k, dtype=torch.float64).uniform_(-9, 2, generator=g)
    params[:, k + channels * k:k + 2 * channels * k] = log_scales
    return params


def test_out_channels():
    assert DiscretizedLogisticMixture(10).out_channels(3) == 100  # PixelCNN++'s 10 K for RGB
    assert DiscretizedLogisticMixture(10).out_channels(1) == 30
    assert DiscretizedLogisticMixture(4).out_channels(2) == 4 * 6


def test_grey_pixel_sums_to_one_over_the_256_levels():
    likelihood = DiscretizedLogisticMixture(10)
    params = _random_params(likelihood, 1, 40, seed=0, spread=3.0)
    out = params[:, :, None, None].expand(-1, -1, 1, 256)  # the same pixel model at 256 positions
    x = (LEVELS / 255).view(1, 1, 1, 256).expand(40, -1, -1, -1)
    total = likelihood.log_prob_pixels(x, out).exp().sum(-1).squeeze(1)
    torch.testing.assert_close(total, torch.ones(40, dtype=torch.float64), rtol=0, atol=1e-10)


def test_colour_pixel_marginalises_to_the_grey_mixture_of_its_first_channel():
    """Summing p(x0, x1, x2) over all 256^2 (x1, x2) leaves p(x0), the one-channel mixture with the
    same weights, means and scales of channel 0: the coupled conditionals of x1, x2 are normalised
    (with the grey test, the colour pixel sums to one over 256^3)."""
    colour = DiscretizedLogisticMixture(3)
    params = _random_params(colour, 3, 1, seed=1)
    grey = torch.cat([params[:, :3], params[:, 3:6], params[:, 12:15]], 1)  # logits, means, scales of x0
    out = params[:, :, None, None].expand(-1, -1, 256, 256)
    x1, x2 = torch.meshgrid(LEVELS / 255, LEVELS / 255, indexing="ij")
    for level in (0, 77, 200, 255):
        x = torch.stack([torch.full_like(x1, level / 255), x1, x2]).unsqueeze(0)
        marginal = colour.log_prob_pixels(x, out).exp().sum()
        first = colour.log_prob_pixels(torch.full((1, 1, 1, 1), level / 255, dtype=torch.float64),
                                       grey[:, :, None, None]).exp()
        torch.testing.assert_close(marginal, first.squeeze(), rtol=1e-9, atol=1e-14)


def _brute_force_log_prob(x: np.ndarray, params: np.ndarray, k: int) -> float:
    """One pixel, C channels, from scipy's logistic cdf: the PixelCNN++ formula written out."""
    c = len(x)
    logits, rest = params[:k], params[k:]
    means, log_scales = rest[:c * k].reshape(c, k), np.maximum(rest[c * k:2 * c * k].reshape(c, k), -7)
    coupling = np.tanh(rest[2 * c * k:].reshape(-1, k))
    levels = np.round(x * 255)
    v = 2 * levels / 255 - 1
    log_weights = logits - logsumexp(logits)
    per_component = []
    for j in range(k):
        total, pair = log_weights[j], 0
        for ch in range(c):
            mean = means[ch, j]
            for prev in range(ch):
                mean += coupling[pair, j] * v[prev]
                pair += 1
            scale = math.exp(log_scales[ch, j])
            if v[ch] > mean:  # difference of survival functions: exact in the upper tail
                lower = 1.0 if levels[ch] == 0 else logistic.sf(v[ch] - 1 / 255, mean, scale)
                upper = 0.0 if levels[ch] == 255 else logistic.sf(v[ch] + 1 / 255, mean, scale)
                total += math.log(lower - upper)
            else:
                upper = 1.0 if levels[ch] == 255 else logistic.cdf(v[ch] + 1 / 255, mean, scale)
                lower = 0.0 if levels[ch] == 0 else logistic.cdf(v[ch] - 1 / 255, mean, scale)
                total += math.log(upper - lower)
        per_component.append(total)
    return float(logsumexp(per_component))


@pytest.mark.parametrize("channels", [1, 3])
def test_matches_a_scipy_brute_force(channels):
    likelihood = DiscretizedLogisticMixture(3)
    params = _random_params(likelihood, channels, 30, seed=2)
    params[:, 3 + 3 * channels:3 + 6 * channels].clamp_(-4, 1)  # masses well above float64's smallest
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (30, channels), generator=g, dtype=torch.float64) / 255
    x[0], x[1] = 0.0, 1.0  # both edge bins
    got = likelihood.log_prob_pixels(x[:, :, None, None], params[:, :, None, None]).flatten()
    expected = [_brute_force_log_prob(x[i].numpy(), params[i].numpy(), 3) for i in range(30)]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)


@pytest.mark.parametrize(("value", "mean", "log_scale"), [
    (0.0, 40.0, -7.0), (200.0, -30.0, -7.0), (128.0, 0.9, -7.0), (255.0, -1.0, 0.5), (0.0, 1.0, -7.0)])
def test_far_tail_masses_are_exact(value, mean, log_scale):
    """Masses down to e^-60000 still come out right (mpmath at 80 digits)."""
    x = torch.tensor(2 * value / 255 - 1, dtype=torch.float64)
    got = float(_log_bin_mass(x, torch.tensor(value), torch.tensor(mean, dtype=torch.float64),
                              torch.tensor(log_scale, dtype=torch.float64)))
    mpmath.mp.dps = 80
    s, centre = mpmath.exp(log_scale), mpmath.mpf(float(x)) - mean
    edge = mpmath.mpf(1) / 255
    if centre > 0:  # upper tail: difference of survival functions, each tiny but exact in mpmath
        sf = lambda t: 1 / (1 + mpmath.exp(t / s))  # noqa: E731
        mass = (1 if value == 0 else sf(centre - edge)) - (0 if value == 255 else sf(centre + edge))
    else:
        cdf = lambda t: 1 / (1 + mpmath.exp(-t / s))  # noqa: E731
        mass = (1 if value == 255 else cdf(centre + edge)) - (0 if value == 0 else cdf(centre - edge))
    assert got == pytest.approx(float(mpmath.log(mass)), rel=1e-9)


def test_quantises_to_the_nearest_level_and_gradients_stay_finite():
    likelihood = DiscretizedLogisticMixture(10)
    out = torch.randn(2, 30, 3, 3, dtype=torch.float64) * 5
    out[:, 10:20] = 40.0  # means far above the data
    out[:, 20:30] = -20.0  # log-scales below the clamp
    out.requires_grad_(True)
    x = torch.full((2, 1, 3, 3), 128 / 255, dtype=torch.float64)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0.0, 1.0
    nll = likelihood.nll(x, out)
    torch.testing.assert_close(nll, likelihood.nll(x + 0.4 / 255, out))
    torch.testing.assert_close(nll, -likelihood.log_prob_pixels(x, out).flatten(1).sum(1))
    nll.sum().backward()
    assert torch.isfinite(nll).all() and torch.isfinite(out.grad).all()


def test_grey_mean_is_within_half_a_level_of_the_discrete_mean():
    likelihood = DiscretizedLogisticMixture(10)
    params = _random_params(likelihood, 1, 50, seed=4, spread=2.0)
    out = params[:, :, None, None].expand(-1, -1, 1, 256)
    x = (LEVELS / 255).view(1, 1, 1, 256).expand(50, -1, -1, -1)
    discrete = (likelihood.log_prob_pixels(x, out).exp() * LEVELS / 255).sum(-1).squeeze(1)
    got = likelihood.mean(params[:, :, None, None]).flatten()
    assert ((got - discrete).abs() <= 0.5 / 255 + 1e-9).all()
    assert (got >= 0).all() and (got <= 1).all()
