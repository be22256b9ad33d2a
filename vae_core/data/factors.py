"""Data sets with known generative factors: the interface disentanglement metrics and S1 share.

A factor data set renders an image for any combination of factor values on its grid, so a
metric can draw fresh samples with chosen factors held fixed (FactorVAE, BetaVAE scores)
and an analysis can name what each latent channel encodes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FactorDataset(Protocol):
    """Factors are indices into each factor's grid: row i of `indices` is one image's factors."""

    factor_names: tuple[str, ...]
    factor_sizes: tuple[int, ...]  # number of grid values of each factor
    discrete: tuple[bool, ...]  # True for a categorical factor (shape), False for an ordinal one

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        """(n, F) grid indices -> (n, F) float factor values (scale, angle, position, ...)."""

    def render(self, indices: np.ndarray) -> np.ndarray:
        """(n, F) grid indices -> (n, C, H, W) float32 images in [0, 1], deterministic."""


def sample_factor_indices(dataset: FactorDataset, n: int, rng: np.random.Generator) -> np.ndarray:
    """n rows of factor indices drawn uniformly and independently from each factor's grid."""
    return np.stack([rng.integers(0, size, n) for size in dataset.factor_sizes], axis=1)


def full_grid(dataset: FactorDataset) -> np.ndarray:
    """Every factor combination exactly once, in C order (last factor fastest)."""
    grids = np.meshgrid(*[np.arange(s) for s in dataset.factor_sizes], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1)
