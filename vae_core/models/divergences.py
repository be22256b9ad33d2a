"""Closed-form divergences between diagonal Gaussians."""

from __future__ import annotations

import torch


def gaussian_kl(
    mu: torch.Tensor, logvar: torch.Tensor,
    prior_mu: torch.Tensor | float = 0.0, prior_var: torch.Tensor | float = 1.0,
) -> torch.Tensor:
    """KL[N(mu, e^logvar) || N(m, v)] = 1/2 sum[(mu-m)^2/v + s^2/v - 1 - log s^2 + log v], per row."""
    prior_var = torch.as_tensor(prior_var, dtype=mu.dtype, device=mu.device)
    terms = ((mu - prior_mu) ** 2 + logvar.exp()) / prior_var - 1.0 - logvar + prior_var.log()
    return 0.5 * terms.sum(-1)
