"""vae_core: the library behind every entry point of the VAE research platform."""

__version__ = "0.1.0"
