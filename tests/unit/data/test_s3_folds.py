"""k-fold cross-validation: disjoint folds covering the training pool once, seeded, validated."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.config import ConfigError
from vae_core.data.folds import fold_splits, kfold_indices, validate_folds
from vae_core.data.splits import DatasetSplits


def _splits(n_train: int = 37, n_val: int = 9, n_test: int = 11) -> DatasetSplits:
    """Rows whose single feature is their id: train 0.., then val, then test ids."""
    ids = torch.arange(n_train + n_val + n_test, dtype=torch.float32)[:, None]
    labels = ids[:, 0].long() % 10
    return DatasetSplits(
        name="toy", options={"seed": 0}, train=ids[:n_train], val=ids[n_train:n_train + n_val],
        test=ids[n_train + n_val:], train_labels=labels[:n_train],
        val_labels=labels[n_train:n_train + n_val], test_labels=labels[n_train + n_val:])


@pytest.mark.parametrize(("n", "k"), [(10, 2), (46, 10), (23, 23), (101, 7)])
def test_folds_are_disjoint_and_cover_every_index_once(n, k):
    folds = kfold_indices(n, k, seed=0)
    assert len(folds) == k
    held_out = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(held_out), np.arange(n))  # each index once
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
        assert len(val) in (n // k, n // k + 1)


def test_same_seed_same_folds_other_seed_other_folds():
    a, b, c = (kfold_indices(100, 10, seed) for seed in (5, 5, 6))
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[1], z[1]) for x, z in zip(a, c))


def test_fold_splits_pool_train_and_val_and_keep_test():
    splits = _splits()
    k = 5
    held_out = []
    for fold in range(k):
        part = fold_splits(splits, fold, k, seed=1)
        train_ids = set(part.train[:, 0].long().tolist())
        val_ids = set(part.val[:, 0].long().tolist())
        assert train_ids.isdisjoint(val_ids) and train_ids | val_ids == set(range(46))
        torch.testing.assert_close(part.test, splits.test)
        torch.testing.assert_close(part.test_labels, splits.test_labels)
        assert torch.equal(part.val_labels, part.val[:, 0].long() % 10)  # labels follow rows
        assert torch.equal(part.train_labels, part.train[:, 0].long() % 10)
        assert part.options["fold"] == fold and part.options["folds"] == k
        held_out += sorted(val_ids)
    assert sorted(held_out) == list(range(46))  # the pool: train and val, each row once


def test_two_calls_give_the_ae_and_the_vae_the_same_rows():
    a, b = fold_splits(_splits(), 3, 10, seed=2), fold_splits(_splits(), 3, 10, seed=2)
    assert torch.equal(a.train, b.train) and torch.equal(a.val, b.val)


@pytest.mark.parametrize(("k", "n", "pattern"), [
    (1, 50, r"folds: 1 folds cannot cross-validate; give folds >= 2"),
    (0, 50, r"folds >= 2"),
    (51, 50, r"folds: 51 folds is more than the 50 training samples; give folds <= 50"),
    (2.5, 50, r"folds: expected an integer"),
])
def test_bad_fold_counts_are_refused(k, n, pattern):
    with pytest.raises(ConfigError, match=pattern):
        validate_folds(k, n)


def test_bad_fold_number_is_refused_and_too_many_folds_for_the_pool():
    with pytest.raises(ConfigError, match=r"fold: 5 is not one of the 5 folds; give 0 <= fold <= 4"):
        fold_splits(_splits(), 5, 5, seed=0)
    with pytest.raises(ConfigError, match=r"more than the 46 training samples"):
        fold_splits(_splits(), 0, 47, seed=0)
