"""The fingerprint: distinct grid points of a factor data set, labels for a labelled one, and
files that are refused in one line when they cannot be a fingerprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vae_core.config import ConfigError
from vae_core.data.dsprites import ProceduralSprites
from vae_core.experiment import DataConfig
from vae_core.studies.info_channels.fingerprint import (
    distinct_grid_points,
    make_fingerprint,
    read_fingerprint,
    save_fingerprint,
)

GRID = {"shapes": 2, "scales": 2, "orientations": 2, "positions_x": 3, "positions_y": 3}


def test_sprites_fingerprint_is_its_factor_values_rendered(tmp_path: Path):
    data = DataConfig(dataset="sprites", dataset_options=GRID)
    arrays = make_fingerprint(data, 72, seed=1)  # the whole 2 x 2 x 2 x 3 x 3 grid
    dataset = ProceduralSprites(**GRID)
    factors = arrays["factors"]
    assert len(np.unique(factors, axis=0)) == 72
    indices = np.stack([np.searchsorted(np.unique(factors[:, f]), factors[:, f]) for f in range(5)], 1)
    np.testing.assert_array_equal(dataset.render(indices), arrays["images"])
    again = read_fingerprint(save_fingerprint(make_fingerprint(data, 72, seed=1), tmp_path / "f.npz"))
    np.testing.assert_array_equal(again["factors"], factors)
    assert list(again["factor_names"]) == list(dataset.factor_names)


def test_a_labelled_data_set_gives_its_test_points_and_labels():
    arrays = make_fingerprint(DataConfig(dataset="digits"), 50, seed=0)
    assert arrays["images"].shape[0] == 50 and list(arrays["factor_names"]) == ["label"]
    assert set(np.unique(arrays["factors"])) <= set(range(10))


def test_impossible_fingerprints_are_refused(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^n_points: 100 exceeds the 72 points of the factor grid"):
        distinct_grid_points((2, 2, 2, 3, 3), 100, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="^fingerprint: file .* not found"):
        read_fingerprint(tmp_path / "none.npz")
    np.savez(tmp_path / "flat.npz", images=np.zeros((5, 64)))
    with pytest.raises(ConfigError, match=r"^fingerprint: .* no 'images' array of shape \(M, C, H, W\)"):
        read_fingerprint(tmp_path / "flat.npz")
