"""The non-standard prior N(m, v): KL against torch.distributions, the family, its samples."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_core.config import ConfigError
from vae_core.models import build_model, model_config
from vae_core.models.divergences import gaussian_kl
from vae_core.models.prior_vae import PriorVAE, draw_prior


def _reference(mu, logvar, m, v) -> torch.Tensor:
    return kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(m, v.sqrt())).sum(-1)


@pytest.mark.parametrize(("offset", "log_v", "logvar_shift"), [
    (0.0, 0.0, 0.0),
    (1e3, 0.0, 0.0),  # prior mean far from the posteriors
    (-250.0, 4.0, 0.0),  # far and wide
    (0.0, -9.0, 0.0),  # tiny prior variance
    (5.0, 3.0, -12.0),  # tiny posterior variances
])
def test_kl_to_a_nonstandard_prior_matches_torch(offset, log_v, logvar_shift):
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(64, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(64, 6, generator=g, dtype=torch.float64) + logvar_shift
    m = offset + torch.randn(6, generator=g, dtype=torch.float64)
    v = (log_v + torch.randn(6, generator=g, dtype=torch.float64)).exp()
    torch.testing.assert_close(gaussian_kl(mu, logvar, m, v), _reference(mu, logvar, m, v),
                               rtol=1e-10, atol=1e-8)


def _model(prior_mean, prior_var, beta=1.0) -> PriorVAE:
    plain = build_model(model_config({"family": "vae", "latent_size": 3, "n_layers": 2}), (1, 8, 8))
    return PriorVAE(plain.encoder, plain.decoder, plain.likelihood, beta, prior_mean, prior_var)


def test_prior_vae_loss_uses_the_kl_to_its_prior():
    torch.manual_seed(0)
    m, v = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.5, 3.0, 1e-2])
    model = _model(m.tolist(), v.tolist(), beta=2.5)
    x = torch.rand(9, 1, 8, 8)
    out = model(x)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(out.kl, _reference(mu, logvar, m, v).mean())
    torch.testing.assert_close(out.loss, out.recon + 2.5 * out.kl)
    standard = _model(0.0, 1.0)
    standard.load_state_dict(model.state_dict() | {"prior_mean": torch.tensor(0.0),
                                                   "prior_var": torch.tensor(1.0)})
    torch.testing.assert_close(standard.regulariser(mu, logvar), gaussian_kl(mu, logvar))


def test_prior_travels_in_the_state_dict():
    state = _model([1.0, 2.0, 3.0], 4.0).state_dict()
    torch.testing.assert_close(state["prior_mean"], torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(state["prior_var"], torch.tensor(4.0))


def test_samples_come_from_the_prior():
    model = _model([10.0, -5.0, 0.0], [4.0, 0.25, 1.0])
    z = model.sample_prior(200_000, 3, seed=1)
    torch.testing.assert_close(z.mean(0), torch.tensor([10.0, -5.0, 0.0]), atol=0.02, rtol=0)
    torch.testing.assert_close(z.var(0), torch.tensor([4.0, 0.25, 1.0]), atol=0.0, rtol=0.02)
    torch.testing.assert_close(model.sample_prior(5, 3, seed=7), model.sample_prior(5, 3, seed=7))
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(draw_prior(5, 3, 1.0, 4.0, seed=7), 1.0 + 2.0 * eps)


@pytest.mark.parametrize(("mean", "var", "pattern"), [
    (0.0, 0.0, r"prior_var: must be > 0"),
    (0.0, [1.0, -1.0, 1.0], r"prior_var: must be > 0"),
    (0.0, "wide", r"prior_var: expected a number"),
    (float("nan"), 1.0, r"prior_mean: expected finite numbers"),
])
def test_bad_priors_are_refused(mean, var, pattern):
    with pytest.raises(ConfigError, match=pattern):
        _model(mean, var)


def test_the_registry_builds_a_prior_vae_with_its_configured_prior():
    model = build_model(model_config({"family": "prior_vae", "latent_size": 2, "prior_mean": [1.0, -2.0],
                                      "prior_var": 3.0, "beta": 0.5}), (1, 8, 8))
    assert isinstance(model, PriorVAE) and model.beta == 0.5
    torch.testing.assert_close(model.prior_mean, torch.tensor([1.0, -2.0]))
    torch.testing.assert_close(model.prior_var, torch.tensor(3.0))


@pytest.mark.parametrize(("values", "pattern"), [
    ({"prior_var": 0.0}, r"prior_var: must be > 0"),
    ({"prior_var": [1.0, -0.5]}, r"prior_var: must be > 0"),
    ({"prior_mean": [0.0, 1.0, 2.0]}, r"prior_mean: 3 values for latent_size 2"),
])
def test_bad_prior_configs_are_refused_before_building(values, pattern):
    with pytest.raises(ConfigError, match=pattern):
        model_config({"family": "prior_vae", "latent_size": 2, **values})
