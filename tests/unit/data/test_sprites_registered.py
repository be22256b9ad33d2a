"""The procedural sprites through the registries: `sprites` loads like any embedded data set,
with its options checked, and rebuilds as the same FactorDataset the images came from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae_core.config import ConfigError
from vae_core.data import load_dataset
from vae_core.data.dsprites import ProceduralSprites
from vae_core.data.factor_sets import factor_dataset
from vae_core.models import build_model, model_config

GRID = {"shapes": 2, "scales": 2, "orientations": 3, "positions_x": 4, "positions_y": 4}


def test_sprites_load_through_the_registry_with_their_factors():
    splits = load_dataset("sprites", seed=1, n=192, **GRID)  # the whole 2 x 2 x 3 x 4 x 4 grid
    assert splits.name == "sprites" and splits.train.shape[1:] == (1, 64, 64)
    images = torch.cat([splits.train, splits.val, splits.test])
    factors = torch.cat([splits.train_factors, splits.val_factors, splits.test_factors]).numpy()
    assert len(images) == 192 and len(np.unique(factors, axis=0)) == 192  # each grid point once
    dataset = factor_dataset("sprites", GRID)
    assert isinstance(dataset, ProceduralSprites) and dataset.factor_sizes == (2, 2, 3, 4, 4)
    # Each image is the rendering of its factor values: every value occurs, so its rank on the
    # factor's grid is its index; render those indices again.
    indices = np.stack([np.searchsorted(np.unique(factors[:, f]), factors[:, f]) for f in range(5)], 1)
    np.testing.assert_allclose(dataset.factor_values(indices), factors, atol=1e-6)
    np.testing.assert_array_equal(dataset.render(indices), images.numpy())


def test_sprites_options_are_checked_by_key():
    with pytest.raises(ConfigError, match="^dataset_options for 'sprites'.*colours"):
        load_dataset("sprites", colours=3)


def test_conv64_builds_on_sprites_and_refuses_other_sizes():
    model = build_model(model_config({"arch": "conv64", "latent_size": 10}), (1, 64, 64))
    assert model.encode(torch.zeros(2, 1, 64, 64))[0].shape == (2, 10)
    with pytest.raises(ConfigError, match=r"^arch: 'conv64' needs images of shape \(C, 64, 64\)"):
        build_model(model_config({"arch": "conv64", "latent_size": 10}), (1, 32, 32))
