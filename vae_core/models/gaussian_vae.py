"""Gaussian VAEs of study S4: VAE-0..3 and the sigma(z) decoder, with their three entropies.

q(z|x) = N(nu, tau^2), p(x|z) = N(mu_dec(z), sigma^2), prior N(0, alpha^2). The types differ in
which variances are learned: VAE-0 none (sigma^2 fixed), VAE-1 a scalar sigma^2, VAE-2 also the
prior's alpha_h^2 (which needs a constraint on the decoder's first layer, or the model can trade
alpha against the weights), VAE-3 one sigma_d^2 per data dimension, sigma_z a second decoder
network that outputs log sigma^2(z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import NonNegativeFloat, model_validator
from torch import nn

from vae_core.models.config import ModelConfig
from vae_core.models.divergences import gaussian_kl
from vae_core.models.entropies import (
    active_latents,
    decoder_entropy,
    encoder_entropy_per_latent,
    entropy_sum,
    gaussian_entropy,
    prior_entropy,
    relative_gap,
)
from vae_core.models.families import AutoEncoder, ModelOutput
from vae_core.models.likelihoods import LOG_2PI, GaussianFixed

WEIGHT_CONSTRAINTS = ("rescale", "regularize")
LEARNABLE_PRIOR = ("vae-2",)
CONSTRAINT_GAMMA = 1.0


class GaussianVAEConfig(ModelConfig):
    """S4's Gaussian VAE: which variances are learned, the constraint VAE-2 needs, and beta."""

    family: Literal["gaussian_vae"] = "gaussian_vae"
    likelihood: str = "gaussian_learned"
    vae_type: Literal["vae-0", "vae-1", "vae-2", "vae-3", "sigma_z"] = "vae-1"
    weight_constraint: Literal["", "rescale", "regularize"] = ""
    optimal_variances: bool = False  # sigma^2 (and alpha^2) set to their per-batch optimum
    beta: NonNegativeFloat = 1.0

    @model_validator(mode="after")
    def _combinations(self) -> GaussianVAEConfig:
        """Refuse the combinations that cannot work, naming the key (before any run)."""
        if self.weight_constraint and self.vae_type not in LEARNABLE_PRIOR:
            raise ValueError(
                f"weight_constraint: {self.weight_constraint!r} only applies to a type with learnable "
                f"prior variances ({', '.join(LEARNABLE_PRIOR)}); {self.vae_type} has a fixed standard "
                f"prior, so leave weight_constraint empty")
        if not self.weight_constraint and self.vae_type in LEARNABLE_PRIOR:
            raise ValueError(
                f"weight_constraint: {self.vae_type} learns the prior variances and needs a constraint "
                f"on the decoder's first layer; allowed values: {', '.join(WEIGHT_CONSTRAINTS)}")
        if self.optimal_variances and self.vae_type in ("sigma_z", "vae-0"):
            raise ValueError(f"optimal_variances: {self.vae_type} has no learned variance with a "
                             f"per-batch closed-form optimum; allowed with vae-1, vae-2, vae-3")
        return self


@dataclass
class EntropyOutput(ModelOutput):
    """ModelOutput plus the ELBO, the three entropies, their sum and per-latent encoder entropies."""

    elbo: torch.Tensor | None = None
    h_dec: torch.Tensor | None = None
    h_enc: torch.Tensor | None = None
    h_prior: torch.Tensor | None = None
    entropy_sum: torch.Tensor | None = None
    penalty: torch.Tensor | None = None
    enc_entropy_per_latent: torch.Tensor | None = None

    def terms(self) -> dict[str, torch.Tensor]:
        return {**super().terms(), "elbo": self.elbo, "h_dec": self.h_dec, "h_enc": self.h_enc,
                "h_prior": self.h_prior, "entropy_sum": self.entropy_sum, "penalty": self.penalty}


