"""The one registry from family names to (config type, builder): the only way a network is made.

A checkpoint stores the family's config as a dict; `model_config` turns it back into the
right type and `build_model` rebuilds the network, so loading needs no pickled classes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from vae_core.config import ConfigError, typed
from vae_core.models.architectures import ARCHITECTURES
from vae_core.models.config import ModelConfig
from vae_core.models.families import VAE, AEConfig, AutoEncoder, VAEConfig
from vae_core.models.gaussian_vae import GaussianVAE, GaussianVAEConfig
from vae_core.models.hierarchical_config import HVAEConfig, LVAEConfig, build_hierarchical_family
from vae_core.models.likelihoods import build_likelihood
from vae_core.models.linear_vae import LinearVAE, LinearVAEConfig
from vae_core.models.prior_vae import PriorVAE, PriorVAEConfig

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Family:
    config: type[ModelConfig]
    build: Callable[[Any, Shape], nn.Module]
    example_shape: Shape = (1, 8, 8)  # a data shape the family accepts (tests build every family)


def _autoencoder(config: AEConfig, shape: Shape) -> AutoEncoder:
    encoder, decoder = ARCHITECTURES[config.arch](config, shape, False)
    return AutoEncoder(encoder, decoder, build_likelihood(config.likelihood, config.sigma))


def _vae(config: VAEConfig, shape: Shape) -> VAE:
    encoder, decoder = ARCHITECTURES[config.arch](config, shape, True)
    return VAE(encoder, decoder, build_likelihood(config.likelihood, config.sigma), beta=config.beta)


def _prior_vae(config: PriorVAEConfig, shape: Shape) -> PriorVAE:
    encoder, decoder = ARCHITECTURES[config.arch](config, shape, True)
    return PriorVAE(encoder, decoder, build_likelihood(config.likelihood, config.sigma), beta=config.beta,
                    prior_mean=config.prior_mean, prior_var=config.prior_var)


def _gaussian_vae(config: GaussianVAEConfig, shape: Shape) -> GaussianVAE:
    encoder, decoder = ARCHITECTURES[config.arch](config, shape, True)
    var_decoder = ARCHITECTURES[config.arch](config, shape, True)[1] if config.vae_type == "sigma_z" else None
    return GaussianVAE(encoder, decoder, config.vae_type, config.latent_size, shape, sigma=config.sigma,
                       beta=config.beta, weight_constraint=config.weight_constraint,
                       optimal_variances=config.optimal_variances, var_decoder=var_decoder)


def _linear_vae(config: LinearVAEConfig, shape: Shape) -> LinearVAE:
    return LinearVAE(math.prod(shape), config.latent_size, init_scale=config.init_scale)


FAMILIES: dict[str, Family] = {
    "ae": Family(AEConfig, _autoencoder),
    "vae": Family(VAEConfig, _vae),
    "gaussian_vae": Family(GaussianVAEConfig, _gaussian_vae),
    "linear_vae": Family(LinearVAEConfig, _linear_vae),
    "prior_vae": Family(PriorVAEConfig, _prior_vae),
    "hvae": Family(HVAEConfig, build_hierarchical_family, (1, 28, 28)),
    "lvae": Family(LVAEConfig, build_hierarchical_family, (1, 28, 28)),
}


def model_config(values: dict[str, Any]) -> ModelConfig:
    """The typed config of the family `values['family']` names (its own fields only)."""
    family = values.get("family", "vae")
    if family not in FAMILIES:
        raise ConfigError(f"model: unknown value {family!r}; allowed values: {', '.join(FAMILIES)}")
    return typed(FAMILIES[family].config, {**values, "family": family})


def build_model(config: ModelConfig, sample_shape: Shape) -> nn.Module:
    """Build (and so check) a network for data of `sample_shape`; ConfigError if it cannot fit."""
    shape = tuple(int(s) for s in sample_shape)
    model = FAMILIES[config.family].build(config, shape)
    model.config = config
    model.sample_shape = shape
    return model
