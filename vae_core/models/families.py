"""Model families sharing one training step; each variant overrides only the terms it changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from pydantic import NonNegativeFloat
from torch import nn

from vae_core.models.config import ModelConfig
from vae_core.models.divergences import gaussian_kl
from vae_core.models.likelihoods import Likelihood


class AEConfig(ModelConfig):
    family: Literal["ae"] = "ae"

    @property
    def stochastic(self) -> bool:
        return False


class VAEConfig(ModelConfig):
    """A beta-VAE: the VAE config plus the KL weight (beta = 1: the ELBO)."""

    family: Literal["vae"] = "vae"
    beta: NonNegativeFloat = 1.0


@dataclass
class ModelOutput:
    """Every term of the objective, batch means of per-sample sums, so each one can be logged."""

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor
    z: torch.Tensor
    out: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)
    neg_elbo: torch.Tensor | None = None  # recon + KL at beta 1: comparable across betas

    def terms(self) -> dict[str, torch.Tensor]:
        terms = {"loss": self.loss, "recon": self.recon, "kl": self.kl}
        if self.neg_elbo is not None:
            terms["neg_elbo"] = self.neg_elbo
        return terms


class AutoEncoder(nn.Module):
    """Deterministic encoder; loss = -log p(x|z) under the chosen likelihood (comparable to a VAE).

    Hooks the trainer uses, all optional for a family to override: `parameter_groups` (named
    parameters that may get their own learning rate), `after_step` (a constraint applied after
    each optimiser step), `kl_scale` (what a KL schedule moves) and `step_metrics`.
    """

    family = "ae"
    bounds_likelihood = False  # True where recon + KL is a negative ELBO (a KL to a prior)

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.kl_scale = 1.0

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.encoder(x)

    def sample_latent(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        return mu

    def regulariser(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        return torch.zeros(mu.shape[0], device=mu.device)

    def regulariser_weight(self) -> float:
        return 0.0

    def forward(self, x: torch.Tensor) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = self.sample_latent(mu, logvar)
        out = self.decoder(z)
        recon = self.likelihood.nll(x, out).mean()
        kl = self.regulariser(mu, logvar).mean()
        loss = recon + self.regulariser_weight() * kl
        neg_elbo = recon + kl if self.bounds_likelihood else None
        return ModelOutput(loss, recon, kl, z, out, self.likelihood.logs(), neg_elbo)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {}

    def after_step(self) -> None:
        """Called after every optimiser step."""

    def step_metrics(self, output: ModelOutput) -> dict[str, float]:
        """What per-step logging records for one training batch."""
        return {f"step/{name}": float(value.detach()) for name, value in output.terms().items()}


class VAE(AutoEncoder):
    """Gaussian encoder, standard normal prior, KL weighted by beta (beta = 1: the ELBO)."""

    family = "vae"
    bounds_likelihood = True

    def __init__(self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood,
                 beta: float = 1.0) -> None:
        super().__init__(encoder, decoder, likelihood)
        self.beta = beta

    def sample_latent(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()

    def regulariser(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        return gaussian_kl(mu, logvar)

    def regulariser_weight(self) -> float:
        return self.beta * self.kl_scale
