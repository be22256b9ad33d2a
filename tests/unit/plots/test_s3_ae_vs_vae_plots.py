"""S3's figures on random inputs, and the latent grids and tiling they rest on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from vae_core.plots.ae_vs_vae import (
    image_grid_figure,
    latent_histograms_figure,
    latent_scatter_figure,
    metric_curves_figure,
    prior_grid_samples,
    reconstructions_figure,
    tile_images,
    traversal_figure,
    traversal_grid,
)

SHAPES = [(1, 8, 8), (1, 28, 28), (1, 28, 20)]


def test_traversal_grid_covers_the_square_row_major():
    grid = traversal_grid(21, 3.0, latent_size=4)
    assert grid.shape == (441, 4)
    assert np.all(grid[:, 2:] == 0.0)
    values = np.linspace(-3.0, 3.0, 21)
    for row in range(21):  # brute force: row r has z_1 = values[20 - r], column c has z_0 = values[c]
        for col in range(21):
            np.testing.assert_allclose(grid[row * 21 + col, :2], [values[col], values[20 - row]],
                                       atol=1e-6)
    with pytest.raises(ValueError, match="needs >= 2"):
        traversal_grid(latent_size=1)


def test_prior_grid_samples_are_seeded_draws_from_the_prior():
    z = prior_grid_samples(latent_size=3, seed=4, prior_mean=2.0, prior_var=9.0)
    assert z.shape == (100, 3)
    eps = torch.randn(100, 3, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(z, 2.0 + 3.0 * eps)


@pytest.mark.parametrize("shape", [*SHAPES, (3, 4, 5)])
def test_tile_images_matches_a_loop(shape):
    rows, cols = 3, 4
    images = np.random.default_rng(0).random((rows * cols, *shape))
    tiled = tile_images(images, rows, cols)
    c, h, w = shape
    for i in range(rows * cols):
        r, k = divmod(i, cols)
        block = tiled[r * h:(r + 1) * h, k * w:(k + 1) * w]
        expected = images[i, 0] if c == 1 else images[i].transpose(1, 2, 0)
        np.testing.assert_allclose(block, expected, rtol=1e-6)
    np.testing.assert_allclose(tile_images(images[:, 0], rows, cols), tile_images(images[:, :1], rows, cols))


def _history() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"fold": f, "epoch": e, "split": s, "mse": rng.random(), "bce": rng.random()}
            for f in range(3) for e in range(5) for s in ("train", "val")]
    return pd.DataFrame(rows)


def test_metric_curves_one_panel_per_metric_with_mean_and_band():
    history = _history()
    fig = metric_curves_figure(history, ["mse", "bce"])
    assert len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and len(fig.axes[0].collections) == 2  # train, val: mean and band
    val = history[history.split == "val"].groupby("epoch").mse.mean().to_numpy()
    np.testing.assert_allclose(lines[1].get_ydata(), val)


def test_latent_figures():
    z = np.random.default_rng(1).normal(size=(300, 2))
    labelled = latent_scatter_figure(z, np.arange(300) % 10)
    assert len(labelled.axes) == 2  # the scatter and its colour bar
    assert len(latent_scatter_figure(z).axes) == 1
    fig = latent_histograms_figure(np.random.default_rng(1).normal(size=(300, 5)))
    assert len(fig.axes) == 5 and all(len(ax.get_lines()) == 1 for ax in fig.axes)


@pytest.mark.parametrize("shape", SHAPES)
def test_image_figures_show_one_tiled_picture_of_the_right_size(shape):
    _, h, w = shape
    rng = np.random.default_rng(2)
    grid = image_grid_figure(rng.random((100, *shape)), 10, 10, "prior samples")
    traversal = traversal_figure(rng.random((441, *shape)))
    recon = reconstructions_figure(rng.random((10, *shape)), rng.random((10, *shape)))
    for fig, size in ((grid, (10 * h, 10 * w)), (traversal, (21 * h, 21 * w)), (recon, (2 * h, 10 * w))):
        assert len(fig.axes) == 1
        images = fig.axes[0].get_images()
        assert len(images) == 1 and images[0].get_array().shape == size


def test_reconstructions_figure_puts_originals_on_top():
    rng = np.random.default_rng(3)
    originals, reconstructions = rng.random((10, 1, 28, 20)), rng.random((10, 1, 28, 20))
    picture = reconstructions_figure(originals, reconstructions).axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(picture[:28], tile_images(originals, 1, 10), rtol=1e-6)
    np.testing.assert_allclose(picture[28:], tile_images(reconstructions, 1, 10), rtol=1e-6)
