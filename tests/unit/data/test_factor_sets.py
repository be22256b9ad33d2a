"""A registered factor data set's loader and `factor_dataset` agree: the split images are the
FactorDataset's renders of the split's own factor indices, for shapes3d and dSprites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.unit.data.test_dsprites_npz import _write
from vae_core.config import ConfigError
from vae_core.data import DATASETS, load_dataset
from vae_core.data.dsprites_npz import FILE
from vae_core.data.factor_sets import factor_dataset

GRID = {"floor_hues": 2, "wall_hues": 3, "object_hues": 2, "scales": 3, "shapes": 4, "orientations": 5}


def _assert_renders_match(splits, dataset) -> None:
    for split in ("train", "val", "test"):
        factors = getattr(splits, f"{split}_factors").numpy()
        assert factors.shape[1] == len(dataset.factor_sizes)
        np.testing.assert_array_equal(dataset.render(factors), getattr(splits, split).numpy())


def test_shapes3d_splits_are_the_factor_datasets_renders() -> None:
    options = {"n": 300, "image_size": 12, **GRID}
    splits = load_dataset("shapes3d", seed=5, **options)
    dataset = factor_dataset("shapes3d", options)
    assert dataset.factor_sizes == tuple(GRID.values()) and splits.sample_shape == (3, 12, 12)
    _assert_renders_match(splits, dataset)
    assert torch.equal(splits.train_labels, splits.train_factors[:, 4])  # the shape factor
    assert factor_dataset("shapes3d").factor_sizes == (10, 10, 10, 8, 4, 15)  # registry defaults


def test_dsprites_is_registered_and_rebuilt_from_its_file(tmp_path: Path) -> None:
    (tmp_path / "dsprites").mkdir()
    _write(tmp_path / "dsprites" / FILE, shuffle=True)
    splits = load_dataset("dsprites", seed=2, data_dir=tmp_path, n=40)
    assert DATASETS["dsprites"].kind == "downloaded" and len(splits.train) + len(splits.val) + len(
        splits.test) == 40
    _assert_renders_match(splits, factor_dataset("dsprites", {"n": 40}, data_dir=tmp_path))


def test_data_sets_without_factors_and_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="^dataset: 'digits' has no ground-truth factors; data sets "
                                          "with factors: shapes3d, dsprites, sprites$"):
        factor_dataset("digits")
    with pytest.raises(ConfigError, match="colours"):
        factor_dataset("shapes3d", {"colours": 3})
