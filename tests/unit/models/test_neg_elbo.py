"""The beta-free negative ELBO every VAE-like family reports, and bits per dimension for images,
checked against torch.distributions on the same noise."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_core.data import load_dataset
from vae_core.models import build_model, model_config
from vae_core.training import Trainer, TrainerConfig


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def independent_neg_elbo(model, x: torch.Tensor, seed: int) -> float:
    """recon + KL (beta 1) with the same reparameterisation noise, from torch.distributions
    (digits are grey levels in [0, 1]: the continuous Bernoulli cross-entropy, unvalidated)."""
    torch.manual_seed(seed)
    mu, logvar = model.encode(x)
    std = (0.5 * logvar).exp()
    z = mu + torch.randn_like(mu) * std
    recon = -Bernoulli(logits=model.decoder(z), validate_args=False).log_prob(x).flatten(1).sum(1)
    kl = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(1)
    return float((recon + kl).mean())


@pytest.mark.parametrize("beta", [0.25, 4.0])
def test_neg_elbo_ignores_beta(digits, beta):
    torch.manual_seed(0)
    model = build_model(model_config({"latent_size": 3, "beta": beta}), digits.sample_shape).eval()
    x = digits.val[:50]
    torch.manual_seed(7)
    with torch.no_grad():
        output = model(x)
        expected = independent_neg_elbo(model, x, 7)
    assert float(output.terms()["neg_elbo"]) == pytest.approx(expected, rel=1e-5)
    # the loss is beta-weighted, the negative ELBO is not
    assert float(output.neg_elbo - output.loss) == pytest.approx((1 - beta) * float(output.kl), rel=1e-4)


def test_autoencoder_has_no_neg_elbo(digits):
    model = build_model(model_config({"family": "ae", "latent_size": 3}), digits.sample_shape)
    assert "neg_elbo" not in model(digits.val[:8]).terms()


def test_trainer_logs_neg_elbo_and_bits_per_dim(digits):
    torch.manual_seed(0)
    model = build_model(model_config({"latent_size": 2, "beta": 3.0}), digits.sample_shape)
    trainer = Trainer(model, digits, TrainerConfig(epochs=1, batch_size=64, seed=0))
    metrics = trainer.evaluate(digits.val, "val")
    assert metrics["val/neg_elbo"] == pytest.approx(metrics["val/recon"] + metrics["val/kl"], rel=1e-6)
    assert metrics["val/bits_per_dim"] == pytest.approx(metrics["val/neg_elbo"] / (64 * math.log(2)))
    train = trainer.train_epoch(1)
    assert train["train/bits_per_dim"] == pytest.approx(train["train/neg_elbo"] / (64 * math.log(2)))


def test_no_bits_per_dim_for_flat_data():
    from vae_core.training.trainer import bits_per_dim

    assert bits_per_dim({"val/neg_elbo": 10.0}, "val", (5,)) == {}
    assert bits_per_dim({"val/neg_elbo": 10.0}, "val", (3, 2, 2)) == {
        "val/bits_per_dim": pytest.approx(10.0 / (12 * math.log(2)))}
