"""S4: entropy formulas, the Gaussian VAE types, their options and refusals, against independent
computations (scipy, torch.distributions, numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from vae_core.config import ConfigError, typed
from vae_core.data import load_dataset
from vae_core.experiment import ExperimentConfig
from vae_core.models import build_model, model_config
from vae_core.models.entropies import (
    active_latents,
    decoder_entropy,
    encoder_entropy,
    entropy_sum,
    gaussian_entropy,
    prior_entropy,
    relative_gap,
)
from vae_core.models.gaussian_vae import GaussianVAEConfig
from vae_core.training import Trainer, TrainerConfig
from vae_core.training.schedules import linear_ramp

VAE_TYPES = GaussianVAEConfig.model_fields["vae_type"].annotation.__args__


def _spec(**values):
    return model_config(dict(family="gaussian_vae", **values))


# -- entropy formulas ---------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.0, 7.5])
def test_gaussian_entropy_matches_scipy(sigma):
    value = gaussian_entropy(torch.tensor(2 * math.log(sigma), dtype=torch.float64))
    assert float(value) == pytest.approx(stats.norm(scale=sigma).entropy(), rel=1e-12)


def test_prior_encoder_decoder_entropies_match_scipy():
    rng = np.random.default_rng(0)
    alpha = rng.uniform(0.2, 3.0, 5)
    tau = rng.uniform(0.05, 1.5, (8, 5))
    sigma_d = rng.uniform(0.1, 2.0, 7)
    sigma_z = rng.uniform(0.1, 2.0, (8, 7))
    t = lambda a: torch.tensor(2 * np.log(a))  # noqa: E731 - log-variances from scales
    assert float(prior_entropy(t(alpha))) == pytest.approx(stats.norm(scale=alpha).entropy().sum())
    assert float(encoder_entropy(t(tau))) == pytest.approx(stats.norm(scale=tau).entropy().sum(1).mean())
    assert float(decoder_entropy(t(sigma_d), 7)) == pytest.approx(stats.norm(scale=sigma_d).entropy().sum())
    assert float(decoder_entropy(t(np.array(0.4)), 7)) == pytest.approx(7 * stats.norm(scale=0.4).entropy())
    assert float(decoder_entropy(t(sigma_z), 7)) == pytest.approx(
        stats.norm(scale=sigma_z).entropy().sum(1).mean())


def test_standard_prior_entropy_is_the_collapse_level():
    # A collapsed latent's encoder entropy reaches the standard prior's, 1/2 log(2 pi e) ~ 1.419.
    assert float(prior_entropy(torch.zeros(1))) == pytest.approx(1.4189385, abs=1e-6)
    per_latent = torch.tensor([0.2, 1.41, -1.5, 0.99, 1.0])
    assert active_latents(per_latent) == 3


def test_entropy_sum_and_relative_gap():
    assert float(entropy_sum(torch.tensor(2.0), torch.tensor(-1.0), torch.tensor(0.5))) == -3.5
    assert relative_gap(-10.0, -10.5, -10.0) == pytest.approx(0.05)


# -- the Gaussian VAE types ---------------------------------------------------------------------
@pytest.mark.parametrize("vae_type", VAE_TYPES)
@pytest.mark.parametrize("arch", ["mlp", "conv32"])
def test_every_type_builds_and_its_terms_agree(vae_type, arch):
    shape = (3, 32, 32) if arch == "conv32" else (1, 8, 8)
    constraint = "rescale" if vae_type == "vae-2" else ""
    model = build_model(_spec(arch=arch, latent_size=3, vae_type=vae_type,
                              weight_constraint=constraint), shape)
    out = model(torch.rand(4, *shape))
    torch.testing.assert_close(out.elbo, -(out.recon + out.kl))
    torch.testing.assert_close(out.loss, out.recon + out.kl + out.penalty)
    torch.testing.assert_close(out.entropy_sum, -out.h_dec + out.h_enc - out.h_prior)
    assert out.out.shape == (4, *shape) and torch.isfinite(out.loss)
    out.loss.backward()


def test_reconstruction_and_kl_match_torch_distributions():
    torch.manual_seed(0)
    model = build_model(_spec(latent_size=3, vae_type="vae-2", weight_constraint="regularize"), (6,))
    with torch.no_grad():
        model.prior_log_var.copy_(torch.tensor([0.3, -0.7, 1.1]))
    x = torch.rand(5, 6)
    torch.manual_seed(1)
    parts = model.per_sample(x)
    nu, log_var = model.encode(x)
    sigma = (0.5 * model.dec_log_var).exp()
    expected_nll = -Normal(parts["mean"], sigma).log_prob(x).sum(1)
    expected_kl = kl_divergence(Normal(nu, (0.5 * log_var).exp()),
                                Normal(0.0, (0.5 * model.prior_log_var).exp())).sum(1)
    torch.testing.assert_close(parts["nll"], expected_nll)
    torch.testing.assert_close(parts["kl"], expected_kl)


def test_vae3_per_dimension_variance_in_the_likelihood():
    model = build_model(_spec(latent_size=2, vae_type="vae-3"), (5,))
    with torch.no_grad():
        model.dec_log_var.copy_(torch.linspace(-2, 1, 5))
    x = torch.rand(3, 5)
    parts = model.per_sample(x)
    scales = np.exp(0.5 * np.linspace(-2, 1, 5))
    expected = -stats.norm(parts["mean"].detach().numpy(), scales).logpdf(x.numpy()).sum(1)
    np.testing.assert_allclose(parts["nll"].detach().numpy(), expected, rtol=1e-5)
    assert float(parts["h_dec"][0]) == pytest.approx(stats.norm(scale=scales).entropy().sum(), rel=1e-5)


def test_rescale_keeps_decoder_column_norms_at_one():
    data = load_dataset("pca", n=600)
    model = build_model(_spec(n_layers=2, latent_size=3, vae_type="vae-2", weight_constraint="rescale"),
                        data.sample_shape)
    Trainer(model, data, TrainerConfig(epochs=3, batch_size=64, lr=0.05)).fit()
    weight = model.constrained_layer().weight.detach().numpy()
    np.testing.assert_allclose(np.linalg.norm(weight, axis=0), 1.0, atol=1e-5)
    assert not torch.allclose(model.prior_log_var, torch.zeros(3))  # the prior variances did learn


def test_regularize_penalty_formula():
    model = build_model(_spec(latent_size=3, vae_type="vae-2", weight_constraint="regularize"), (6,))
    weight = model.constrained_layer().weight.detach().numpy()
    expected = ((np.linalg.norm(weight, axis=0) ** 2 - 1) ** 2).sum()
    assert float(model(torch.rand(2, 6)).penalty) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("vae_type", ["vae-1", "vae-2", "vae-3"])
def test_optimal_variances_are_the_batch_optimum(vae_type):
    constraint = "rescale" if vae_type == "vae-2" else ""
    model = build_model(_spec(latent_size=2, vae_type=vae_type, weight_constraint=constraint,
                              optimal_variances=True), (6,))
    model.train()
    x = torch.rand(50, 6)
    out = model(x)
    residual = (x - out.out).detach().numpy() ** 2
    expected = residual.mean(0) if vae_type == "vae-3" else residual.mean()
    np.testing.assert_allclose(model.dec_log_var.exp().detach().numpy(), expected, rtol=1e-5)
    if vae_type == "vae-2":
        nu, log_var = (t.detach().numpy() for t in model.encode(x))
        np.testing.assert_allclose(model.prior_log_var.exp().detach().numpy(),
                                   (nu**2 + np.exp(log_var)).mean(0), rtol=1e-5)


def test_variance_parameters_get_their_own_learning_rate():
    data = load_dataset("pca", n=300)
    model = build_model(_spec(latent_size=2, vae_type="vae-2", weight_constraint="rescale"),
                        data.sample_shape)
    trainer = Trainer(model, data, TrainerConfig(epochs=1, lr=1e-3, group_lr={"variances": 0.05}))
    network, variances = trainer.optimizer.param_groups
    assert network["lr"] == 1e-3 and variances["lr"] == 0.05
    assert {id(p) for p in variances["params"]} == {id(model.dec_log_var), id(model.prior_log_var)}


def test_kl_annealing_is_linear_over_the_first_30_percent():
    weights = [linear_ramp(step, 1000, 0.2, 0.3) for step in (0, 150, 300, 301, 999)]
    assert weights == pytest.approx([0.2, 0.6, 1.0, 1.0, 1.0])


# -- refusals before any run --------------------------------------------------------------------
@pytest.mark.parametrize(("values", "key"), [
    ({"vae_type": "vae-2"}, "weight_constraint"),
    ({"vae_type": "vae-1", "weight_constraint": "rescale"}, "weight_constraint"),
    ({"vae_type": "vae-3", "weight_constraint": "regularize"}, "weight_constraint"),
    ({"vae_type": "vae-2", "weight_constraint": "clip"}, "weight_constraint"),
    ({"vae_type": "sigma_z", "optimal_variances": True}, "optimal_variances"),
    ({"vae_type": "vae-0", "optimal_variances": True}, "optimal_variances"),
    ({"vae_type": "vae-4"}, "vae_type"),
    ({"log_every_steps": -1}, "log_every_steps"),
    ({"kl_start": 1.5}, "kl_start"),
    ({"kl_anneal": True}, "kl_anneal"),
    ({"group_lr": {"variances": 0}}, "group_lr"),
])
def test_invalid_combinations_are_refused_naming_the_key(values, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        typed(ExperimentConfig, {"model": "gaussian_vae", "dataset": "pca", **values}, "train")


def test_an_unknown_parameter_group_is_refused():
    model = build_model(_spec(latent_size=2, vae_type="vae-1"), (6,))
    data = load_dataset("pca", n=300, D=6)
    with pytest.raises(ConfigError, match="^group_lr: .*allowed groups: variances"):
        Trainer(model, data, TrainerConfig(group_lr={"decoder": 0.1}))