class GaussianVAE(AutoEncoder):
    """One class for all S4 types; the KL weight is beta times the schedule's `kl_scale`."""

    family = "gaussian_vae"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, vae_type: str, latent_size: int,
                 sample_shape: tuple[int, ...], sigma: float = 1.0, beta: float = 1.0,
                 weight_constraint: str = "", optimal_variances: bool = False,
                 var_decoder: nn.Module | None = None) -> None:
        super().__init__(encoder, decoder, GaussianFixed(1.0))  # its mean() is the identity
        self.vae_type = vae_type
        self.weight_constraint = weight_constraint
        self.optimal_variances = optimal_variances
        self.beta = beta
        self.data_dim = math.prod(sample_shape)
        log_var = torch.tensor(2 * math.log(sigma))
        if vae_type == "vae-0":
            self.register_buffer("dec_log_var", log_var)
        elif vae_type == "vae-3":
            self.dec_log_var = nn.Parameter(log_var.repeat(self.data_dim))
        elif vae_type == "sigma_z":
            self.var_decoder = var_decoder
        else:
            self.dec_log_var = nn.Parameter(log_var)
        zeros = torch.zeros(latent_size)
        if vae_type in LEARNABLE_PRIOR:
            self.prior_log_var = nn.Parameter(zeros)
        else:
            self.register_buffer("prior_log_var", zeros)
        if weight_constraint == "rescale":
            self.apply_weight_constraint()

    @property
    def kl_weight(self) -> float:
        return self.beta * self.kl_scale

    # -- the variances ----------------------------------------------------------------------
    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """The learned decoder and prior variances, which may get their own learning rate."""
        variances = [p for name, p in self.named_parameters(recurse=False)
                     if name in ("dec_log_var", "prior_log_var")]
        return {"variances": variances} if variances else {}

    def after_step(self) -> None:
        self.apply_weight_constraint()

    def constrained_layer(self) -> nn.Linear:
        """The decoder's first linear layer, whose columns W_h the constraint acts on."""
        return next(m for m in self.decoder.modules() if isinstance(m, nn.Linear))

    @torch.no_grad()
    def apply_weight_constraint(self) -> None:
        """'rescale': set every column norm ||W_h|| to 1 (called after each optimiser step)."""
        if self.weight_constraint == "rescale":
            weight = self.constrained_layer().weight
            weight.div_(weight.norm(dim=0, keepdim=True).clamp_min(1e-12))

    def constraint_penalty(self) -> torch.Tensor:
        """'regularize': gamma sum_h (||W_h||^2 - 1)^2."""
        if self.weight_constraint != "regularize":
            return torch.zeros(())
        weight = self.constrained_layer().weight
        return CONSTRAINT_GAMMA * ((weight.pow(2).sum(0) - 1.0) ** 2).sum()

    @torch.no_grad()
    def _set_optimal_variances(self, x: torch.Tensor, mean: torch.Tensor, nu: torch.Tensor,
                               enc_log_var: torch.Tensor) -> None:
        """sigma^2 = mean ||x - mu_dec||^2 / D (per dimension for VAE-3); alpha_h^2 = mean(nu^2 + tau^2)."""
        squared = (x - mean).flatten(1).pow(2)
        if self.vae_type == "vae-3":
            self.dec_log_var.copy_(squared.mean(0).clamp_min(1e-8).log())
        else:
            self.dec_log_var.copy_(squared.mean().clamp_min(1e-8).log())
        if self.vae_type in LEARNABLE_PRIOR:
            self.prior_log_var.copy_((nu.pow(2) + enc_log_var.exp()).mean(0).log())

    def decoder_log_var(self, z: torch.Tensor) -> torch.Tensor:
        """log sigma^2: a scalar, a (D,) vector, or (N, D) for sigma(z)."""
        if self.vae_type == "sigma_z":
            return self.var_decoder(z).flatten(1)
        return self.dec_log_var

    # -- the objective ----------------------------------------------------------------------
    def per_sample(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """One-sample ELBO terms and entropies per data point (the estimators of S4's table)."""
        nu, enc_log_var = self.encode(x)
        z = nu + torch.randn_like(nu) * (0.5 * enc_log_var).exp()
        mean = self.decoder(z)
        if self.training and self.optimal_variances:
            self._set_optimal_variances(x, mean, nu, enc_log_var)
        dec_log_var = self.decoder_log_var(z)
        diff = (x - mean).flatten(1)
        nll = 0.5 * (diff.pow(2) * (-dec_log_var).exp() + dec_log_var + LOG_2PI).sum(1)
        if dec_log_var.dim() == 2:
            h_dec = gaussian_entropy(dec_log_var).sum(1)
        else:
            h_dec = decoder_entropy(dec_log_var, self.data_dim).expand(x.shape[0])
        kl = gaussian_kl(nu, enc_log_var, 0.0, self.prior_log_var.exp())
        return {"nll": nll, "kl": kl, "elbo": -(nll + kl), "h_dec": h_dec,
                "h_enc": gaussian_entropy(enc_log_var).sum(1), "z": z, "mean": mean,
                "enc_log_var": enc_log_var}

    def forward(self, x: torch.Tensor) -> EntropyOutput:
        parts = self.per_sample(x)
        recon, kl = parts["nll"].mean(), parts["kl"].mean()
        penalty = self.constraint_penalty().to(x.device)
        h_dec, h_enc = parts["h_dec"].mean(), parts["h_enc"].mean()
        h_prior = prior_entropy(self.prior_log_var)
        return EntropyOutput(
            loss=recon + self.kl_weight * kl + penalty, recon=recon, kl=kl, z=parts["z"],
            out=parts["mean"], logs=self.logs(), neg_elbo=recon + kl, elbo=parts["elbo"].mean(),
            h_dec=h_dec,
            h_enc=h_enc, h_prior=h_prior, entropy_sum=entropy_sum(h_dec, h_enc, h_prior),
            penalty=penalty, enc_entropy_per_latent=encoder_entropy_per_latent(parts["enc_log_var"]))

    def logs(self) -> dict[str, float]:
        logs = {"kl_weight": float(self.kl_weight)}
        if self.vae_type != "sigma_z":
            logs["sigma2_mean"] = float(self.dec_log_var.detach().exp().mean())
        logs["alpha2_mean"] = float(self.prior_log_var.detach().exp().mean())
        return logs

    def step_metrics(self, output: EntropyOutput) -> dict[str, float]:
        """S4's per-step record: the ELBO, the three entropies, their sum and gap, per-latent H_enc."""
        elbo, total = float(output.elbo.detach()), float(output.entropy_sum.detach())
        per_latent = output.enc_entropy_per_latent.detach()
        # detached first: float() of a tensor that requires grad warns (torch >= 2.6)
        metrics = {"step/elbo": elbo, "step/entropy_sum": total,
                   "step/h_dec": float(output.h_dec.detach()), "step/h_enc": float(output.h_enc.detach()),
                   "step/h_prior": float(output.h_prior.detach()),
                   "step/rel_gap": relative_gap(elbo, total, elbo), "step/beta": self.kl_weight,
                   "step/active_latents": float(active_latents(per_latent))}
        metrics.update({f"step/h_enc_latent_{h}": float(v) for h, v in enumerate(per_latent)})
        return metrics
