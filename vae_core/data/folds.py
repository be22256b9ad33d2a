"""k-fold cross-validation on a data set's training pool (S3: 10 folds, test on the test split).

S3 cross-validates on the whole training split, so the data set's own val split is merged back
into the pool (train rows first, then val rows) before the folds are cut; each fold's val split
is its held-out fold and its test split is the data set's test split, untouched. Folds depend
only on (pool size, k, seed), so the AE and the VAE of one configuration, given the same loaded
data and seed, train and validate on the same rows.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import KFold

from vae_core.config import ConfigError, require_int
from vae_core.data.splits import DatasetSplits


def validate_folds(k: int, n_samples: int) -> int:
    """Refuse a fold count that KFold cannot cut from n_samples, before any run."""
    require_int("folds", k)
    if k < 2:
        raise ConfigError(f"folds: {k} folds cannot cross-validate; give folds >= 2 (S3 uses 10)")
    if k > n_samples:
        raise ConfigError(f"folds: {k} folds is more than the {n_samples} training samples; "
                          f"give folds <= {n_samples}")
    return k


def kfold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train_idx, val_idx) per fold from scikit-learn's shuffled KFold; every index is in
    exactly one val fold."""
    validate_folds(k, n)
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n)))


def _pool(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    return None if first is None or second is None else torch.cat([first, second])


def fold_splits(splits: DatasetSplits, fold: int, k: int, seed: int) -> DatasetSplits:
    """Fold `fold` of k: train = pool minus the fold, val = the fold, test = the data's test."""
    require_int("fold", fold, minimum=0)
    if fold >= k:
        raise ConfigError(f"fold: {fold} is not one of the {k} folds; give 0 <= fold <= {k - 1}")
    pool = torch.cat([splits.train, splits.val])
    train_idx, val_idx = (torch.from_numpy(i) for i in kfold_indices(len(pool), k, seed)[fold])
    labels = _pool(splits.train_labels, splits.val_labels)
    factors = _pool(splits.train_factors, splits.val_factors)
    return DatasetSplits(
        name=splits.name, options={**splits.options, "fold": fold, "folds": k, "fold_seed": seed},
        train=pool[train_idx], val=pool[val_idx], test=splits.test,
        train_labels=None if labels is None else labels[train_idx],
        val_labels=None if labels is None else labels[val_idx],
        test_labels=splits.test_labels,
        train_factors=None if factors is None else factors[train_idx],
        val_factors=None if factors is None else factors[val_idx],
        test_factors=splits.test_factors, extras=dict(splits.extras))
