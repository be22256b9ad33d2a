"""S3's figures: fold-averaged metric curves, the latent space, and image grids.

Decoding is the caller's job: `traversal_grid` and `prior_grid_samples` give the latents to
decode, the figure functions take the decoded images, (N, C, H, W) or (N, H, W) in [0, 1]
(8 x 8 digits, 28 x 28 MNIST, 28 x 20 Frey Face alike). Image grids are tiled into one picture,
so a 21 x 21 traversal is one imshow, not 441 axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from scipy.stats import norm

from vae_core.models.prior_vae import draw_prior
from vae_core.plots import finished

SPLIT_COLOURS = {"train": "tab:blue", "val": "tab:orange"}


def traversal_grid(n: int = 21, span: float = 3.0, latent_size: int = 2) -> np.ndarray:
    """(n * n, latent_size) latents over [-span, span]^2 in the first two dimensions, the others 0,
    row-major as the tiled picture reads: z_1 falls from +span (top row) to -span, z_0 rises
    from -span (left) to +span."""
    if latent_size < 2:
        raise ValueError(f"traversal_grid: latent_size {latent_size}; a 2-D traversal needs >= 2")
    values = np.linspace(-span, span, n)
    z1, z0 = np.meshgrid(values[::-1], values, indexing="ij")
    grid = np.zeros((n * n, latent_size), dtype=np.float32)
    grid[:, 0], grid[:, 1] = z0.ravel(), z1.ravel()
    return grid


def prior_grid_samples(latent_size: int, seed: int, n_side: int = 10,
                       prior_mean: float | torch.Tensor = 0.0,
                       prior_var: float | torch.Tensor = 1.0) -> torch.Tensor:
    """n_side^2 seeded draws from the prior N(m, v), to decode into the generated grid."""
    return draw_prior(n_side * n_side, latent_size, prior_mean, prior_var, seed)


def tile_images(images: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """n_rows * n_cols images as one (n_rows H, n_cols W) picture ((.., 3) for colour), row-major."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[:, None]
    if len(images) != n_rows * n_cols:
        raise ValueError(f"tile_images: {len(images)} images for a {n_rows} x {n_cols} grid")
    _, c, h, w = images.shape
    tiled = images.reshape(n_rows, n_cols, c, h, w).transpose(0, 3, 1, 4, 2)
    tiled = tiled.reshape(n_rows * h, n_cols * w, c)
    return tiled[..., 0] if c == 1 else tiled


def _show(ax: plt.Axes, picture: np.ndarray) -> None:
    ax.imshow(np.clip(picture, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")


def metric_curves_figure(history: pd.DataFrame, metrics: list[str]) -> Figure:
    """One panel per metric: mean +- std (ddof 1) over folds per epoch, train and val.
    `history` has one row per (fold, epoch, split) and a column per metric."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for split, rows in history.groupby("split"):
            stats = rows.groupby("epoch")[metric].agg(["mean", "std"]).fillna({"std": 0.0})
            colour = SPLIT_COLOURS.get(str(split))
            ax.plot(stats.index, stats["mean"], color=colour, label=str(split))
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=colour, alpha=0.25)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend(fontsize=7)
    return finished(fig)


def latent_scatter_figure(z: np.ndarray, labels: np.ndarray | None = None) -> Figure:
    """The first two latent dimensions of the test points, coloured by label when known."""
    z = np.asarray(z)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=4)
    if labels is not None:
        fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel("z_0")
    ax.set_ylabel("z_1")
    return finished(fig)


def latent_histograms_figure(z: np.ndarray, bins: int = 40) -> Figure:
    """A density histogram per latent dimension against the N(0, 1) density."""
    z = np.asarray(z)
    fig, axes = plt.subplots(1, z.shape[1], figsize=(3 * z.shape[1], 2.8), squeeze=False)
    grid = np.linspace(-4.0, 4.0, 200)
    for dim, ax in enumerate(axes[0]):
        ax.hist(z[:, dim], bins=bins, density=True, alpha=0.6)
        ax.plot(grid, norm.pdf(grid), color="k", lw=1, label="N(0, 1)")
        ax.set_title(f"z_{dim}")
    axes[0][0].legend(fontsize=7)
    return finished(fig)


def image_grid_figure(images: np.ndarray, n_rows: int, n_cols: int, title: str = "") -> Figure:
    """Images tiled row-major, e.g. the 10 x 10 grid generated from the prior."""
    fig, ax = plt.subplots(figsize=(0.5 * n_cols + 1, 0.5 * n_rows + 1))
    _show(ax, tile_images(images, n_rows, n_cols))
    ax.set_axis_off()
    ax.set_title(title)
    return finished(fig)


def traversal_figure(images: np.ndarray, n: int = 21, span: float = 3.0) -> Figure:
    """Decoded `traversal_grid(n, span)` latents, tiled, with z_0 and z_1 on the axes."""
    fig, ax = plt.subplots(figsize=(8, 8))
    picture = tile_images(images, n, n)
    _show(ax, picture)
    h, w = picture.shape[0] / n, picture.shape[1] / n
    ticks = [0, n // 2, n - 1]
    values = np.linspace(-span, span, n)
    ax.set_xticks([(i + 0.5) * w for i in ticks], [f"{values[i]:g}" for i in ticks])
    ax.set_yticks([(i + 0.5) * h for i in ticks], [f"{values[::-1][i]:g}" for i in ticks])
    ax.set_xlabel("z_0")
    ax.set_ylabel("z_1")
    return finished(fig)


def reconstructions_figure(originals: np.ndarray, reconstructions: np.ndarray) -> Figure:
    """Test images (top row) above their reconstructions (bottom row)."""
    n = len(originals)
    fig, ax = plt.subplots(figsize=(n, 2.4))
    _show(ax, tile_images(np.concatenate([np.asarray(originals), np.asarray(reconstructions)]), 2, n))
    ax.set_xticks([])
    h = np.asarray(originals).shape[-2]
    ax.set_yticks([h / 2, 1.5 * h], ["original", "reconstruction"])
    return finished(fig)
