"""The three entropies of a Gaussian VAE and their sum (S4), as pure functions of log-variances.

At a stationary point of a Gaussian VAE with learned decoder variance the ELBO equals
-H_dec + H_enc - H_prior; these functions compute each side without sampling the ELBO.
"""

from __future__ import annotations

import math

import torch

LOG_2PI_E = math.log(2 * math.pi * math.e)
ACTIVE_THRESHOLD = 1.0  # nats: a latent whose encoder entropy stays below this carries information


def gaussian_entropy(log_var: torch.Tensor) -> torch.Tensor:
    """Elementwise differential entropy of N(., e^log_var): 1/2 log(2 pi e sigma^2)."""
    return 0.5 * (LOG_2PI_E + log_var)


def prior_entropy(prior_log_var: torch.Tensor) -> torch.Tensor:
    """H_prior = sum_h 1/2 log(2 pi e alpha_h^2)."""
    return gaussian_entropy(prior_log_var).sum()


def encoder_entropy_per_latent(enc_log_var: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of 1/2 log(2 pi e tau_h^2(x)), one value per latent (collapse shows here)."""
    return gaussian_entropy(enc_log_var).mean(0)


def encoder_entropy(enc_log_var: torch.Tensor) -> torch.Tensor:
    """H_enc = mean_x sum_h 1/2 log(2 pi e tau_h^2(x)); enc_log_var is (N, H)."""
    return encoder_entropy_per_latent(enc_log_var).sum()


def decoder_entropy(dec_log_var: torch.Tensor, data_dim: int) -> torch.Tensor:
    """H_dec = mean sum_d 1/2 log(2 pi e sigma_d^2).

    dec_log_var is a scalar (one shared variance), a (D,) vector (per dimension) or an (N, D)
    batch of sigma(z) outputs, averaged over the batch (the expectation over z).
    """
    entropy = gaussian_entropy(dec_log_var)
    if entropy.dim() == 0:
        return entropy * data_dim
    if entropy.dim() == 1:
        return entropy.sum()
    return entropy.flatten(1).sum(1).mean()


def entropy_sum(h_dec: torch.Tensor, h_enc: torch.Tensor, h_prior: torch.Tensor) -> torch.Tensor:
    """-H_dec + H_enc - H_prior: the value the ELBO converges to."""
    return -h_dec + h_enc - h_prior


def relative_gap(elbo: float, entropies: float, reference: float) -> float:
    """(ELBO - entropy sum) / |reference| (the final ELBO of the run, or the current one)."""
    return (elbo - entropies) / abs(reference) if reference else float("nan")


def active_latents(per_latent_entropy: torch.Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """Latents whose encoder entropy stays below `threshold`; collapsed ones approach the prior's."""
    return int((per_latent_entropy < threshold).sum())
