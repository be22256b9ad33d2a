"""A linear Gaussian VAE (VAE-1 with linear maps and x-independent encoder variances).

Everything is closed form: the ELBO (the expectation over q is analytic for a linear decoder),
the entropy sum, and the model's exact marginal log N(x; b, W W^T + sigma^2 I). Used by S4's
streaming and verification experiments, where the ELBO must be compared with the truth.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import PositiveFloat
from torch import nn

from vae_core.models.config import ModelConfig
from vae_core.models.entropies import gaussian_entropy
from vae_core.models.families import ModelOutput

LOG_2PI = math.log(2 * math.pi)


class LinearVAEConfig(ModelConfig):
    """The linear VAE has no architecture or likelihood to choose: only its size and init scale."""

    family: Literal["linear_vae"] = "linear_vae"
    likelihood: Literal["gaussian_learned"] = "gaussian_learned"
    init_scale: PositiveFloat = 0.1


class LinearVAE(nn.Module):
    """q(z|x) = N(V (x - b), diag tau^2), p(x|z) = N(W z + b, sigma^2 I), prior N(0, I)."""

    def __init__(self, data_dim: int, latent_size: int, init_scale: float = 0.1) -> None:
        super().__init__()
        self.W = nn.Parameter(init_scale * torch.randn(data_dim, latent_size))
        self.b = nn.Parameter(torch.zeros(data_dim))
        self.V = nn.Parameter(init_scale * torch.randn(latent_size, data_dim))
        self.enc_log_var = nn.Parameter(torch.zeros(latent_size))
        self.dec_log_var = nn.Parameter(torch.zeros(()))

    @property
    def data_dim(self) -> int:
        return self.W.shape[0]

    @property
    def latent_size(self) -> int:
        return self.W.shape[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.b) @ self.V.T

    def forward(self, x: torch.Tensor) -> ModelOutput:
        """The trainer's view: loss = -ELBO in closed form, split into reconstruction and KL."""
        x = x.flatten(1)
        nu = self.encode(x)
        kl = self._kl(nu)
        elbo = self.elbo(x)
        return ModelOutput(loss=-elbo.mean(), recon=(-elbo - kl).mean(), kl=kl.mean(), z=nu,
                           out=nu @ self.W.T + self.b, neg_elbo=-elbo.mean())

    def _kl(self, nu: torch.Tensor) -> torch.Tensor:
        return 0.5 * (nu.pow(2) + self.enc_log_var.exp() - 1.0 - self.enc_log_var).sum(1)

    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample closed-form ELBO: E_q||x - Wz - b||^2 = ||x - W nu - b||^2 + sum_h tau_h^2 ||W_h||^2."""
        nu = self.encode(x)
        residual = (x - nu @ self.W.T - self.b).pow(2).sum(1)
        spread = (self.enc_log_var.exp() * self.W.pow(2).sum(0)).sum()
        sigma2 = self.dec_log_var.exp()
        expected_ll = -0.5 * (self.data_dim * (LOG_2PI + self.dec_log_var) + (residual + spread) / sigma2)
        return expected_ll - self._kl(nu)

    def sampled_elbo(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample one-draw Monte Carlo ELBO (what a non-linear VAE would report)."""
        nu = self.encode(x)
        z = nu + torch.randn_like(nu) * (0.5 * self.enc_log_var).exp()
        squared = (x - z @ self.W.T - self.b).pow(2).sum(1)
        ll = -0.5 * (self.data_dim * (LOG_2PI + self.dec_log_var) + squared / self.dec_log_var.exp())
        return ll - self._kl(nu)

    def entropy_sum(self) -> torch.Tensor:
        """-H_dec + H_enc - H_prior, all three constant in x for this model."""
        h_dec = self.data_dim * gaussian_entropy(self.dec_log_var)
        h_enc = gaussian_entropy(self.enc_log_var).sum()
        h_prior = self.latent_size * gaussian_entropy(torch.zeros(()))
        return -h_dec + h_enc - h_prior

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact per-sample log N(x; b, W W^T + sigma^2 I)."""
        cov = self.W @ self.W.T + self.dec_log_var.exp() * torch.eye(self.data_dim)
        return torch.distributions.MultivariateNormal(self.b, covariance_matrix=cov).log_prob(x)
