"""The synthetic manifolds of study S4: noisy low-dimensional curves, min-max scaled to [0, 1]."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from vae_core.data.splits import DatasetSplits, three_way_split


def _circle(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(t), np.sin(t)], 1), t[:, None]


def _eight_gaussians(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    blob = rng.integers(0, 8, n)
    angle = blob * np.pi / 4
    return 0.4 * np.stack([np.cos(angle), np.sin(angle)], 1), blob[:, None].astype(float)


def _cosine(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(-np.pi, np.pi, n)
    return np.stack([t, np.cos(t) + 1], 1), t[:, None]


def _eight(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 2 * np.pi, n)  # lemniscate of Gerono
    return np.stack([np.cos(t), np.sin(t) * np.cos(t)], 1), t[:, None]


def _line(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 1, n)
    return np.stack([t, t], 1), t[:, None]


def _swiss_roll(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    height = 21 * rng.uniform(size=n)
    return np.stack([t * np.cos(t), height, t * np.sin(t)], 1), np.stack([t, height], 1)


def _spiral_3d(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, 4 * np.pi, n)
    return np.stack([np.cos(t), np.sin(t), t / (4 * np.pi)], 1), t[:, None]


CURVES: dict[str, Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]] = {
    "circle": _circle, "8gauss": _eight_gaussians, "cosine": _cosine, "eight": _eight,
    "line": _line, "swiss_roll": _swiss_roll, "spiral_3D": _spiral_3d,
}


def embedded_manifold(rng: np.random.Generator, n: int, k: int, D: int) -> tuple[np.ndarray, np.ndarray]:
    """k base coordinates; each of the other D - k is 0.35 cos(b_i^2 + b_j^2) of a random pair."""
    base = rng.uniform(-1, 1, size=(n, k))
    pairs = rng.integers(0, k, size=(D - k, 2))
    extra = [0.35 * np.cos(base[:, i] ** 2 + base[:, j] ** 2) for i, j in pairs]
    return np.concatenate([base, np.stack(extra, 1)], 1) if extra else base, base


def minmax_scale(x: np.ndarray) -> np.ndarray:
    low, high = x.min(0), x.max(0)
    return (x - low) / np.where(high > low, high - low, 1.0)


def load_manifold(
    name: str, seed: int, val_fraction: float, n: int = 50000, noise: float = 0.05,
    k: int = 2, D: int = 3,
) -> DatasetSplits:
    """Curve points plus Gaussian noise (std `noise`), min-max scaled; factors = curve parameters."""
    rng = np.random.default_rng(seed)
    if name == "manifold":
        clean, factors = embedded_manifold(rng, n, k, D)
        options = {"n": n, "noise": noise, "k": k, "D": D}
    else:
        clean, factors = CURVES[name](rng, n)
        options = {"n": n, "noise": noise}
    x = minmax_scale(clean + noise * rng.normal(size=clean.shape))
    parts = three_way_split(torch.tensor(x, dtype=torch.float32),
                            torch.tensor(factors, dtype=torch.float32), 0.2, val_fraction, seed)
    return DatasetSplits(
        name=name, options=options, train=parts["train"], val=parts["val"], test=parts["test"],
        train_factors=parts["train_y"], val_factors=parts["val_y"], test_factors=parts["test_y"],
    )
