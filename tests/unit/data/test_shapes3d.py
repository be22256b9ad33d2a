"""The 3D-shapes-like set: a FactorDataset whose every single-factor step shows, and its loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.config import ConfigError
from vae_core.data.factors import FactorDataset, full_grid, sample_factor_indices
from vae_core.data.shapes3d import Shapes3D, hue_to_rgb, load_shapes3d

SMALL_GRID = {"floor_hues": 2, "wall_hues": 3, "object_hues": 2, "scales": 2, "shapes": 4,
              "orientations": 3}


def test_it_is_a_deterministic_factor_dataset_of_rgb_images() -> None:
    dataset = Shapes3D()
    assert isinstance(dataset, FactorDataset)
    assert dataset.factor_sizes == (10, 10, 10, 8, 4, 15)
    assert dataset.discrete == (False, False, False, False, True, False)
    indices = sample_factor_indices(dataset, 300, np.random.default_rng(0))
    images = dataset.render(indices)
    assert images.shape == (300, 3, 64, 64) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, Shapes3D().render(indices))  # a fresh instance agrees
    np.testing.assert_array_equal(images[::7], dataset.render(indices[::7]))  # rows independent


def test_hues_are_saturated_and_distinct() -> None:
    rgb = hue_to_rgb(np.arange(10) / 10)
    np.testing.assert_allclose(rgb[[0]], [[1, 0, 0]], atol=1e-6)  # hue 0 is red
    assert (rgb.max(1) == 1).all() and (rgb.min(1) == 0).all()
    assert len({tuple(c) for c in np.round(rgb, 6)}) == 10


def test_factor_values_span_the_documented_ranges() -> None:
    dataset = Shapes3D()
    first, last = np.zeros((1, 6), int), np.array([[9, 9, 9, 7, 3, 14]])
    np.testing.assert_allclose(dataset.factor_values(first), [[0, 0, 0, 0.75, 0, -30]])
    np.testing.assert_allclose(dataset.factor_values(last), [[0.9, 0.9, 0.9, 1.25, 3, 30]])


@pytest.mark.parametrize("image_size", [64, 16])
def test_every_single_factor_step_changes_the_image(image_size: int) -> None:
    """The smallest steps of the default grid (neighbouring values) from 40 random scenes, and
    every shape against every other."""
    dataset = Shapes3D(image_size=image_size)
    base = sample_factor_indices(dataset, 40, np.random.default_rng(1))
    images = dataset.render(base)
    for factor, size in enumerate(dataset.factor_sizes):
        for step in range(1, size if factor == 4 else 2):
            moved = base.copy()
            moved[:, factor] = (base[:, factor] + step) % size
            change = np.abs(dataset.render(moved) - images).reshape(40, -1).max(1)
            assert (change > 0.02).all(), (dataset.factor_names[factor], step, change.min())


def test_loader_covers_a_small_grid_exactly_once() -> None:
    splits = load_shapes3d(seed=3, val_fraction=0.25, n=10**6, image_size=16, **SMALL_GRID)
    dataset = Shapes3D(image_size=16, **SMALL_GRID)
    factors = torch.cat([splits.train_factors, splits.val_factors, splits.test_factors]).numpy()
    images = torch.cat([splits.train, splits.val, splits.test]).numpy()
    grid = full_grid(dataset)
    assert len(factors) == len(grid) == 2 * 3 * 2 * 2 * 4 * 3
    assert sorted(map(tuple, factors)) == sorted(map(tuple, grid))
    np.testing.assert_array_equal(images, dataset.render(factors))
    labels = torch.cat([splits.train_labels, splits.val_labels, splits.test_labels]).numpy()
    np.testing.assert_array_equal(labels, factors[:, 4])
    assert len(splits.test) == round(0.2 * len(grid))
    assert splits.options["scales"] == 2 and splits.options["n"] == 10**6


def test_loader_draws_distinct_scenes_reproducibly() -> None:
    first = load_shapes3d(seed=5, val_fraction=0.2, n=500, image_size=8)
    again = load_shapes3d(seed=5, val_fraction=0.2, n=500, image_size=8)
    other = load_shapes3d(seed=6, val_fraction=0.2, n=500, image_size=8)
    factors = torch.cat([first.train_factors, first.val_factors, first.test_factors]).numpy()
    assert len({tuple(row) for row in factors}) == 500
    assert first.fingerprint() == again.fingerprint() != other.fingerprint()
    assert first.sample_shape == (3, 8, 8)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown option"):
        load_shapes3d(seed=0, val_fraction=0.2, colours=3)
    with pytest.raises(ConfigError, match="shapes3d shapes: at most 4"):
        Shapes3D(shapes=5)
    with pytest.raises(ConfigError, match="shapes3d scales: must be >= 1, got 0"):
        Shapes3D(scales=0)
    with pytest.raises(ConfigError, match="shapes3d render: expected"):
        Shapes3D().render(np.array([[0, 0, 0, 8, 0, 0]]))
