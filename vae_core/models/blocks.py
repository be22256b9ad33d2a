"""Building blocks: the "dynamic" MLP of S3 and the 32x32 conv stacks of S0."""

from __future__ import annotations

import math

import torch
from torch import nn

from vae_core.config import ConfigError


def dynamic_widths(d_x: int, d_z: int, n_layers: int) -> list[int]:
    """D_i = D_x - floor((D_x - D_z) i / n_layers), i = 0..n_layers (S3's "dynamic" MLP)."""
    return [d_x - math.floor((d_x - d_z) * i / n_layers) for i in range(n_layers + 1)]


def mlp_widths(d_x: int, d_z: int, n_layers: int, hidden_widths: list[int] | None = None) -> list[int]:
    """[D_x, *hidden, D_z]: the given hidden widths, or the dynamic rule when none are given."""
    if hidden_widths is None:
        return dynamic_widths(d_x, d_z, n_layers)
    if len(hidden_widths) != n_layers - 1 or min(hidden_widths, default=1) < 1:
        raise ConfigError(f"hidden_widths: {hidden_widths} must be n_layers - 1 = {n_layers - 1} "
                          f"positive widths; give that many or set n_layers to {len(hidden_widths) + 1}")
    return [d_x, *hidden_widths, d_z]


class Heads(nn.Module):
    """Linear heads on a feature vector: (mu, logvar) for a VAE, (z, None) for an AE."""

    def __init__(self, d_in: int, d_z: int, stochastic: bool) -> None:
        super().__init__()
        self.mu = nn.Linear(d_in, d_z)
        self.logvar = nn.Linear(d_in, d_z) if stochastic else None

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.mu(h), None if self.logvar is None else self.logvar(h)


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    def __init__(self, d_x: int, d_z: int, n_layers: int, stochastic: bool,
                 hidden_widths: list[int] | None = None) -> None:
        super().__init__()
        widths = mlp_widths(d_x, d_z, n_layers, hidden_widths)
        hidden = widths[:-1]
        self.body = nn.Sequential(_mlp(hidden), nn.ReLU()) if len(hidden) > 1 else nn.Identity()
        self.heads = Heads(hidden[-1], d_z, stochastic)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.heads(self.body(x.flatten(1)))


class MLPDecoder(nn.Module):
    """The encoder's widths reversed; outputs one value per data dimension, reshaped."""

    def __init__(self, d_z: int, sample_shape: tuple[int, ...], n_layers: int,
                 hidden_widths: list[int] | None = None) -> None:
        super().__init__()
        d_x = math.prod(sample_shape)
        self.sample_shape = sample_shape
        self.body = _mlp(mlp_widths(d_x, d_z, n_layers, hidden_widths)[::-1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).view(-1, *self.sample_shape)


def _conv_block(c_in: int, c_out: int, transposed: bool = False) -> nn.Sequential:
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(c_in, c_out, 4, 2, 1)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


class Conv32Encoder(nn.Module):
    """S0: 4 x [Conv 4x4 s2 p1, BN, LeakyReLU(0.2)], channels 64,128,256,256: 32 -> 2."""

    def __init__(self, channels: int, d_z: int, stochastic: bool) -> None:
        super().__init__()
        widths = [channels, 64, 128, 256, 256]
        self.blocks = nn.ModuleList(_conv_block(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.heads = Heads(1024, d_z, stochastic)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        for block in self.blocks:
            x = block(x)
        return self.heads(x.flatten(1))


class Conv32Decoder(nn.Module):
    """S0: Linear K -> 1024 + BN + LeakyReLU, (256, 2, 2), ConvT 256,128,64 + BN, ConvT -> C."""

    def __init__(self, d_z: int, channels: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(d_z, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2))
        widths = [256, 256, 128, 64]
        self.blocks = nn.ModuleList(
            _conv_block(a, b, transposed=True) for a, b in zip(widths[:-1], widths[1:]))
        self.output = nn.ConvTranspose2d(64, channels, 4, 2, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, 256, 2, 2)
        for block in self.blocks:
            h = block(h)
        return self.output(h)
