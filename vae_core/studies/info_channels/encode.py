"""The per-model work of the channel analysis: one model's posterior means and log variances
on the fingerprint. Module-level functions of picklable arguments (a model reference, a file
path), so each model can run in its own process or Slurm array task; the tracking store comes
from the environment (MLFLOW_TRACKING_URI) like every command's."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vae_core.config import ConfigError
from vae_core.studies.info_channels.fingerprint import read_fingerprint
from vae_core.tracking.checkpoints import load_model


@torch.no_grad()
def encode_images(network: nn.Module, images: np.ndarray, batch_size: int, name: str = "model"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar), each (M, K) float64, in eval mode; a network without posterior variances
    (an autoencoder) or one that cannot read these images is refused naming both."""
    network.eval()
    means, logvars = [], []
    try:
        for batch in torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).split(batch_size):
            mu, logvar = network.encode(batch)
            if logvar is None:
                raise ConfigError(f"models: {name} has a deterministic encoder (no log variances); "
                                  "the channel analysis needs diagonal-Gaussian posteriors (a VAE)")
            means.append(mu.double())
            logvars.append(logvar.double())
    except RuntimeError as error:
        raise ConfigError(f"fingerprint: {name} cannot encode images of shape {tuple(images.shape[1:])} "
                          f"({str(error).splitlines()[0]}); use a fingerprint of its training data") from None
    return torch.cat(means).numpy(), torch.cat(logvars).numpy()


def encode_fingerprint(reference: str, fingerprint_path: str, batch_size: int = 256
                       ) -> tuple[np.ndarray, np.ndarray]:
    """One model (a loadable reference: models:/m-..., a run id, models:/NAME@ALIAS) on one
    fingerprint file: its (M, K) posterior means and log variances."""
    images = read_fingerprint(fingerprint_path)["images"]
    return encode_images(load_model(reference), images, batch_size, reference)
