"""Encoder/decoder pairs by name: the only place an architecture is chosen from a config."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

from vae_core.config import ConfigError
from vae_core.models.blocks import Conv32Decoder, Conv32Encoder, MLPDecoder, MLPEncoder
from vae_core.models.conv64 import Conv64Decoder, Conv64Encoder

if TYPE_CHECKING:
    from vae_core.models.config import ModelConfig

Pair = tuple[nn.Module, nn.Module]


def mlp(config: ModelConfig, shape: tuple[int, ...], stochastic: bool) -> Pair:
    d_x = math.prod(shape)
    if config.latent_size >= d_x:
        raise ConfigError(f"latent_size: {config.latent_size} is not below the data dimension {d_x} "
                          f"of shape {shape}; the 'mlp' architecture narrows from data to latent")
    hidden = list(config.hidden_widths) or None
    return (MLPEncoder(d_x, config.latent_size, config.n_layers, stochastic, hidden),
            MLPDecoder(config.latent_size, shape, config.n_layers, hidden))


def conv32(config: ModelConfig, shape: tuple[int, ...], stochastic: bool) -> Pair:
    if len(shape) != 3 or shape[1:] != (32, 32):
        raise ConfigError(
            f"arch: 'conv32' needs images of shape (C, 32, 32), the data has shape {shape}; "
            f"resize the images (dataset_options resize=32) or use arch 'mlp'")
    return (Conv32Encoder(shape[0], config.latent_size, stochastic),
            Conv32Decoder(config.latent_size, shape[0]))


def conv64(config: ModelConfig, shape: tuple[int, ...], stochastic: bool) -> Pair:
    """S1's ensemble network (methods.md S1), for 64 x 64 images such as the sprites."""
    if len(shape) != 3 or shape[1:] != (64, 64):
        raise ConfigError(
            f"arch: 'conv64' needs images of shape (C, 64, 64), the data has shape {shape}; "
            f"use 64 x 64 images (dataset 'sprites', or dataset_options resize=64) or arch 'mlp'")
    return (Conv64Encoder(shape[0], config.latent_size, stochastic),
            Conv64Decoder(config.latent_size, shape[0]))


ARCHITECTURES: dict[str, Callable[[ModelConfig, tuple[int, ...], bool], Pair]] = {
    "mlp": mlp,
    "conv32": conv32,
    "conv64": conv64,
}
