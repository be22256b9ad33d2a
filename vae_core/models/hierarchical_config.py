"""The typed configs of study S2's families `hvae` and `lvae` (methods.md S2), and their builder.

The top latent's size is the shared `latent_size` (so `latent_sizes`, sweeps over `latent_size`
and checkpoints work as for every family); `z_dims` reads it under the paper's name. The
architecture is fixed by the family, so the MLP keys of `ModelConfig` are refused if given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt, field_validator, model_validator

from vae_core.models.config import ModelConfig, _one_of
from vae_core.models.hierarchical import HierarchicalVAE
from vae_core.models.hierarchical_spec import LIKELIHOOD_BUILDERS, HierarchicalSpec, build_hierarchical

LATENT_KINDS = {"gaussian": "gaussian", "categorical": "gumbel_softmax"}  # config name -> q(z) family
UNUSED_KEYS = ("arch", "n_layers", "hidden_widths")  # the dense/conv families' shape keys


class HVAEConfig(ModelConfig):
    """An S2 hierarchical VAE: p(z) p(y|z) p(x|y), loss = -log p(x|y) + beta_y R(y|z) + beta_z R(z)."""

    family: Literal["hvae"] = "hvae"
    latent_size: PositiveInt = 10  # z_dims: dimensions of a Gaussian z, classes of a categorical one
    conv_channels: PositiveInt = 16  # c: y is a c x 4 x 4 feature map
    latent_kind: Literal["gaussian", "categorical"] = "gaussian"  # categorical: Gumbel-softmax q(z|x)
    sigma: PositiveFloat = 0.03  # gaussian_fixed's sigma, gaussian_learned_floor's initial sigma
    n_components: PositiveInt = 10  # logistic_mixture
    beta_y: NonNegativeFloat = 1.0
    beta_z: NonNegativeFloat = 1.0
    rate_warmup: bool = False  # the rates' weight ramps linearly over the first fifth of the epochs

    @field_validator("likelihood")
    @classmethod
    def _likelihood(cls, value: str) -> str:
        return _one_of("likelihood", value, LIKELIHOOD_BUILDERS)

    @model_validator(mode="after")
    def _no_mlp_keys(self) -> HVAEConfig:
        given = [key for key in UNUSED_KEYS  # a stored config repeats the defaults: those pass
                 if getattr(self, key) != type(self).model_fields[key].get_default(call_default_factory=True)]
        if given:
            raise ValueError(f"{given[0]}: the {self.family} family has its own S2 architecture; remove "
                             f"{given[0]} (set conv_channels and latent_size instead)")
        if self.latent_kind == "categorical" and self.latent_size < 2:
            raise ValueError(f"latent_size: a categorical z needs at least 2 classes, got {self.latent_size}")
        return self

    @property
    def z_dims(self) -> int:
        return self.latent_size

    def spec(self) -> HierarchicalSpec:
        return HierarchicalSpec(
            arch=self.family, conv_channels=self.conv_channels, z_dims=self.latent_size,
            q_family=LATENT_KINDS[self.latent_kind], likelihood=self.likelihood, sigma=self.sigma,
            n_components=self.n_components, beta_y=self.beta_y, beta_z=self.beta_z,
            kl_warmup=self.rate_warmup)


class LVAEConfig(HVAEConfig):
    """The ladder variant; S2 trains it with the rate warm-up."""

    family: Literal["lvae"] = "lvae"
    rate_warmup: bool = True


def build_hierarchical_family(config: HVAEConfig, sample_shape: tuple[int, ...]) -> HierarchicalVAE:
    """The network of an `hvae`/`lvae` config (ConfigError for images that are not 28 or 32 square)."""
    return build_hierarchical(config.spec(), sample_shape)

