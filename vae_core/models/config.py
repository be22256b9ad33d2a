"""The fields every network family shares, typed once; a family's config adds only its own.

Like pythae's `BetaVAEConfig(VAEConfig)`: the beta-VAE adds `beta`, the S4 Gaussian VAE its
variance options. The `family` field picks the config class and the builder (registry.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from vae_core.config import IntList, StrictModel
from vae_core.models.architectures import ARCHITECTURES
from vae_core.models.likelihoods import LIKELIHOODS


def _one_of(key: str, value: str, allowed: Any) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {key} {value!r}; allowed values: {', '.join(allowed)}")
    return value


class ModelConfig(StrictModel):
    """A network: its family, architecture, latent size and likelihood p(x|z)."""

    family: str
    arch: str = "mlp"
    latent_size: PositiveInt = 2
    n_layers: PositiveInt = 2  # the dynamic MLP's depth (S3's rule for the widths)
    hidden_widths: IntList = Field(default_factory=list)  # n_layers - 1 widths; empty: the dynamic rule
    likelihood: str = "bernoulli"
    sigma: PositiveFloat = 1.0  # Gaussian likelihoods: the fixed or initial standard deviation

    @field_validator("arch")
    @classmethod
    def _arch(cls, value: str) -> str:
        return _one_of("arch", value, ARCHITECTURES)

    @field_validator("likelihood")
    @classmethod
    def _likelihood(cls, value: str) -> str:
        return _one_of("likelihood", value, LIKELIHOODS)

    @property
    def stochastic(self) -> bool:
        """Whether the encoder outputs a distribution (mu, logvar) rather than a point."""
        return True
