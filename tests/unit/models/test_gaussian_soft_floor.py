"""The soft-floored learned-sigma Gaussian against torch.distributions and its floor formula."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vae_core.config import ConfigError
from vae_core.models.gaussian_soft_floor import GaussianLearnedSoftFloor


@pytest.mark.parametrize("raw", [-50.0, -6.0, -2.0, 3.0])
def test_nll_is_the_normal_density_at_the_floored_sigma(raw):
    likelihood = GaussianLearnedSoftFloor(1.0)
    with torch.no_grad():
        likelihood.log_sigma.fill_(raw)
    log_sigma = -6.0 + math.log1p(math.exp(raw + 6.0))  # -6 + softplus(raw + 6)
    x, out = torch.rand(5, 1, 4, 4), torch.rand(5, 1, 4, 4)
    expected = -Normal(out, math.exp(log_sigma)).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(likelihood.nll(x, out), expected, rtol=1e-5, atol=1e-3)
    assert likelihood.logs()["sigma"] == pytest.approx(math.exp(log_sigma), rel=1e-5)


def test_floor_is_soft_and_the_raw_parameter_learns():
    likelihood = GaussianLearnedSoftFloor(0.5)
    starting = float(likelihood.effective_log_sigma())
    assert starting == pytest.approx(math.log(0.5), abs=1e-6)  # starts at sigma
    assert GaussianLearnedSoftFloor(0.003).logs()["sigma"] == pytest.approx(0.003, rel=1e-5)
    with pytest.raises(ConfigError, match="^sigma:"):
        GaussianLearnedSoftFloor(0.002)  # below e^-6 = 0.00248
    with torch.no_grad():
        likelihood.log_sigma.fill_(-1000.0)
    assert float(likelihood.effective_log_sigma()) == -6.0
    with torch.no_grad():
        likelihood.log_sigma.fill_(-6.0)
    assert float(likelihood.effective_log_sigma()) == pytest.approx(-6.0 + math.log(2.0))
    likelihood.nll(torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)).sum().backward()
    assert likelihood.log_sigma.grad is not None and torch.isfinite(likelihood.log_sigma.grad)
    assert likelihood.out_channels(3) == 3
