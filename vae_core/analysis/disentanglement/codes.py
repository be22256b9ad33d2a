"""A trained network as the metrics see it: images -> the encoder's mean code, and the mean KL
to the prior of each latent dimension (which dimensions UDR counts as active)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from vae_core.models.divergences import gaussian_kl


@torch.no_grad()
def encode_means(model: nn.Module, images: np.ndarray, batch_size: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(mu (n, K), KL (n, K) per dimension) in eval mode, float64; an autoencoder has no
    posterior, so every dimension's KL is +inf (UDR counts all its dimensions as active)."""
    was_training = model.training
    model.eval()
    means, kls = [], []
    for batch in torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).split(batch_size):
        mu, logvar = model.encode(batch)
        means.append(mu.double())
        kls.append(torch.full_like(mu, torch.inf, dtype=torch.float64) if logvar is None
                   else gaussian_kl(mu[..., None], logvar[..., None]).double())
    model.train(was_training)
    return torch.cat(means).numpy(), torch.cat(kls).numpy()


def representation(model: nn.Module, batch_size: int) -> Callable[[np.ndarray], np.ndarray]:
    """The `represent` function the metrics call: images (n, C, H, W) -> mean codes (n, K)."""
    return lambda images: encode_means(model, images, batch_size)[0]
