"""Train/val/test splits of distinct scenes drawn from a FactorDataset's grid.

Ground-truth-factor sets are grids far too large to hold rendered (3dshapes' 480,000 RGB
scenes are 23 GB as float32), so a loader draws n distinct grid cells, renders them once, and
splits them like the embedded sets: 20% test, then val_fraction of the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vae_core.data.factors import FactorDataset
from vae_core.data.splits import DatasetSplits, three_way_split

TEST_FRACTION = 0.2


def distinct_factor_rows(dataset: FactorDataset, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct factor rows drawn without replacement, in grid order; the whole grid if n >= it."""
    total = int(np.prod(dataset.factor_sizes))
    flat = np.arange(total) if n >= total else np.sort(rng.choice(total, n, replace=False))
    return np.stack(np.unravel_index(flat, dataset.factor_sizes), axis=1)


def factor_splits(name: str, dataset: FactorDataset, n: int, seed: int, val_fraction: float,
                  label_factor: str, options: dict[str, Any]) -> DatasetSplits:
    """n distinct scenes (seeded), split 20% test / val_fraction of the rest; factors are the
    grid indices, labels the `label_factor` column."""
    factors = distinct_factor_rows(dataset, n, np.random.default_rng(seed))
    images = torch.from_numpy(np.ascontiguousarray(dataset.render(factors)))
    parts = three_way_split(images, torch.from_numpy(factors), TEST_FRACTION, val_fraction, seed)
    label = dataset.factor_names.index(label_factor)
    return DatasetSplits(
        name=name, options=options, train=parts["train"], val=parts["val"], test=parts["test"],
        train_labels=parts["train_y"][:, label], val_labels=parts["val_y"][:, label],
        test_labels=parts["test_y"][:, label],
        train_factors=parts["train_y"], val_factors=parts["val_y"], test_factors=parts["test_y"],
    )
