"""Everything needed to rebuild an S2 hierarchical VAE, checked before any work, and its builder.

Kept apart from `registry.ModelSpec` until the core's configuration refactor lands; the lead
folds these fields into the model registry (see the S2 report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from vae_core.config import ConfigError, require_choice, require_float, require_int
from vae_core.models.gaussian_soft_floor import GaussianLearnedSoftFloor
from vae_core.models.hierarchical import HIERARCHICAL_ARCHS, HierarchicalVAE
from vae_core.models.hierarchical_latents import Z_FAMILIES
from vae_core.models.hierarchical_nets import image_geometry
from vae_core.models.likelihoods import Bernoulli, GaussianFixed, Likelihood
from vae_core.models.logistic_mixture import DiscretizedLogisticMixture


@dataclass(frozen=True)
class HierarchicalSpec:
    arch: str = "hvae"  # hvae | lvae
    conv_channels: int = 16
    z_dims: int = 10  # dimensions of a Gaussian z, classes of a categorical one
    q_family: str = "gaussian"  # gaussian | gumbel_softmax
    likelihood: str = "bernoulli"  # bernoulli | gaussian_fixed | gaussian_learned_floor | logistic_mixture
    sigma: float = 0.03  # gaussian_fixed's sigma; gaussian_learned_floor's initial sigma
    n_components: int = 10  # logistic_mixture
    beta_y: float = 1.0
    beta_z: float = 1.0
    kl_warmup: bool = False  # LVAE in S2: ramp the rates' weight over the first fifth of the epochs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


LIKELIHOOD_BUILDERS: dict[str, Callable[[HierarchicalSpec], Likelihood]] = {
    "bernoulli": lambda spec: Bernoulli(),
    "gaussian_fixed": lambda spec: GaussianFixed(spec.sigma),
    "gaussian_learned_floor": lambda spec: GaussianLearnedSoftFloor(spec.sigma),
    "logistic_mixture": lambda spec: DiscretizedLogisticMixture(spec.n_components),
}


def validate_hierarchical(spec: HierarchicalSpec, sample_shape: tuple[int, ...]) -> HierarchicalSpec:
    """ConfigError naming the first bad key; also checks the images fit the architecture."""
    require_choice("arch", spec.arch, HIERARCHICAL_ARCHS)
    require_choice("q_family", spec.q_family, Z_FAMILIES)
    require_choice("likelihood", spec.likelihood, LIKELIHOOD_BUILDERS)
    require_int("conv_channels", spec.conv_channels, minimum=1)
    require_int("z_dims", spec.z_dims, minimum=2 if spec.q_family == "gumbel_softmax" else 1)
    require_int("n_components", spec.n_components, minimum=1)
    require_float("sigma", spec.sigma, minimum=0.0, strict=True)
    require_float("beta_y", spec.beta_y, minimum=0.0)
    require_float("beta_z", spec.beta_z, minimum=0.0)
    if not isinstance(spec.kl_warmup, bool):
        raise ConfigError(f"kl_warmup: expected true or false, got {spec.kl_warmup!r}")
    image_geometry(sample_shape)
    return spec


def build_hierarchical(spec: HierarchicalSpec, sample_shape: tuple[int, ...]) -> HierarchicalVAE:
    """The network of `spec` for images of `sample_shape` (C, 28|32, 28|32)."""
    validate_hierarchical(spec, sample_shape)
    model = HIERARCHICAL_ARCHS[spec.arch](
        tuple(sample_shape), LIKELIHOOD_BUILDERS[spec.likelihood](spec), q_family=spec.q_family,
        conv_channels=spec.conv_channels, z_dims=spec.z_dims, beta_y=spec.beta_y, beta_z=spec.beta_z,
        kl_warmup=spec.kl_warmup)
    model.spec = spec
    return model
