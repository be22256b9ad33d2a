"""What S3 draws from one trained network (its best fold): generated grid, traversal,
reconstructions, for D_z = 2 the latent scatter and histograms, and fd_pixel of its samples.

Samples of a VAE come from its prior (N(0, I), or N(m, v) for the prior VAE); an AE has no prior,
so its samples decode draws from a Gaussian fitted to its own codes of the training images
(analysis.findings.fitted_gaussian_draws). fd_pixel compares samples with the test images.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from vae_core.analysis.findings import fitted_gaussian_draws
from vae_core.analysis.sample_quality import frechet_distance, moments
from vae_core.data import DatasetSplits
from vae_core.models.prior_vae import draw_prior
from vae_core.plots.ae_vs_vae import (
    image_grid_figure,
    latent_histograms_figure,
    latent_scatter_figure,
    reconstructions_figure,
    traversal_figure,
    traversal_grid,
)
from vae_core.studies.ae_vs_vae.fold_metrics import reconstruct

BATCH = 512


@torch.no_grad()
def codes(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    return torch.cat([model.encode(batch)[0] for batch in x.split(BATCH)]).double().numpy()


@torch.no_grad()
def decode(model: torch.nn.Module, z: np.ndarray | torch.Tensor) -> np.ndarray:
    model.eval()
    z = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    return torch.cat([model.likelihood.mean(model.decoder(b)) for b in z.split(BATCH)]).double().numpy()


def prior_draws(model: torch.nn.Module, data: DatasetSplits, latent_size: int, n: int,
                seed: int) -> np.ndarray:
    """n latents to decode as the model's samples (its prior, or the AE's fitted Gaussian)."""
    if model.family == "ae":
        return fitted_gaussian_draws(codes(model, data.train), n, seed)
    mean = getattr(model, "prior_mean", torch.tensor(0.0))
    var = getattr(model, "prior_var", torch.tensor(1.0))
    return draw_prior(n, latent_size, mean, var, seed).numpy()


def fd_pixel(model: torch.nn.Module, data: DatasetSplits, latent_size: int, n: int, seed: int) -> float:
    """Frechet distance on pixels between n decoded samples and the test images."""
    samples = decode(model, prior_draws(model, data, latent_size, n, seed))
    return frechet_distance(*moments(samples), *moments(data.test.double().numpy()))


def model_figures(model: torch.nn.Module, data: DatasetSplits, latent_size: int, seed: int,
                  n_reconstructions: int = 10) -> dict[str, Figure]:
    """name -> figure for one network; the scatter and histograms only when D_z = 2."""
    samples = decode(model, prior_draws(model, data, latent_size, 100, seed))
    figures = {"prior_grid": image_grid_figure(samples, 10, 10, "samples (10 x 10)")}
    if latent_size >= 2:
        figures["traversal"] = traversal_figure(decode(model, traversal_grid(21, 3.0, latent_size)))
    originals = data.test[:n_reconstructions]
    figures["reconstructions"] = reconstructions_figure(originals.double().numpy(),
                                                        reconstruct(model, originals, BATCH))
    if latent_size == 2:
        z = codes(model, data.test)
        labels = None if data.test_labels is None else data.test_labels.numpy()
        figures["latent_scatter"] = latent_scatter_figure(z, labels)
        figures["latent_histograms"] = latent_histograms_figure(z)
    return figures
