"""The procedural dSprites: every factor visible, the grid covered once, areas right, seeded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vae_core.config import ConfigError
from vae_core.data.dsprites import SHAPE_AREA, ProceduralSprites, load_dsprites
from vae_core.data.factors import FactorDataset, full_grid, sample_factor_indices


@pytest.fixture(scope="module")
def sprites() -> ProceduralSprites:
    return ProceduralSprites()


def test_is_a_factor_dataset_with_dsprites_grid(sprites: ProceduralSprites) -> None:
    assert isinstance(sprites, FactorDataset)
    assert sprites.factor_sizes == (3, 6, 40, 32, 32)
    values = sprites.factor_values(full_grid(ProceduralSprites(3, 6, 40, 2, 2)))
    np.testing.assert_allclose(np.unique(values[:, 1]), np.linspace(0.5, 1.0, 6))
    np.testing.assert_allclose(np.unique(values[:, 2]), 2 * np.pi * np.arange(40) / 40)
    np.testing.assert_allclose(np.unique(values[:, 3]), [0.0, 1.0 / 31])


def test_every_single_factor_step_changes_the_image(sprites: ProceduralSprites) -> None:
    """From 60 random combinations, one grid step of any one factor changes some pixel."""
    base = sample_factor_indices(sprites, 60, np.random.default_rng(0))
    before = sprites.render(base)
    for f, size in enumerate(sprites.factor_sizes):
        moved = base.copy()
        moved[:, f] = np.where(base[:, f] + 1 < size, base[:, f] + 1, base[:, f] - 1)
        changed = np.abs(sprites.render(moved) - before).sum(axis=(1, 2, 3))
        assert (changed > 0).all(), f"factor {sprites.factor_names[f]} left an image unchanged"


def test_full_grid_covers_each_combination_once() -> None:
    small = ProceduralSprites(shapes=2, scales=2, orientations=3, positions_x=4, positions_y=5)
    grid = full_grid(small)
    assert sorted(map(tuple, grid)) == sorted(itertools.product(range(2), range(2), range(3), range(4), range(5)))
    assert len(np.unique(small.factor_values(grid), axis=0)) == len(grid) == 240


def test_rendering_is_deterministic_and_binary(sprites: ProceduralSprites) -> None:
    indices = sample_factor_indices(sprites, 40, np.random.default_rng(1))
    images = sprites.render(indices)
    np.testing.assert_array_equal(images, ProceduralSprites().render(indices))
    assert images.shape == (40, 1, 64, 64) and images.dtype == np.float32
    assert set(np.unique(images)) <= {0.0, 1.0}


def test_areas_match_the_shapes_and_scales(sprites: ProceduralSprites) -> None:
    """Pixel counts, averaged over orientations, equal the template area times scale^2
    (within 3%): the three shapes have equal area, so area tells scale, not shape."""
    for shape, scale in itertools.product(range(3), (0, 5)):
        rows = np.array([[shape, scale, o, 16, 16] for o in range(40)])
        area = sprites.render(rows).sum(axis=(1, 2, 3)).mean()
        assert area == pytest.approx(SHAPE_AREA * np.linspace(0.5, 1, 6)[scale] ** 2, rel=0.03)


def test_largest_shape_is_never_clipped(sprites: ProceduralSprites) -> None:
    """At the extreme positions the largest shapes keep their full area and miss the border."""
    rows = np.array([[s, 5, o, x, y] for s in range(3) for o in range(0, 40, 5) for x in (0, 31)
                     for y in (0, 31)])
    images = sprites.render(rows)
    centred = sprites.render(np.column_stack([rows[:, :3], np.full((len(rows), 2), 16)]))
    border = images[..., 0, :].sum() + images[..., -1, :].sum() + images[..., :, 0].sum() + images[..., :, -1].sum()
    assert border == 0
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), centred.sum(axis=(1, 2, 3)), rtol=0.1)


def test_loader_draws_distinct_seeded_images() -> None:
    splits = load_dsprites(seed=3, val_fraction=0.25, n=400)
    again = load_dsprites(seed=3, val_fraction=0.25, n=400)
    assert splits.fingerprint() == again.fingerprint()
    assert (len(splits.train), len(splits.val), len(splits.test)) == (240, 80, 80)
    factors = np.concatenate([splits.train_factors, splits.val_factors, splits.test_factors])
    assert len(np.unique(factors, axis=0)) == 400
    np.testing.assert_array_equal(splits.train_labels.numpy(), splits.train_factors[:, 0].numpy())
    assert splits.sample_shape == (1, 64, 64)
    assert load_dsprites(seed=4, val_fraction=0.25, n=400).fingerprint() != splits.fingerprint()


def test_loader_images_belong_to_their_factors() -> None:
    """After the split, each image is the rendering of the factor values stored beside it."""
    splits = load_dsprites(seed=5, val_fraction=0.2, n=200)
    values = splits.test_factors.numpy().astype(np.float64)
    indices = np.column_stack([values[:, 0], (values[:, 1] - 0.5) / 0.1, values[:, 2] / (2 * np.pi / 40),
                               values[:, 3] * 31, values[:, 4] * 31])
    indices = np.rint(indices).astype(int)
    np.testing.assert_allclose(ProceduralSprites().factor_values(indices), values, atol=1e-6)
    np.testing.assert_array_equal(ProceduralSprites().render(indices), splits.test.numpy())


def test_bad_options_raise() -> None:
    with pytest.raises(ConfigError, match="shapes"):
        ProceduralSprites(shapes=4)
    with pytest.raises(ConfigError, match="orientations"):
        ProceduralSprites(orientations=0)
    with pytest.raises(ConfigError, match="n: 100"):
        load_dsprites(seed=0, val_fraction=0.2, n=100, shapes=1, scales=1, orientations=2, positions_x=5,
                      positions_y=5)
