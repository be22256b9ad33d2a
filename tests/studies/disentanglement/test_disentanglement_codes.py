"""The codes the metrics see: the encoder's mean in eval mode, batch-size independent, and each
dimension's KL to the prior as torch.distributions computes it (+inf for an autoencoder)."""

from __future__ import annotations

import numpy as np
import torch

from vae_core.analysis.disentanglement.codes import encode_means, representation
from vae_core.models import build_model, model_config


def test_means_and_kl_per_dimension_match_torch_distributions() -> None:
    torch.manual_seed(0)
    model = build_model(model_config({"family": "vae", "arch": "mlp", "latent_size": 5}), (3, 8, 8))
    model.train()
    images = np.random.default_rng(0).random((37, 3, 8, 8), dtype=np.float32)
    codes, kl = encode_means(model, images, batch_size=8)
    assert model.training  # put back as it was
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(torch.from_numpy(images))
    posterior = torch.distributions.Normal(mu.double(), (0.5 * logvar.double()).exp())
    expected = torch.distributions.kl_divergence(posterior, torch.distributions.Normal(0.0, 1.0))
    np.testing.assert_allclose(codes, mu.double().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(kl, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(representation(model, 100)(images), codes, rtol=1e-6, atol=1e-7)


def test_an_autoencoder_counts_every_dimension_as_active() -> None:
    model = build_model(model_config({"family": "ae", "arch": "mlp", "latent_size": 3}), (1, 8, 8))
    codes, kl = encode_means(model, np.zeros((4, 1, 8, 8), dtype=np.float32), batch_size=3)
    assert codes.shape == kl.shape == (4, 3) and np.isinf(kl).all()
