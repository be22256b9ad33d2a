"""A tiny FactorDataset whose 'images' are the factors themselves, and codes with known answers."""

from __future__ import annotations

import numpy as np


class GridFactors:
    """Factors on a small grid; render gives (n, F, 1, 1) images holding index / (size - 1)."""

    def __init__(self, sizes: tuple[int, ...], discrete: tuple[bool, ...] | None = None) -> None:
        self.factor_sizes = tuple(sizes)
        self.factor_names = tuple(f"f{i}" for i in range(len(sizes)))
        self.discrete = discrete or (False,) * len(sizes)

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        return indices / (np.asarray(self.factor_sizes) - 1.0)

    def render(self, indices: np.ndarray) -> np.ndarray:
        return self.factor_values(indices).astype(np.float32)[:, :, None, None]


def factors_of(images: np.ndarray) -> np.ndarray:
    """The factor values a GridFactors image holds, (n, F) float64."""
    return images.reshape(len(images), -1).astype(np.float64)


def monotone_codes(values: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Each factor through its own strictly monotone map (increasing or decreasing, none with a
    slope below 0.7 of the smallest), columns permuted: a perfectly disentangled code."""
    maps = [lambda v: 3.0 * v + 1.0, lambda v: -2.0 * v + 0.3 * np.sin(2.0 * v),
            lambda v: np.exp(0.5 * v), lambda v: 10.0 - v ** 1.2 - v, lambda v: 4.0 * v]
    codes = np.stack([maps[i % len(maps)](values[:, i]) for i in range(values.shape[1])], axis=1)
    return codes if order is None else codes[:, order]


def rotated_codes(values: np.ndarray) -> np.ndarray:
    """The first two factors rotated by 45 degrees: both dimensions carry both factors."""
    a, b = values[:, 0], values[:, 1]
    return np.stack([(a + b) / np.sqrt(2.0), (a - b) / np.sqrt(2.0)], axis=1)
