"""Frey Face read from a .mat written here in the original's format: `ff`, 560 x N, uint8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import savemat

from vae_core.data import downloaded
from vae_core.data.downloaded import DatasetMissingError
from vae_core.data.frey_face import FREY_FACE, load_frey_face, read_frey_face

N_IMAGES = 300


def _faces(n: int, seed: int = 0) -> np.ndarray:
    """Distinct uint8 28 x 20 images; image i carries i in its first two pixels (a readable id)."""
    faces = np.random.default_rng(seed).integers(0, 256, size=(n, 28, 20), dtype=np.uint8)
    faces[:, 0, 0], faces[:, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    return faces


def _write(folder: Path, faces: np.ndarray) -> None:
    # The original layout: column j is image j flattened row-major (ff.T.reshape(-1, 28, 20)).
    ff = np.stack([face.ravel() for face in faces], axis=1)
    assert ff.shape == (560, len(faces)) and ff.dtype == np.uint8
    folder.mkdir(exist_ok=True)
    savemat(folder / "frey_rawface.mat", {"ff": ff})


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(downloaded.SOURCES, "frey_face", FREY_FACE)  # registered already; kept explicit


def _ids(x: torch.Tensor) -> set[int]:
    pixels = (x[:, 0, 0, :2] * 255).round().long()
    return set((pixels[:, 0] * 256 + pixels[:, 1]).tolist())


def test_reader_recovers_the_images_in_order(tmp_path):
    faces = _faces(7)
    _write(tmp_path, faces)
    np.testing.assert_array_equal(read_frey_face(tmp_path / "frey_rawface.mat"), faces)


def test_splits_are_disjoint_cover_the_images_and_scaled(tmp_path, registered):
    faces = _faces(N_IMAGES)
    _write(tmp_path / "frey_face", faces)
    splits = load_frey_face(seed=3, val_fraction=0.1, data_dir=tmp_path)
    assert splits.sample_shape == (1, 28, 20)
    assert splits.train_labels is None and splits.test_labels is None
    parts = [splits.train, splits.val, splits.test]
    assert sum(len(p) for p in parts) == N_IMAGES and len(splits.test) == 60
    ids = [_ids(p) for p in parts]
    assert ids[0].isdisjoint(ids[1]) and ids[0].isdisjoint(ids[2]) and ids[1].isdisjoint(ids[2])
    assert set.union(*ids) == set(range(N_IMAGES))
    pool = torch.cat(parts).flatten(1)
    assert torch.unique(pool, dim=0).shape[0] == N_IMAGES  # pixel-wise: no image twice
    assert float(pool.min()) >= 0.0 and float(pool.max()) <= 1.0
    by_id = {i: torch.from_numpy(faces[i]).float() / 255 for i in range(N_IMAGES)}
    for image in splits.test[:5]:
        torch.testing.assert_close(image[0], by_id[next(iter(_ids(image[None])))])


def test_test_split_is_fixed_across_seeds_and_duplicates_are_dropped(tmp_path, registered):
    faces = _faces(N_IMAGES)
    faces[10], faces[250] = faces[5], faces[5]  # three copies of one frame
    _write(tmp_path / "frey_face", faces)
    a = load_frey_face(seed=0, val_fraction=0.2, data_dir=tmp_path)
    b = load_frey_face(seed=1, val_fraction=0.2, data_dir=tmp_path)
    torch.testing.assert_close(a.test, b.test)
    assert not torch.equal(a.train, b.train)  # the run seed moves only train/val
    pool = torch.cat([a.train, a.val, a.test]).flatten(1)
    assert len(pool) == N_IMAGES - 2 and a.extras["duplicates_dropped"] == 2
    assert torch.unique(pool, dim=0).shape[0] == len(pool)


def test_limit_caps_train_and_val_only(tmp_path, registered):
    _write(tmp_path / "frey_face", _faces(N_IMAGES))
    full = load_frey_face(seed=0, val_fraction=0.2, data_dir=tmp_path)
    small = load_frey_face(seed=0, val_fraction=0.2, data_dir=tmp_path, limit=50)
    assert len(small.train) + len(small.val) == 50
    torch.testing.assert_close(small.test, full.test)


def test_missing_file_and_wrong_layout_are_refused(tmp_path, registered):
    with pytest.raises(DatasetMissingError, match="frey_rawface.mat"):
        load_frey_face(seed=0, val_fraction=0.2, data_dir=tmp_path)
    savemat(tmp_path / "frey_rawface.mat", {"ff": np.zeros((28, 20), dtype=np.uint8)})
    with pytest.raises(DatasetMissingError, match=r"expected \(560, N\)"):
        read_frey_face(tmp_path / "frey_rawface.mat")
