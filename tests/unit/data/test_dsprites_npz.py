"""The dSprites .npz reader on small files written here in the published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vae_core.config import ConfigError
from vae_core.data.downloaded import DatasetMissingError
from vae_core.data.dsprites_npz import (
    FILE,
    SOURCE,
    URL,
    DSpritesNpz,
    load_dsprites_npz,
    read_dsprites,
)
from vae_core.data.factors import FactorDataset, full_grid, sample_factor_indices

SIZES = (1, 3, 2, 4, 3, 2)  # colour, shape, scale, orientation, x, y: dSprites' grid, shrunk


def _write(path: Path, shuffle: bool = False, drop: int = 0) -> dict[str, np.ndarray]:
    """A file like the published one: grid-ordered rows, distinct 0/1 images, values per class."""
    rng = np.random.default_rng(0)
    grids = np.meshgrid(*[np.arange(s) for s in SIZES], indexing="ij")
    classes = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    values = np.stack([[1.0] * len(classes), classes[:, 1] + 1.0, 0.5 + 0.1 * classes[:, 2],
                       classes[:, 3] * 2 * np.pi / 40, classes[:, 4] / 31, classes[:, 5] / 31], axis=1)
    images = rng.integers(0, 2, (len(classes), 64, 64), dtype=np.uint8)
    order = rng.permutation(len(classes)) if shuffle else np.arange(len(classes))
    order = order[drop:]
    arrays = {"imgs": images[order], "latents_classes": classes[order], "latents_values": values[order]}
    metadata = np.array({"latents_names": ("color", "shape", "scale", "orientation", "posX", "posY")},
                        dtype=object)
    np.savez_compressed(path, metadata=metadata, **arrays)
    return arrays


@pytest.mark.parametrize("shuffle", [False, True])
def test_render_looks_up_the_files_own_pixels(tmp_path: Path, shuffle: bool) -> None:
    arrays = _write(tmp_path / FILE, shuffle=shuffle)
    dataset = read_dsprites(tmp_path / FILE)
    assert isinstance(dataset, FactorDataset)
    assert dataset.factor_names == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert dataset.factor_sizes == SIZES[1:]
    assert dataset.discrete == (True, False, False, False, False)
    indices = np.concatenate([full_grid(dataset),
                              sample_factor_indices(dataset, 50, np.random.default_rng(1))])
    images = dataset.render(indices)
    assert images.shape == (len(indices), 1, 64, 64) and images.dtype == np.float32
    for index, image, values in zip(indices, images, dataset.factor_values(indices)):
        row = np.flatnonzero((arrays["latents_classes"][:, 1:] == index).all(1))
        assert len(row) == 1
        np.testing.assert_array_equal(image[0], arrays["imgs"][row[0]])
        np.testing.assert_allclose(values, arrays["latents_values"][row[0], 1:])


def test_a_file_missing_combinations_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / FILE, shuffle=True, drop=1)
    with pytest.raises(DatasetMissingError, match="143 rows do not cover the 144 combinations"):
        read_dsprites(tmp_path / FILE)


def test_a_missing_file_names_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError, match="github.com/deepmind/dsprites-dataset"):
        read_dsprites(tmp_path / FILE)
    assert SOURCE.files == (FILE,) and URL.endswith("/" + FILE)


def test_bad_arrays_and_indices_are_refused() -> None:
    classes = np.zeros((2, 6), int)
    classes[1, 1] = 1
    dataset = DSpritesNpz(np.zeros((2, 4, 4), np.uint8), classes, np.zeros((2, 6)))
    assert dataset.factor_sizes == (2,)
    with pytest.raises(ConfigError, match=r"dsprites render: expected \(n, 1\) indices below \(2,\)"):
        dataset.render(np.array([[2]]))
    with pytest.raises(DatasetMissingError, match="expected imgs"):
        DSpritesNpz(np.zeros((2, 4, 4)), classes[:, :5], np.zeros((2, 5)))


def test_loader_splits_the_whole_small_grid_once(tmp_path: Path) -> None:
    (tmp_path / "dsprites").mkdir()
    _write(tmp_path / "dsprites" / FILE, shuffle=True)
    splits = load_dsprites_npz(seed=1, val_fraction=0.25, data_dir=tmp_path, n=10**6)
    factors = torch.cat([splits.train_factors, splits.val_factors, splits.test_factors]).numpy()
    dataset = read_dsprites(tmp_path / "dsprites" / FILE)
    assert sorted(map(tuple, factors)) == sorted(map(tuple, full_grid(dataset)))
    images = torch.cat([splits.train, splits.val, splits.test]).numpy()
    np.testing.assert_array_equal(images, dataset.render(factors))
    labels = torch.cat([splits.train_labels, splits.val_labels, splits.test_labels]).numpy()
    np.testing.assert_array_equal(labels, factors[:, 0])
    part = load_dsprites_npz(seed=1, val_fraction=0.25, data_dir=tmp_path, n=50)
    assert len(part.train) + len(part.val) + len(part.test) == 50
