"""Networks: building blocks, likelihoods and the model families, built by name."""

from vae_core.models.blocks import dynamic_widths
from vae_core.models.divergences import gaussian_kl
from vae_core.models.families import VAE, AutoEncoder, ModelOutput
from vae_core.models.likelihoods import LIKELIHOODS, build_likelihood
from vae_core.models.registry import ARCHITECTURES, FAMILIES, ModelSpec, build_model, validate_spec

__all__ = [
    "ARCHITECTURES", "FAMILIES", "LIKELIHOODS", "VAE", "AutoEncoder", "ModelOutput", "ModelSpec",
    "build_likelihood", "build_model", "dynamic_widths", "gaussian_kl", "validate_spec",
]
