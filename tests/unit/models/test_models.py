"""Blocks, divergences, likelihoods and the model registry against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from vae_core.config import ConfigError
from vae_core.models import (
    FAMILIES,
    LIKELIHOODS,
    build_likelihood,
    build_model,
    dynamic_widths,
    gaussian_kl,
    model_config,
)
from vae_core.models.architectures import ARCHITECTURES


@pytest.mark.parametrize(("d_x", "d_z", "n", "expected"), [
    (784, 2, 2, [784, 393, 2]),  # methods.md S3 examples
    (784, 2, 3, [784, 524, 263, 2]),
    (784, 10, 1, [784, 10]),
])
def test_dynamic_widths_published_examples(d_x, d_z, n, expected):
    assert dynamic_widths(d_x, d_z, n) == expected


@pytest.mark.parametrize("d_x,d_z,n", [(64, 3, 4), (100, 7, 5), (3072, 128, 6)])
def test_dynamic_widths_formula_brute_force(d_x, d_z, n):
    # D_i = D_x - floor((D_x - D_z) i / n), computed with exact integer arithmetic.
    expected = [d_x - ((d_x - d_z) * i) // n for i in range(n + 1)]
    widths = dynamic_widths(d_x, d_z, n)
    assert widths == expected and widths[0] == d_x and widths[-1] == d_z


def test_mlp_layers_follow_the_widths():
    model = build_model(model_config(dict(arch="mlp", latent_size=2, n_layers=3)), (1, 28, 28))
    linears = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 524), (524, 263), (263, 2), (263, 2)]  # two heads: mu and logvar
    decoder = [m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in decoder] == [(2, 263), (263, 524), (524, 784)]


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(16, 5, generator=g), torch.randn(16, 5, generator=g)
    prior_mu, prior_var = torch.randn(5, generator=g), torch.rand(5, generator=g) + 0.2
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()),
                             Normal(prior_mu, prior_var.sqrt())).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar, prior_mu, prior_var), expected)
    standard = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), standard)


def test_bernoulli_nll_matches_scipy():
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(4, 1, 3, 3, generator=g) > 0.5).float()
    logits = torch.randn(4, 1, 3, 3, generator=g)
    nll = build_likelihood("bernoulli", 1.0).nll(x, logits)
    p = torch.sigmoid(logits).numpy().reshape(4, -1)
    expected = -stats.bernoulli(p).logpmf(x.numpy().reshape(4, -1)).sum(1)
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["gaussian_fixed", "gaussian_learned"])
def test_gaussian_nll_matches_scipy(name):
    g = torch.Generator().manual_seed(2)
    x, mean = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    likelihood = build_likelihood(name, 0.3)
    expected = -stats.norm(mean.numpy(), 0.3).logpdf(x.numpy()).sum(1)
    np.testing.assert_allclose(likelihood.nll(x, mean).detach().numpy(), expected, rtol=1e-5)
    learnable = [p for p in likelihood.parameters()]
    assert len(learnable) == (1 if name == "gaussian_learned" else 0)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_registered_family_builds_and_takes_one_step(family):
    """Each family with its own defaults: one forward pass, finite loss, one optimiser step."""
    shape = FAMILIES[family].example_shape
    model = build_model(model_config({"family": family, "latent_size": 2}), shape)
    before = [p.detach().clone() for p in model.parameters()]
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    out = model(torch.rand(6, *shape))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    optimiser.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("family", ["ae", "vae"])
@pytest.mark.parametrize("likelihood", sorted(LIKELIHOODS))
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_and_likelihood_builds_and_runs(family, likelihood, arch):
    shape = {"conv32": (3, 32, 32), "conv64": (1, 64, 64)}.get(arch, (1, 8, 8))
    model = build_model(model_config(dict(family=family, arch=arch, latent_size=4,
                                  likelihood=likelihood)), shape)
    x = torch.rand(5, *shape)
    out = model(x)
    assert out.z.shape == (5, 4) and out.out.shape == (5, *shape)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    if family == "ae":
        assert float(out.kl) == 0.0


def test_vae_loss_is_recon_plus_beta_kl():
    model = build_model(model_config(dict(beta=3.5, latent_size=3)), (1, 8, 8))
    out = model(torch.rand(7, 1, 8, 8))
    torch.testing.assert_close(out.loss, out.recon + 3.5 * out.kl)


def test_conv32_decoder_and_encoder_shapes():
    model = build_model(model_config(dict(arch="conv32", latent_size=16)), (1, 32, 32))
    shapes = []
    x = torch.rand(2, 1, 32, 32)
    for block in model.encoder.blocks:
        x = block(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 16, 16), (128, 8, 8), (256, 4, 4), (256, 2, 2)]


@pytest.mark.parametrize(("values", "shape", "key"), [
    (dict(arch="conv32"), (1, 28, 28), "arch"),
    (dict(arch="conv33"), (1, 28, 28), "arch"),
    (dict(arch="conv64"), (1, 32, 32), "arch"),
    (dict(latent_size=0), (1, 8, 8), "latent_size"),
    (dict(latent_size=64), (1, 8, 8), "latent_size"),
    (dict(family="gan"), (1, 8, 8), "model"),
    (dict(beta=-1.0), (1, 8, 8), "beta"),
    (dict(family="ae", beta=1.0), (1, 8, 8), "unknown key 'beta'"),
    (dict(likelihood="poisson"), (1, 8, 8), "likelihood"),
    (dict(family="gaussian_vae", vae_type="vae-2"), (1, 8, 8), "weight_constraint"),
    (dict(family="gaussian_vae", vae_type="vae-9"), (1, 8, 8), "vae_type"),
])
def test_bad_configs_name_the_key(values, shape, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        build_model(model_config(values), shape)


def test_gaussian_fixed_entropy_constant():
    # With x == mean the NLL is D (log sigma + log(2 pi)/2): the Gaussian normaliser alone.
    x = torch.zeros(1, 10)
    nll = build_likelihood("gaussian_fixed", 0.5).nll(x, x)
    assert float(nll) == pytest.approx(10 * (math.log(0.5) + 0.5 * math.log(2 * math.pi)))
