"""Decoder likelihoods p(x|z) behind one interface: per-sample negative log-likelihood and mean.

The decoder's raw output is the likelihood's parameter (logits for Bernoulli, the mean for the
Gaussians); a learned scale lives in the likelihood module so the optimiser sees it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.flatten(1).sum(1)


class Likelihood(nn.Module):
    name = "base"

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) summed over data dimensions, one value per sample."""
        raise NotImplementedError

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def logs(self) -> dict[str, float]:
        return {}


class Bernoulli(Likelihood):
    name = "bernoulli"

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return _per_sample(F.binary_cross_entropy_with_logits(out, x, reduction="none"))

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class GaussianFixed(Likelihood):
    """N(x; out, sigma^2) with sigma fixed by the configuration."""

    name = "gaussian_fixed"

    def __init__(self, sigma: float) -> None:
        super().__init__()
        self.register_buffer("log_sigma", torch.tensor(math.log(sigma)))

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        log_sigma = self.log_sigma
        return _per_sample(0.5 * ((x - out) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * LOG_2PI)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def logs(self) -> dict[str, float]:
        return {"sigma": float(self.log_sigma.exp())}


class GaussianLearned(GaussianFixed):
    """N(x; out, sigma^2) with one learned scalar sigma (initialised at `sigma`)."""

    name = "gaussian_learned"

    def __init__(self, sigma: float) -> None:
        super().__init__(sigma)
        del self.log_sigma
        self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma)))


LIKELIHOODS: dict[str, type[Likelihood]] = {
    cls.name: cls for cls in (Bernoulli, GaussianFixed, GaussianLearned)
}


def build_likelihood(name: str, sigma: float) -> Likelihood:
    cls = LIKELIHOODS[name]
    return cls() if cls is Bernoulli else cls(sigma)
