"""S3's optional non-standard Gaussian prior p(z) = N(m, diag v): a VAE whose KL is taken to it.

Only the regulariser changes (gaussian_kl already takes a prior mean and variance), and
generation draws z from the same N(m, v), so samples come from the prior the model was fitted to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import model_validator
from torch import nn

from vae_core.config import ConfigError
from vae_core.models.divergences import gaussian_kl
from vae_core.models.families import VAE, VAEConfig
from vae_core.models.likelihoods import Likelihood


def prior_tensor(key: str, value: float | Sequence[float]) -> torch.Tensor:
    """A prior mean or variance as a float32 tensor (a scalar, or one value per latent)."""
    try:
        tensor = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: expected a number or a list of numbers, got {value!r}") from None
    if tensor.ndim > 1 or not bool(torch.isfinite(tensor).all()):
        raise ConfigError(f"{key}: expected finite numbers (a scalar or one per latent), got {value!r}")
    return tensor


def draw_prior(n: int, latent_size: int, prior_mean: torch.Tensor | float = 0.0,
               prior_var: torch.Tensor | float = 1.0, seed: int | None = None) -> torch.Tensor:
    """n draws z ~ N(m, diag v), (n, latent_size); seeded draws use their own generator."""
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    eps = torch.randn(n, latent_size, generator=generator)
    return torch.as_tensor(prior_mean, dtype=eps.dtype) + eps * torch.as_tensor(prior_var).sqrt()


class PriorVAEConfig(VAEConfig):
    """A beta-VAE with prior N(prior_mean, diag prior_var): scalars, or one value per latent."""

    family: Literal["prior_vae"] = "prior_vae"  # type: ignore[assignment]
    prior_mean: float | list[float] = 0.0
    prior_var: float | list[float] = 1.0

    @model_validator(mode="after")
    def _prior(self) -> PriorVAEConfig:
        variances = self.prior_var if isinstance(self.prior_var, list) else [self.prior_var]
        if min(variances, default=1.0) <= 0:
            raise ConfigError(f"prior_var: must be > 0 (a variance), got {self.prior_var!r}; "
                              "give positive variances, e.g. 1.0")
        for key, value in (("prior_mean", self.prior_mean), ("prior_var", self.prior_var)):
            if isinstance(value, list) and len(value) != self.latent_size:
                raise ConfigError(f"{key}: {len(value)} values for latent_size {self.latent_size}; "
                                  f"give one number or {self.latent_size}")
        return self


class PriorVAE(VAE):
    """beta-VAE with prior N(m, v); m and v are buffers, so a checkpoint carries its prior."""

    family = "prior_vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood,
                 beta: float = 1.0, prior_mean: float | Sequence[float] = 0.0,
                 prior_var: float | Sequence[float] = 1.0) -> None:
        super().__init__(encoder, decoder, likelihood, beta)
        var = prior_tensor("prior_var", prior_var)
        if bool((var <= 0).any()):
            raise ConfigError(f"prior_var: must be > 0 (a variance), got {prior_var!r}; "
                              "give positive variances, e.g. 1.0")
        self.register_buffer("prior_mean", prior_tensor("prior_mean", prior_mean))
        self.register_buffer("prior_var", var)

    def regulariser(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        return gaussian_kl(mu, logvar, self.prior_mean, self.prior_var)

    def sample_prior(self, n: int, latent_size: int, seed: int | None = None) -> torch.Tensor:
        """z for generation, from this model's prior (on its device)."""
        z = draw_prior(n, latent_size, self.prior_mean.cpu(), self.prior_var.cpu(), seed)
        return z.to(self.prior_mean.device)
