"""Data sets that ship with the code: scikit-learn's digits and probabilistic-PCA data."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from vae_core.data.splits import DatasetSplits, three_way_split


def resize_images(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bilinear resize of (N, C, H, W) images in [0, 1] to size x size (None keeps them)."""
    if size is None or images.shape[-1] == size:
        return images
    resized = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    return resized.clamp_(0.0, 1.0)


def load_digits(seed: int, val_fraction: float, resize: int | None = None) -> DatasetSplits:
    """scikit-learn's 1797 8x8 digits scaled to [0, 1]; 20% held out as the test split."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    images = resize_images(images, resize)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    parts = three_way_split(images, labels, test_fraction=0.2, val_fraction=val_fraction, seed=seed)
    return DatasetSplits(
        name="digits", options={"resize": resize},
        train=parts["train"], val=parts["val"], test=parts["test"],
        train_labels=parts["train_y"], val_labels=parts["val_y"], test_labels=parts["test_y"],
    )


def load_pca(
    seed: int, val_fraction: float, n: int = 10000, D: int = 10, k: int = 2, sigma: float = 0.1
) -> DatasetSplits:
    """Linear Gaussian data x = W z + b + sigma eps with known W, b, sigma (exact likelihood)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(D, k))
    b = rng.normal(size=D)
    z = rng.normal(size=(n, k))
    x = z @ W.T + b + sigma * rng.normal(size=(n, D))
    data = torch.tensor(x, dtype=torch.float32)
    parts = three_way_split(data, torch.tensor(z, dtype=torch.float32), 0.2, val_fraction, seed)
    return DatasetSplits(
        name="pca", options={"n": n, "D": D, "k": k, "sigma": sigma},
        train=parts["train"], val=parts["val"], test=parts["test"],
        train_factors=parts["train_y"], val_factors=parts["val_y"], test_factors=parts["test_y"],
        extras={"W": W, "b": b, "sigma": sigma},
    )


def pca_log_likelihood(x: np.ndarray, W: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    """Exact log N(x; b, W W^T + sigma^2 I) per row: the ground truth an ELBO must stay below."""
    from scipy.stats import multivariate_normal

    cov = W @ W.T + sigma**2 * np.eye(W.shape[0])
    return multivariate_normal(mean=b, cov=cov).logpdf(x)
