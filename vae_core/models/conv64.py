"""S1's network for 64 x 64 images: Conv32-k4s2 -> Conv64-k4s2 -> Dense256 -> 2 x K, mirrored.

Small on purpose: S1 trains an ensemble of O(50) of them, and its analysis only reads the
encoder's (mu, logvar) on a fingerprint.
"""

from __future__ import annotations

import torch
from torch import nn

from vae_core.models.blocks import Heads

SIDE = 64
FEATURES = 64 * 16 * 16  # after two stride-2 convolutions: 64 channels of 16 x 16


class Conv64Encoder(nn.Module):
    """Conv 4x4 s2 p1 (32), ReLU, Conv 4x4 s2 p1 (64), ReLU, Linear 256, ReLU, heads: 64 -> 16."""

    def __init__(self, channels: int, d_z: int, stochastic: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(FEATURES, 256), nn.ReLU(),
        )
        self.heads = Heads(256, d_z, stochastic)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.heads(self.body(x))


class Conv64Decoder(nn.Module):
    """The encoder mirrored: Linear 256, ReLU, Linear 64*16*16, ReLU, ConvT 32, ReLU, ConvT -> C."""

    def __init__(self, d_z: int, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(d_z, 256), nn.ReLU(),
            nn.Linear(256, FEATURES), nn.ReLU(),
            nn.Unflatten(1, (64, 16, 16)),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(32, channels, 4, 2, 1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
