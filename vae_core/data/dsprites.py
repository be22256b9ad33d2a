"""A dSprites-like data set rendered on the fly: ground-truth factors offline, no download.

64 x 64 binary images of one shape (square, ellipse, heart) at a scale, an orientation and an
x and y position, each factor on a grid; the full product grid defaults to dSprites'
3 x 6 x 40 x 32 x 32. Shapes are matplotlib paths of equal area (so pixel count says the
scale, not the shape); a pixel is on when its centre lies inside the transformed path, so
rendering is deterministic. Orientations are 2 pi k / n, k < n (dSprites' grid lists both 0 and
2 pi, one image twice); a square turned by a quarter turn still looks the same, as in dSprites.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.path import Path
from matplotlib.transforms import Affine2D

from vae_core.config import ConfigError, require_int
from vae_core.data.splits import DatasetSplits, three_way_split

IMAGE_SIZE = 64
SHAPES = ("square", "ellipse", "heart")
SHAPE_AREA = 225.0  # pixels at scale 1 (a 15 x 15 square)
SCALE_RANGE = (0.5, 1.0)
FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
DEFAULT_SIZES = {"shapes": 3, "scales": 6, "orientations": 40, "positions_x": 32, "positions_y": 32}


def _polygon_area(vertices: np.ndarray) -> float:
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _polygon_centroid(vertices: np.ndarray) -> np.ndarray:
    x, y = vertices[:, 0], vertices[:, 1]
    cross = x * np.roll(y, -1) - np.roll(x, -1) * y
    area = cross.sum() / 2
    return np.array([((x + np.roll(x, -1)) * cross).sum(), ((y + np.roll(y, -1)) * cross).sum()]) / (6 * area)


def _outline(name: str, n_points: int = 256) -> np.ndarray:
    """Closed outline (n, 2), anticlockwise, before normalising area and centre."""
    t = np.linspace(0.0, 2 * np.pi, n_points, endpoint=False)
    if name == "square":
        return np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    if name == "ellipse":  # axes 2:1, dSprites' ellipse is elongated like this
        return np.stack([np.cos(t), 0.5 * np.sin(t)], axis=1)
    # The classic parametric heart, point down.
    return np.stack([16 * np.sin(t) ** 3,
                     13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)], axis=1)


def shape_template(name: str) -> np.ndarray:
    """Outline vertices centred on the centroid, scaled to area SHAPE_AREA (pixels) at scale 1."""
    vertices = _outline(name)
    vertices = vertices - _polygon_centroid(vertices)
    return vertices * np.sqrt(SHAPE_AREA / _polygon_area(vertices))


def _grid(low: float, high: float, n: int) -> np.ndarray:
    return np.linspace(low, high, n) if n > 1 else np.array([(low + high) / 2])


class ProceduralSprites:
    """`FactorDataset` of dSprites-like images; grid sizes are options (dSprites' by default)."""

    factor_names = FACTOR_NAMES
    discrete = (True, False, False, False, False)

    def __init__(self, shapes: int = 3, scales: int = 6, orientations: int = 40,
                 positions_x: int = 32, positions_y: int = 32) -> None:
        require_int("shapes", shapes, minimum=1)
        if shapes > len(SHAPES):
            raise ConfigError(f"shapes: at most {len(SHAPES)} ({', '.join(SHAPES)}), got {shapes}")
        for key, value in (("scales", scales), ("orientations", orientations),
                           ("positions_x", positions_x), ("positions_y", positions_y)):
            require_int(key, value, minimum=1)
        self.factor_sizes = (shapes, scales, orientations, positions_x, positions_y)
        self._templates = [shape_template(name) for name in SHAPES[:shapes]]
        reach = max(np.linalg.norm(t, axis=1).max() for t in self._templates) * SCALE_RANGE[1]
        margin = reach + 1.0  # the largest shape at any angle stays inside the image
        self._values = (np.arange(shapes, dtype=float), _grid(*SCALE_RANGE, scales),
                        2 * np.pi * np.arange(orientations) / orientations,
                        _grid(0.0, 1.0, positions_x), _grid(0.0, 1.0, positions_y))
        self._span = (margin, IMAGE_SIZE - margin)

    def _check(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[1] != len(self.factor_sizes):
            raise ValueError(f"indices: expected shape (n, {len(self.factor_sizes)}), got {indices.shape}")
        if (indices < 0).any() or (indices >= np.array(self.factor_sizes)).any():
            raise ValueError(f"indices: each column must lie in [0, size) for sizes {self.factor_sizes}")
        return indices.astype(np.int64)

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        """Shape index, scale, orientation (radians), x and y position in [0, 1]."""
        indices = self._check(indices)
        return np.stack([values[indices[:, f]] for f, values in enumerate(self._values)], axis=1)

    def render(self, indices: np.ndarray) -> np.ndarray:
        """(n, 1, 64, 64) float32 in {0, 1}; row 0 is the top, pos_y 0 the bottom of the image."""
        values = self.factor_values(indices)
        images = np.zeros((len(values), 1, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        low, high = self._span
        for image, (shape, scale, angle, px, py) in zip(images, values):
            transform = (Affine2D().scale(scale).rotate(angle)
                         .translate(low + px * (high - low), low + py * (high - low)))
            outline = transform.transform(self._templates[int(shape)])
            image[0] = _rasterise(outline)
        return images


def _rasterise(outline: np.ndarray) -> np.ndarray:
    """Pixels (rows top to bottom) whose centre lies inside the polygon, tested in its bounding box."""
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    x0, y0 = np.maximum(np.floor(outline.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(outline.max(0)).astype(int), IMAGE_SIZE)
    xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
    inside = Path(outline).contains_points(np.stack([xs.ravel(), ys.ravel()], axis=1))
    mask[y0:y1, x0:x1] = inside.reshape(xs.shape)
    return mask[::-1].copy()


def load_dsprites(seed: int, val_fraction: float, n: int = 10000, **sizes: Any) -> DatasetSplits:
    """n distinct grid points drawn (seeded) from the full grid, rendered; labels = shape index,
    factors = the float factor values; 20% test, then `val_fraction` of the rest validation."""
    dataset = ProceduralSprites(**{**DEFAULT_SIZES, **sizes})
    total = int(np.prod(dataset.factor_sizes))
    require_int("n", n, minimum=1)
    if n > total:
        raise ConfigError(f"n: {n} exceeds the {total} images of the factor grid "
                          f"{dataset.factor_sizes}; lower n or enlarge the grid")
    chosen = np.random.default_rng(seed).choice(total, size=n, replace=False)
    indices = np.stack(np.unravel_index(chosen, dataset.factor_sizes), axis=1)
    images = torch.from_numpy(dataset.render(indices))
    factors = torch.tensor(dataset.factor_values(indices), dtype=torch.float32)
    parts = three_way_split(images, torch.arange(n), 0.2, val_fraction, seed)
    split = {name: parts[f"{name}_y"] for name in ("train", "val", "test")}
    return DatasetSplits(
        name="sprites", options={"n": n, **dict(zip(DEFAULT_SIZES, dataset.factor_sizes))},
        train=parts["train"], val=parts["val"], test=parts["test"],
        **{f"{name}_labels": factors[rows, 0].long() for name, rows in split.items()},
        **{f"{name}_factors": factors[rows] for name, rows in split.items()},
        extras={"factor_names": np.array(FACTOR_NAMES)},
    )

