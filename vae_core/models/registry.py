"""Model specs and the one registry from names to builders (families, architectures, likelihoods)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from vae_core.config import (
    ConfigError,
    require_choice,
    require_float,
    require_int,
)
from vae_core.models.blocks import Conv32Decoder, Conv32Encoder, MLPDecoder, MLPEncoder
from vae_core.models.families import VAE, AutoEncoder
from vae_core.models.gaussian_vae import GaussianVAE, validate_gaussian_options
from vae_core.models.likelihoods import LIKELIHOODS, build_likelihood


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network; stored inside every checkpoint."""

    family: str = "vae"
    arch: str = "mlp"
    latent_size: int = 2
    n_layers: int = 2
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    beta: float = 1.0
    vae_type: str = "vae-1"  # the next three: family "gaussian_vae" only (study S4)
    weight_constraint: str = ""
    optimal_variances: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mlp(spec: ModelSpec, shape: tuple[int, ...], stochastic: bool) -> tuple[nn.Module, nn.Module]:
    d_x = math.prod(shape)
    if spec.latent_size >= d_x:
        raise ConfigError(f"latent_size: {spec.latent_size} is not below the data dimension {d_x} "
                          f"of shape {shape}; the 'mlp' architecture narrows from data to latent")
    return (MLPEncoder(d_x, spec.latent_size, spec.n_layers, stochastic),
            MLPDecoder(spec.latent_size, shape, spec.n_layers))


def _conv32(spec: ModelSpec, shape: tuple[int, ...], stochastic: bool) -> tuple[nn.Module, nn.Module]:
    if len(shape) != 3 or shape[1:] != (32, 32):
        raise ConfigError(
            f"arch: 'conv32' needs images of shape (C, 32, 32), the data has shape {shape}; "
            f"resize the images (dataset_options resize=32) or use arch 'mlp'")
    return (Conv32Encoder(shape[0], spec.latent_size, stochastic),
            Conv32Decoder(spec.latent_size, shape[0]))


ARCHITECTURES: dict[str, Callable[[ModelSpec, tuple[int, ...], bool], tuple[nn.Module, nn.Module]]] = {
    "mlp": _mlp,
    "conv32": _conv32,
}

FAMILIES: dict[str, type[AutoEncoder]] = {"ae": AutoEncoder, "vae": VAE, "gaussian_vae": GaussianVAE}


def validate_spec(spec: ModelSpec) -> ModelSpec:
    require_choice("model", spec.family, FAMILIES)
    require_choice("arch", spec.arch, ARCHITECTURES)
    require_choice("likelihood", spec.likelihood, LIKELIHOODS)
    require_int("latent_size", spec.latent_size, minimum=1)
    require_int("n_layers", spec.n_layers, minimum=1)
    require_float("sigma", spec.sigma, minimum=0.0, strict=True)
    require_float("beta", spec.beta, minimum=0.0)
    if spec.family == "gaussian_vae":
        validate_gaussian_options(spec.vae_type, spec.weight_constraint, spec.optimal_variances)
    elif spec.weight_constraint or spec.optimal_variances:
        raise ConfigError(f"weight_constraint: only family 'gaussian_vae' (type vae-2) takes a weight "
                          f"constraint or optimal variances, not {spec.family!r}")
    return spec


def build_model(spec: ModelSpec, sample_shape: tuple[int, ...]) -> AutoEncoder:
    """Build (and so check) a network for data of `sample_shape`; ConfigError if it cannot fit."""
    validate_spec(spec)
    stochastic = spec.family != "ae"
    encoder, decoder = ARCHITECTURES[spec.arch](spec, tuple(sample_shape), stochastic)
    likelihood = build_likelihood(spec.likelihood, spec.sigma)
    if spec.family == "ae":
        model = AutoEncoder(encoder, decoder, likelihood)
    elif spec.family == "gaussian_vae":
        var_decoder = (ARCHITECTURES[spec.arch](spec, tuple(sample_shape), True)[1]
                       if spec.vae_type == "sigma_z" else None)
        model = GaussianVAE(encoder, decoder, spec.vae_type, spec.latent_size, tuple(sample_shape),
                            sigma=spec.sigma, beta=spec.beta, weight_constraint=spec.weight_constraint,
                            optimal_variances=spec.optimal_variances, var_decoder=var_decoder)
    else:
        model = FAMILIES[spec.family](encoder, decoder, likelihood, beta=spec.beta)
    model.spec = spec
    model.sample_shape = tuple(sample_shape)
    return model
