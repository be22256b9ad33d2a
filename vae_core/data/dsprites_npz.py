"""DeepMind's dSprites as published (one .npz), read as a FactorDataset: render is a lookup.

The file holds `imgs` (737280, 64, 64) uint8 in {0, 1}, `latents_classes` (737280, 6) grid
indices and `latents_values` (737280, 6) values, for the factors colour (1 value), shape (3),
scale (6), orientation (40), position x (32), position y (32). Factors that take a single value
(colour) are dropped, so factor indices here have the remaining columns. The rows need not be
in grid order: a table from grid position to row is built once, and every combination must be
there exactly once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vae_core.config import ConfigError, require_int
from vae_core.data.downloaded import SOURCES, DatasetMissingError, require_files
from vae_core.data.factor_splits import factor_splits
from vae_core.data.splits import DatasetSplits

SOURCE = SOURCES["dsprites"]
FILE = SOURCE.files[0]
URL = f"https://github.com/deepmind/dsprites-dataset/raw/master/{FILE}"
FACTOR_NAMES = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")  # as ProceduralSprites
DISCRETE = (True, True, False, False, False, False)


class DSpritesNpz:
    """FactorDataset over the published file's full grid (minus its constant factors)."""

    def __init__(self, images: np.ndarray, classes: np.ndarray, values: np.ndarray) -> None:
        if images.ndim != 3 or classes.shape != (len(images), len(FACTOR_NAMES)) or (
                values.shape != classes.shape):
            raise DatasetMissingError(
                f"dsprites: expected imgs (N, H, W) and latents_classes/latents_values (N, "
                f"{len(FACTOR_NAMES)}), got {images.shape}, {classes.shape}, {values.shape}")
        classes = classes.astype(np.int64)
        all_sizes = tuple(int(s) for s in classes.max(0) + 1)
        flat = np.ravel_multi_index(classes.T, all_sizes)
        self._row = np.full(int(np.prod(all_sizes)), -1, dtype=np.int64)
        self._row[flat] = np.arange(len(flat))
        if len(flat) != self._row.size or (self._row < 0).any():
            raise DatasetMissingError(
                f"dsprites: {len(flat)} rows do not cover the {self._row.size} combinations of the "
                f"grid {all_sizes} once each; the file is incomplete or not dSprites")
        self._kept = [f for f, size in enumerate(all_sizes) if size > 1]
        self._all_sizes = all_sizes
        self._images = images
        self._values = [values[np.unique(classes[:, f], return_index=True)[1], f] for f in self._kept]
        self.factor_names = tuple(FACTOR_NAMES[f] for f in self._kept)
        self.factor_sizes = tuple(all_sizes[f] for f in self._kept)
        self.discrete = tuple(DISCRETE[f] for f in self._kept)

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        """Scale as a fraction of the image, orientation in radians, positions in [0, 1]."""
        indices = np.asarray(indices)
        return np.stack([table[indices[:, i]] for i, table in enumerate(self._values)], axis=1)

    def render(self, indices: np.ndarray) -> np.ndarray:
        """(n, F) indices -> (n, 1, 64, 64) float32 images in {0, 1}: the file's own pixels."""
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[1] != len(self.factor_sizes) or (indices < 0).any() or (
                indices >= np.asarray(self.factor_sizes)).any():
            raise ConfigError(f"dsprites render: expected (n, {len(self.factor_sizes)}) indices below "
                             f"{self.factor_sizes}, got shape {indices.shape}")
        full = np.zeros((len(indices), len(self._all_sizes)), dtype=np.int64)
        full[:, self._kept] = indices
        rows = self._row[np.ravel_multi_index(full.T, self._all_sizes)]
        return self._images[rows][:, None].astype(np.float32)


def read_dsprites(path: Path) -> DSpritesNpz:
    """The published dSprites file at `path`; fails at once, saying where to get it."""
    path = Path(path)
    if not path.is_file():
        raise DatasetMissingError(
            f"dataset 'dsprites' is not on disk: expected {path}. Fetch {URL} on a machine with "
            f"internet (`dvc repro data/dvc.yaml:fetch@dsprites`) and copy it there.")
    with np.load(path) as archive:  # the file's pickled `metadata` entry is never loaded
        return DSpritesNpz(archive["imgs"], archive["latents_classes"], archive["latents_values"])


def load_dsprites_npz(seed: int, val_fraction: float, data_dir: Path, n: int = 10000) -> DatasetSplits:
    """n distinct dSprites images (the whole 737,280 if n >= it) from data_dir/dsprites/, split
    20% test / val_fraction of the rest; labels are the shape, factors the grid indices."""
    require_int("dsprites n", n, minimum=3)
    dataset = read_dsprites(require_files(data_dir, "dsprites") / FILE)
    return factor_splits("dsprites", dataset, n, seed, val_fraction, "shape", {"n": n})
