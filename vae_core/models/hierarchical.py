"""Study S2's two-layer hierarchical VAEs, HVAE and LVAE (methods.md S2).

Generative model p(z) p(y|z) p(x|y); inference top-down q(z|x) q(y|z,x). The rates
R(z) = KL[q(z|x) || p(z)] and R(y|z) = KL[q(y|z,x) || p(y|z)] are analytic (nats) and weighted
separately: loss = -log p(x|y) + beta_y R(y|z) + beta_z R(z) (times a warm-up weight on the rates).
HVAE forms q(y|z,x) from its own x-branch and z; LVAE fuses a bottom-up estimate, read off the
q(z|x) encoder's second conv, with the prior p(y|z) by precision weighting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import Normal

from vae_core.models.divergences import gaussian_kl
from vae_core.models.families import AutoEncoder, ModelOutput
from vae_core.models.hierarchical_latents import (
    Z_FAMILIES,
    gumbel_temperature,
    kl_weight,
    precision_weighted_merge,
)
from vae_core.models.hierarchical_nets import (
    Y_SIDE,
    BottomUp,
    HvaeYPosterior,
    ImageGeometry,
    LvaeYEstimate,
    XDecoder,
    YPrior,
    image_geometry,
)
from vae_core.models.likelihoods import Likelihood

Gaussian = tuple[torch.Tensor, torch.Tensor]  # (mu, sigma)


def decoder_channels(likelihood: Likelihood, channels: int) -> int:
    """Channels the decoder must output: `likelihood.out_channels(C)` where defined, else C."""
    out_channels = getattr(likelihood, "out_channels", None)
    return channels if out_channels is None else out_channels(channels)


def _rate_y(q_y: Gaussian, p_y: Gaussian) -> torch.Tensor:
    (q_mu, q_std), (p_mu, p_std) = q_y, p_y
    return gaussian_kl(q_mu.flatten(1), 2 * q_std.log().flatten(1), p_mu.flatten(1), p_std.flatten(1) ** 2)


def _repeat(params: torch.Tensor | tuple[torch.Tensor, ...], times: int) -> torch.Tensor | tuple:
    """Stack `times` copies along the batch: rows s*B .. (s+1)*B - 1 are copy s."""
    if isinstance(params, tuple):
        return tuple(_repeat(p, times) for p in params)
    return params.repeat(times, *([1] * (params.dim() - 1)))


@dataclass
class HierarchicalOutput(ModelOutput):
    """ModelOutput plus both rates and the beta-free negative ELBO, in nats and bits per dimension."""

    rate_z: torch.Tensor | None = None
    rate_y: torch.Tensor | None = None
    neg_elbo: torch.Tensor | None = None
    data_dim: int = 1

    def terms(self) -> dict[str, torch.Tensor]:
        bits = math.log(2) * self.data_dim
        nats = {"rate_z": self.rate_z, "rate_y": self.rate_y, "neg_elbo": self.neg_elbo}
        return {**super().terms(), **nats, **{f"{name}_bpd": value / bits for name, value in nats.items()}}


@dataclass
class PosteriorSummary:
    """What evaluation reads off q: z's mean (class probabilities for a categorical z), its
    log-variance (Gaussian) or log-probabilities (categorical), and q(y|z,x)'s mean and
    log-variance, flattened, at the point estimate of z."""

    z_mean: torch.Tensor
    z_logvar: torch.Tensor | None
    z_log_probs: torch.Tensor | None
    y_mean: torch.Tensor
    y_logvar: torch.Tensor


class HierarchicalVAE(nn.Module):
    """p(z) p(y|z) p(x|y) with q(z|x) q(y|z,x); subclasses say how q(y|z,x) is formed."""

    family = "hierarchical"
    arch = ""

    def __init__(self, sample_shape: tuple[int, ...], likelihood: Likelihood, q_family: str = "gaussian",
                 conv_channels: int = 16, z_dims: int = 10, beta_y: float = 1.0, beta_z: float = 1.0,
                 kl_warmup: bool = False) -> None:
        super().__init__()
        self.geometry: ImageGeometry = image_geometry(sample_shape)
        self.sample_shape = tuple(sample_shape)
        self.data_dim = math.prod(self.sample_shape)
        self.likelihood = likelihood
        self.beta_y, self.beta_z = beta_y, beta_z
        self.kl_warmup = kl_warmup
        self.temperature = gumbel_temperature(0)
        self.kl_scale = 1.0
        c = conv_channels
        self.bottom_up = BottomUp(self.geometry, c)
        self.q_z = Z_FAMILIES[q_family](c * Y_SIDE * Y_SIDE, z_dims)
        self.p_y = YPrior(c, z_dims)
        self.p_x = XDecoder(self.geometry, c, decoder_channels(likelihood, self.geometry.channels))

    def set_epoch(self, epoch: int, epochs: int | None = None) -> None:
        """Gumbel temperature max(exp(-0.007 epoch), 0.4); with `kl_warmup`, the rates' weight
        ramps linearly over the first fifth of `epochs` (call before each training epoch)."""
        self.temperature = gumbel_temperature(epoch)
        if self.kl_warmup and epochs is not None:
            self.kl_scale = kl_weight(epoch, epochs)

    def posterior_y(self, x: torch.Tensor, z: torch.Tensor, skip: torch.Tensor, prior: Gaussian) -> Gaussian:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """q(z|x) as (mu, logvar); a categorical z gives (log-probabilities, None)."""
        params = self.q_z(self.bottom_up(x)[0])
        return (params[0], self.q_z.log_variance(params)) if isinstance(params, tuple) else (params, None)

    def forward(self, x: torch.Tensor) -> HierarchicalOutput:
        features, skip = self.bottom_up(x)
        z_params = self.q_z(features)
        z = self.q_z.sample(z_params, self.temperature, hard=not self.training)
        prior_y = self.p_y(z)
        q_y = self.posterior_y(x, z, skip, prior_y)
        out = self.p_x(Normal(*q_y).rsample())
        recon = self.likelihood.nll(x, out).mean()
        rate_z, rate_y = self.q_z.rate(z_params).mean(), _rate_y(q_y, prior_y).mean()
        loss = recon + self.kl_scale * (self.beta_y * rate_y + self.beta_z * rate_z)
        return HierarchicalOutput(loss=loss, recon=recon, kl=rate_z + rate_y, z=z, out=out, logs=self.logs(),
                                  rate_z=rate_z, rate_y=rate_y, neg_elbo=recon + rate_z + rate_y,
                                  data_dim=self.data_dim)

    def logs(self) -> dict[str, float]:
        return {"temperature": self.temperature, "kl_scale": self.kl_scale, **self.likelihood.logs()}

    step_metrics = AutoEncoder.step_metrics  # per-step logging: every term, both rates included

    # -- evaluation -------------------------------------------------------------------------
    @torch.no_grad()
    def log_weight_terms(self, x: torch.Tensor, n_samples: int) -> dict[str, torch.Tensor]:
        """(S, B) per term of log w = log p(x|y) + [log p(y|z) - log q(y|z,x)] + [log p(z) - log q(z|x)],
        (z, y) ~ q, z a hard draw for a categorical q(z|x). Memory grows with S * B: batch x."""
        features, skip = self.bottom_up(x)
        z_params = _repeat(self.q_z(features), n_samples)
        x_rep, skip = _repeat(x, n_samples), _repeat(skip, n_samples)
        z = self.q_z.sample(z_params, self.temperature, hard=True)
        prior_y = self.p_y(z)
        q_y = self.posterior_y(x_rep, z, skip, prior_y)
        y = Normal(*q_y).sample()
        log_ratio_y = (Normal(*prior_y).log_prob(y) - Normal(*q_y).log_prob(y)).flatten(1).sum(1)
        terms = {"log_px_y": -self.likelihood.nll(x_rep, self.p_x(y)), "log_ratio_y": log_ratio_y,
                 "log_ratio_z": self.q_z.log_ratio(z, z_params)}
        return {name: value.view(n_samples, x.shape[0]) for name, value in terms.items()}

    def log_weights(self, x: torch.Tensor, n_samples: int) -> torch.Tensor:
        """log p(x, y, z) - log q(y, z|x) for S joint samples per image, shape (S, B)."""
        return sum(self.log_weight_terms(x, n_samples).values())

    @torch.no_grad()
    def posterior(self, x: torch.Tensor) -> PosteriorSummary:
        features, skip = self.bottom_up(x)
        z_params = self.q_z(features)
        z = self.q_z.point(z_params)
        y_mu, y_std = self.posterior_y(x, z, skip, self.p_y(z))
        categorical = not isinstance(z_params, tuple)
        return PosteriorSummary(
            z_mean=self.q_z.features(z_params), z_logvar=self.q_z.log_variance(z_params),
            z_log_probs=z_params if categorical else None,
            y_mean=y_mu.flatten(1), y_logvar=2 * y_std.log().flatten(1))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The likelihood's mean at y = mean of q(y|z,x), z = mean (or most probable class) of q(z|x)."""
        y_mean = self.posterior(x).y_mean.view(-1, *self.p_y.y_shape)
        return self.likelihood.mean(self.p_x(y_mean))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images from the prior: z ~ p(z), y ~ p(y|z), the likelihood's mean of p(x|y)."""
        mu, std = self.p_y(self.q_z.prior_sample(n, generator))
        noise = torch.randn(mu.shape, generator=generator).to(mu.device)
        return self.likelihood.mean(self.p_x(mu + std * noise))


