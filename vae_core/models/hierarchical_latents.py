"""The top latent z of study S2's hierarchical VAEs, and the schedules that act on its terms.

Two families for q(z|x), behind one small interface (params from features, a sample, the rate
R(z) = KL[q(z|x) || p(z)] in closed form, log-densities for importance weighting, a point
estimate for reconstructions, features for probes, draws from the prior):
- a diagonal Gaussian with softplus scale against p(z) = N(0, I);
- a categorical over `z_dims` classes against the uniform prior, trained through the
  Gumbel-softmax relaxation. In eval mode its sample is a hard one-hot draw, so test losses and
  importance weights are those of the discrete model the relaxation approximates.
Also the LVAE precision-weighted merge, the Gumbel temperature and the KL warm-up schedules.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, OneHotCategorical, RelaxedOneHotCategorical

from vae_core.models.divergences import gaussian_kl

GUMBEL_DECAY = 0.007
GUMBEL_MIN_TEMPERATURE = 0.4
WARMUP_FRACTION = 5  # the KL weight ramps over the first 1/5 of the epochs


def gumbel_temperature(epoch: int) -> float:
    """max(exp(-0.007 epoch), 0.4): the relaxation sharpens as training goes on (S2)."""
    return max(math.exp(-GUMBEL_DECAY * epoch), GUMBEL_MIN_TEMPERATURE)


def kl_weight(epoch: int, epochs: int) -> float:
    """Linear KL warm-up over the first fifth of `epochs` (LVAE): epoch / (epochs // 5), at most 1.

    Epochs count from 1 as the Trainer's do (0 is the untrained evaluation, weight 0); with
    fewer than 5 epochs there is no ramp and the weight is 1."""
    ramp = epochs // WARMUP_FRACTION
    return 1.0 if ramp == 0 else min(1.0, epoch / ramp)


def precision_weighted_merge(mu_hat: torch.Tensor, std_hat: torch.Tensor, mu_p: torch.Tensor,
                             std_p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """LVAE: fuse a bottom-up estimate N(mu_hat, s_hat^2) with the top-down prior N(mu_p, s_p^2).

    sigma^2 = s_hat^2 s_p^2 / (s_hat^2 + s_p^2), mu = (mu_hat s_p^2 + mu_p s_hat^2) / (s_hat^2 + s_p^2);
    returns (mu, sigma)."""
    var_hat, var_p = std_hat**2, std_p**2
    total = var_hat + var_p
    return (mu_hat * var_p + mu_p * var_hat) / total, torch.sqrt(var_hat * var_p / total)


class GaussianLatent(nn.Module):
    """q(z|x) = N(mu, diag sigma^2), sigma = softplus(linear); prior N(0, I). Params: (mu, std)."""

    family = "gaussian"

    def __init__(self, d_in: int, z_dims: int) -> None:
        super().__init__()
        self.z_dims = z_dims
        self.mu = nn.Linear(d_in, z_dims)
        self.pre_std = nn.Linear(d_in, z_dims)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mu(h), F.softplus(self.pre_std(h))

    def sample(self, params: tuple[torch.Tensor, torch.Tensor], temperature: float,
               hard: bool) -> torch.Tensor:
        return Normal(*params).rsample()

    def rate(self, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mu, std = params
        return gaussian_kl(mu, 2 * std.log())

    def log_ratio(self, z: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """log p(z) - log q(z|x) per row."""
        return (Normal(0.0, 1.0).log_prob(z) - Normal(*params).log_prob(z)).sum(1)

    def point(self, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return params[0]

    def features(self, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return params[0]

    def log_variance(self, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor | None:
        return 2 * params[1].log()

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.z_dims, generator=generator).to(self.mu.weight.device)


class CategoricalLatent(nn.Module):
    """q(z|x) = Cat(softmax(linear)) over `z_dims` classes, z one-hot; uniform prior. Params: log-probs.

    Training samples are Gumbel-softmax relaxations at the current temperature; eval samples
    (`hard`) are one-hot draws from the categorical itself."""

    family = "gumbel_softmax"

    def __init__(self, d_in: int, z_dims: int) -> None:
        super().__init__()
        self.z_dims = z_dims
        self.logits = nn.Linear(d_in, z_dims)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.logits(h), dim=-1)

    def sample(self, log_probs: torch.Tensor, temperature: float, hard: bool) -> torch.Tensor:
        if hard:
            return OneHotCategorical(logits=log_probs).sample()
        return RelaxedOneHotCategorical(torch.tensor(temperature), logits=log_probs).rsample()

    def rate(self, log_probs: torch.Tensor) -> torch.Tensor:
        """KL[Cat(pi) || uniform over K] = sum_k pi_k (log pi_k + log K)."""
        return (log_probs.exp() * (log_probs + math.log(self.z_dims))).sum(-1)

    def log_ratio(self, z: torch.Tensor, log_probs: torch.Tensor) -> torch.Tensor:
        """log p(z) - log q(z|x) for one-hot z."""
        return -math.log(self.z_dims) - (z * log_probs).sum(1)

    def point(self, log_probs: torch.Tensor) -> torch.Tensor:
        """The most probable class, one-hot (the reconstruction's z)."""
        return F.one_hot(log_probs.argmax(-1), self.z_dims).to(log_probs.dtype)

    def features(self, log_probs: torch.Tensor) -> torch.Tensor:
        return log_probs.exp()

    def log_variance(self, log_probs: torch.Tensor) -> torch.Tensor | None:
        return None

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        classes = torch.randint(self.z_dims, (n,), generator=generator)
        return F.one_hot(classes, self.z_dims).float().to(self.logits.weight.device)


Z_FAMILIES: dict[str, type[nn.Module]] = {cls.family: cls for cls in (GaussianLatent, CategoricalLatent)}
