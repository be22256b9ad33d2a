"""Discretised mixture of logistics p(x|y) over 256 intensity levels (PixelCNN++, Salimans et al. 2017).

Per pixel, K components share one weight across the C channels; channel c of component k is a
logistic with mean mu_kc + sum_{j<c} a_kcj x_j (the earlier channels' observed values: PixelCNN++'s
colour coupling, none for grey images) and log-scale s_kc (clamped at -7). Data in [0, 1] are
quantised to the levels v = round(255 x) and scored on [-1, 1]: the mass of the bin
[v - 1/255, v + 1/255], with the outer bins running to -inf and +inf so the 256 masses sum to 1.

Decoder output layout, channels first (B, P, H, W), P = K (1 + 2C + C(C-1)/2):
[mixture logits (K) | means (C*K) | log-scales (C*K) | coupling pre-tanh (C(C-1)/2 * K)], each
group ordered channel-major. Convention for the hierarchical decoders: a likelihood with an
`out_channels(C)` method asks the decoder for that many channels (others: C).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vae_core.models.likelihoods import Likelihood

LEVELS = 256
HALF_BIN = 1.0 / (LEVELS - 1)  # half a bin on the [-1, 1] scale
MIN_LOG_SCALE = -7.0


def _coupling_count(channels: int) -> int:
    return channels * (channels - 1) // 2


def _log_bin_mass(x: torch.Tensor, levels: torch.Tensor, mean: torch.Tensor,
                  log_scale: torch.Tensor) -> torch.Tensor:
    """log P(bin of x) for a logistic(mean, e^log_scale), x on [-1, 1], levels its 0..255 index.

    Uses log(sigmoid(a) - sigmoid(b)) = logsigmoid(a) + logsigmoid(-b) + log(1 - e^{-(a-b)}),
    exact at any scale (no small-mass approximation); the edge bins drop the missing side."""
    inv_scale = torch.exp(-log_scale)
    upper = inv_scale * (x - mean + HALF_BIN)
    lower = inv_scale * (x - mean - HALF_BIN)
    width = torch.log(-torch.expm1(-2 * HALF_BIN * inv_scale))
    bottom, top = levels == 0, levels == LEVELS - 1
    zero = torch.zeros_like(upper)
    return (torch.where(top, zero, F.logsigmoid(upper)) + torch.where(bottom, zero, F.logsigmoid(-lower))
            + torch.where(bottom | top, zero, width))


class DiscretizedLogisticMixture(Likelihood):
    """-log p(x|y) of 8-bit images under a per-pixel mixture of `n_components` discretised logistics."""

    name = "logistic_mixture"

    def __init__(self, n_components: int = 10) -> None:
        super().__init__()
        self.n_components = n_components

    def out_channels(self, channels: int) -> int:
        """Decoder channels for C image channels: K (1 + 2C + C(C-1)/2) (10 K for RGB)."""
        return self.n_components * (1 + 2 * channels + _coupling_count(channels))

    def _channels(self, out: torch.Tensor) -> int:
        for channels in range(1, 5):
            if self.out_channels(channels) == out.shape[1]:
                return channels
        raise ValueError(f"logistic_mixture: decoder output has {out.shape[1]} channels, which is "
                         f"out_channels(C) for no C in 1..4 with {self.n_components} components")

    def split(self, out: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(log weights (B,K,H,W), means (B,C,K,H,W), log-scales (B,C,K,H,W), coupling (B,C(C-1)/2,K,H,W))."""
        channels, k = self._channels(out), self.n_components
        b, _, h, w = out.shape
        logits, means, log_scales, coupling = torch.split(
            out, [k, channels * k, channels * k, _coupling_count(channels) * k], dim=1)
        return (F.log_softmax(logits, dim=1), means.reshape(b, channels, k, h, w),
                log_scales.reshape(b, channels, k, h, w).clamp(min=MIN_LOG_SCALE),
                torch.tanh(coupling.reshape(b, -1, k, h, w)))

    @staticmethod
    def _coupled_means(means: torch.Tensor, coupling: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """mu_kc + sum_{j<c} a_kcj values_j, values (B,C,1|K,H,W) on [-1, 1]."""
        shifted, pair = [means[:, 0]], 0
        for c in range(1, means.shape[1]):
            mean = means[:, c]
            for j in range(c):
                mean = mean + coupling[:, pair] * values[:, j]
                pair += 1
            shifted.append(mean)
        return torch.stack(shifted, dim=1)

    def log_prob_pixels(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(pixel) for each pixel, (B, H, W): all channels of a pixel together."""
        log_weights, means, log_scales, coupling = self.split(out)
        levels = torch.round(x.clamp(0.0, 1.0) * (LEVELS - 1))
        scaled = (2 * levels / (LEVELS - 1) - 1).unsqueeze(2)  # (B, C, 1, H, W)
        means = self._coupled_means(means, coupling, scaled)
        per_channel = _log_bin_mass(scaled, levels.unsqueeze(2), means, log_scales)
        return torch.logsumexp(log_weights + per_channel.sum(1), dim=1)

    def nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return -self.log_prob_pixels(x, out).flatten(1).sum(1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The mixture's mean image in [0, 1], from each component's mean of the logistic clipped
        to [-1, 1]: E clip(X) = -1 + s [softplus((m + 1)/s) - softplus((m - 1)/s)].

        Exact for the continuous clipped logistic, so within half a level (1/510) of the discrete
        mean for grey images; for colour, a channel's coupled mean uses the earlier channels'
        component means in place of their values (an approximation)."""
        log_weights, means, log_scales, coupling = self.split(out)
        scale = log_scales.exp()
        clipped: list[torch.Tensor] = []
        pair = 0
        for c in range(means.shape[1]):
            m = means[:, c]
            for j in range(c):
                m = m + coupling[:, pair] * clipped[j]
                pair += 1
            s = scale[:, c]
            clipped.append(-1 + s * (F.softplus((m + 1) / s) - F.softplus((m - 1) / s)))
        expected = (torch.stack(clipped, 1) * log_weights.exp().unsqueeze(1)).sum(2)
        return (expected + 1) / 2
