"""The one shape every dataset takes: train/val/test tensors in memory, with labels or factors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class DatasetSplits:
    """Float32 tensors (N, *sample_shape) per split; labels (N,) and factors (N, F) when known.

    `extras` holds ground truth that analyses need (e.g. the W, b, sigma of `pca` data).
    """

    name: str
    options: dict[str, Any]
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    train_factors: torch.Tensor | None = None
    val_factors: torch.Tensor | None = None
    test_factors: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])

    @property
    def data_dim(self) -> int:
        return int(np.prod(self.sample_shape))

    def fingerprint(self) -> str:
        """A short content hash, so a run records exactly which data it saw."""
        digest = hashlib.sha256()
        for tensor in (self.train, self.val, self.test):
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        for key in ("train", "val", "test", "train_labels", "val_labels", "test_labels",
                    "train_factors", "val_factors", "test_factors"):
            value = getattr(self, key)
            if value is not None:
                arrays[key] = value.numpy()
        for key, value in self.extras.items():
            arrays[f"extra_{key}"] = np.asarray(value)
        return arrays


def split_train_val(
    x: torch.Tensor, y: torch.Tensor | None, val_fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A fixed, seeded split of a training set (S0 trains on a fixed 80%, seed 42)."""
    n = x.shape[0]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(round(n * val_fraction))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if y is None:
        return x[train_idx], x[val_idx], None, None
    return x[train_idx], x[val_idx], y[train_idx], y[val_idx]


def three_way_split(
    x: torch.Tensor,
    y: torch.Tensor | None,
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> dict[str, torch.Tensor | None]:
    """Split one pool into disjoint train/val/test parts (for data sets without a test split)."""
    rest_x, test_x, rest_y, test_y = split_train_val(x, y, test_fraction, seed)
    train_x, val_x, train_y, val_y = split_train_val(rest_x, rest_y, val_fraction, seed + 1)
    return {"train": train_x, "val": val_x, "test": test_x,
            "train_y": train_y, "val_y": val_y, "test_y": test_y}