class HVAE(HierarchicalVAE):
    """q(y|z,x) from an x-branch of its own and a z-branch (methods.md S2)."""

    arch = "hvae"

    def __init__(self, sample_shape: tuple[int, ...], likelihood: Likelihood, **options) -> None:
        super().__init__(sample_shape, likelihood, **options)
        self.q_y = HvaeYPosterior(self.geometry, self.p_y.y_shape[0], self.q_z.z_dims)

    def posterior_y(self, x: torch.Tensor, z: torch.Tensor, skip: torch.Tensor, prior: Gaussian) -> Gaussian:
        return self.q_y(x, z)


class LVAE(HierarchicalVAE):
    """Ladder VAE: q(y|z,x) = precision-weighted fusion of a bottom-up estimate and p(y|z)."""

    arch = "lvae"

    def __init__(self, sample_shape: tuple[int, ...], likelihood: Likelihood, **options) -> None:
        super().__init__(sample_shape, likelihood, **options)
        self.y_estimate = LvaeYEstimate(self.geometry, self.p_y.y_shape[0])

    def posterior_y(self, x: torch.Tensor, z: torch.Tensor, skip: torch.Tensor, prior: Gaussian) -> Gaussian:
        return precision_weighted_merge(*self.y_estimate(skip), *prior)


HIERARCHICAL_ARCHS: dict[str, type[HierarchicalVAE]] = {cls.arch: cls for cls in (HVAE, LVAE)}
