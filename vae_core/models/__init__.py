"""Networks: building blocks, likelihoods and the model families, built by name."""

from vae_core.models.blocks import dynamic_widths
from vae_core.models.config import ModelConfig
from vae_core.models.divergences import gaussian_kl
from vae_core.models.families import VAE, AEConfig, AutoEncoder, ModelOutput, VAEConfig
from vae_core.models.likelihoods import LIKELIHOODS, build_likelihood
from vae_core.models.registry import FAMILIES, build_model, model_config

__all__ = [
    "FAMILIES", "LIKELIHOODS", "VAE", "AEConfig", "AutoEncoder", "ModelConfig", "ModelOutput",
    "VAEConfig", "build_likelihood", "build_model", "dynamic_widths", "gaussian_kl", "model_config",
]
