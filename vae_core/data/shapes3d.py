"""A 3D-shapes-like ground-truth data set rendered in numpy: an object on a floor before a wall.

Factors as in DeepMind's 3dshapes (floor hue, wall hue, object hue, scale, shape, orientation;
grid 10 x 10 x 10 x 8 x 4 x 15 by default, any sizes as options). The scene is drawn flat, not
ray-traced: the floor below a horizon that tilts with the orientation, a wall of two faces
whose corner moves with it, an object (cube, cylinder, sphere, capsule) whose width, shading
and size follow orientation and scale. Edges are anti-aliased over one pixel, so every factor
step, however small, changes some pixels. Colours are fully saturated hues.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from vae_core.config import ConfigError, require_int
from vae_core.data.factor_splits import factor_splits
from vae_core.data.splits import DatasetSplits

FACTOR_NAMES = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
GRID_OPTIONS = {"floor_hues": 10, "wall_hues": 10, "object_hues": 10, "scales": 8, "shapes": 4,
                "orientations": 15}
SHAPES = ("cube", "cylinder", "sphere", "capsule")
SCALE_RANGE = (0.75, 1.25)
ORIENTATION_RANGE = (-30.0, 30.0)  # degrees
RENDER_CHUNK = 128  # images per vectorised pass: keeps the temporaries in cache


def hue_to_rgb(hue: np.ndarray) -> np.ndarray:
    """Fully saturated, full-value RGB (..., 3) of hues in [0, 1)."""
    offsets = np.array([0.0, 4.0, 2.0], dtype=np.float32)
    return np.clip(np.abs((hue[..., None] * 6.0 + offsets) % 6.0 - 3.0) - 1.0, 0.0, 1.0)


def _cover(distance: np.ndarray, pixel: float) -> np.ndarray:
    """Share of a pixel inside a region with signed distance `distance` (negative inside)."""
    return np.clip(0.5 - distance / pixel, 0.0, 1.0)


def _box(u: np.ndarray, v: np.ndarray, half_width: np.ndarray, half_height: np.ndarray) -> np.ndarray:
    """Signed distance (outside > 0) to an axis-aligned box centred at 0, per image."""
    du, dv = np.abs(u) - half_width, np.abs(v) - half_height
    outside = np.hypot(np.maximum(du, 0.0), np.maximum(dv, 0.0))
    return outside + np.minimum(np.maximum(du, dv), 0.0)


def _object_distance(shape: int, u: np.ndarray, v: np.ndarray, r: np.ndarray,
                     angle: np.ndarray) -> np.ndarray:
    """Signed distance to a shape of size r turned by angle; (u, v) relative to its centre."""
    if SHAPES[shape] == "cube":  # a cube looks wider turned
        return _box(u, v, r * 0.85 * (np.abs(np.cos(angle)) + np.abs(np.sin(angle))), r)
    if SHAPES[shape] == "cylinder":
        return _box(u, v, r * 0.7, r * 1.1)
    if SHAPES[shape] == "sphere":
        return np.hypot(u, v) - r
    return np.hypot(u, np.maximum(np.abs(v) - 0.5 * r, 0.0)) - 0.6 * r  # capsule


class Shapes3D:
    """FactorDataset of image_size x image_size RGB scenes; factors in FACTOR_NAMES order."""

    factor_names = FACTOR_NAMES

    def __init__(self, floor_hues: int = 10, wall_hues: int = 10, object_hues: int = 10,
                 scales: int = 8, shapes: int = 4, orientations: int = 15, image_size: int = 64) -> None:
        sizes = (floor_hues, wall_hues, object_hues, scales, shapes, orientations)
        for key, value in zip(GRID_OPTIONS, sizes):
            require_int(f"shapes3d {key}", value, minimum=1)
        if shapes > len(SHAPES):
            raise ConfigError(f"shapes3d shapes: at most {len(SHAPES)} ({', '.join(SHAPES)}), got {shapes}")
        self.image_size = require_int("shapes3d image_size", image_size, minimum=8)
        self.factor_sizes = sizes
        self.discrete = (False, False, False, False, True, False)

    def factor_values(self, indices: np.ndarray) -> np.ndarray:
        """Hues k / size in [0, 1), scale in [0.75, 1.25], shape index, orientation in degrees."""
        indices = np.asarray(indices)
        sizes = np.asarray(self.factor_sizes)
        values = indices.astype(np.float64)
        values[:, :3] = indices[:, :3] / sizes[:3]
        for column, (low, high) in ((3, SCALE_RANGE), (5, ORIENTATION_RANGE)):
            values[:, column] = np.linspace(low, high, sizes[column])[indices[:, column]]
        return values

    def render(self, indices: np.ndarray) -> np.ndarray:
        """(n, 6) grid indices -> (n, 3, image_size, image_size) float32 images in [0, 1]."""
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[1] != 6 or (indices < 0).any() or (
                indices >= np.asarray(self.factor_sizes)).any():
            raise ConfigError(f"shapes3d render: expected (n, 6) indices below {self.factor_sizes}, "
                              f"got shape {indices.shape}")
        images = np.empty((len(indices), 3, self.image_size, self.image_size), dtype=np.float32)
        for start in range(0, len(indices), RENDER_CHUNK):
            images[start:start + RENDER_CHUNK] = self._compose(indices[start:start + RENDER_CHUNK])
        return images

    def _compose(self, indices: np.ndarray) -> np.ndarray:
        """Each pixel = object * object colour + floor * floor colour + wall * wall colour, with the
        three weights looked up by the geometric factors and the colours by the hues: one batched
        (3 x 3) @ (3 x pixels) product per image."""
        layers = self._layers
        scale, shape, orientation = indices[:, 3], indices[:, 4], indices[:, 5]
        inside = layers["inside"][shape, scale, orientation]
        weights = np.stack([inside * layers["object"][scale, orientation],
                            (1.0 - inside) * layers["floor"][orientation],
                            (1.0 - inside) * layers["wall"][orientation]], axis=1)
        hues = self.factor_values(indices)[:, [2, 0, 1]].astype(np.float32)
        colours = hue_to_rgb(hues).transpose(0, 2, 1)  # (n, channel, layer)
        size = self.image_size
        return (colours @ weights.reshape(len(indices), 3, size * size)).reshape(-1, 3, size, size)

    @cached_property
    def _layers(self) -> dict[str, np.ndarray]:
        """Shaded floor and wall per orientation, object coverage per (shape, scale, orientation)
        and object shading per (scale, orientation): every pixel that depends on geometry only."""
        pixel = 2.0 / self.image_size
        axis = (np.arange(self.image_size) + 0.5) * pixel - 1.0
        u, v = axis[None, None, :], axis[None, :, None]  # x right, y down, in [-1, 1]
        n_scales, n_shapes, n_orientations = self.factor_sizes[3:]
        angle = np.radians(np.linspace(*ORIENTATION_RANGE, n_orientations))[:, None, None]
        radius = 0.28 * np.linspace(*SCALE_RANGE, n_scales)[:, None, None, None]  # (scale, 1, 1, 1)
        horizon = 0.15 + 0.3 * np.tan(angle) * u
        floor = _cover(horizon - v, pixel)
        floor_shade = 0.55 + 0.45 * np.clip((v - horizon) / 0.85, 0.0, 1.0)
        wall_shade = 0.65 + 0.3 * _cover(np.sin(angle) - u, pixel)  # two faces; corner at sin(angle)
        dv = v - (0.75 - radius)  # the object stands on y = 0.75 at u = 0
        grid = (n_scales, n_orientations, self.image_size, self.image_size)
        inside = np.stack([np.broadcast_to(_cover(_object_distance(shape, u, dv, radius, angle), pixel),
                                           grid) for shape in range(n_shapes)])
        object_shade = np.clip(0.8 + 0.4 * np.clip(u / radius, -1, 1) * np.sin(angle)
                               - 0.15 * np.clip(dv / radius, -1, 1), 0.0, 1.0)
        return {"floor": (floor * floor_shade).astype(np.float32),
                "wall": ((1.0 - floor) * wall_shade).astype(np.float32),
                "inside": inside.astype(np.float32), "object": object_shade.astype(np.float32)}


def load_shapes3d(seed: int, val_fraction: float, n: int = 10000, image_size: int = 64,
                  **grid: Any) -> DatasetSplits:
    """n distinct scenes split into train/val/test (20% test); labels are the shape index,
    factors the grid indices. The same seed gives the same scenes and split."""
    unknown = sorted(set(grid) - set(GRID_OPTIONS))
    if unknown:
        raise ConfigError(f"shapes3d: unknown option(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(['n', 'image_size', *GRID_OPTIONS])}")
    require_int("shapes3d n", n, minimum=3)
    options = {**GRID_OPTIONS, **grid}
    dataset = Shapes3D(**options, image_size=image_size)
    return factor_splits("shapes3d", dataset, n, seed, val_fraction, "shape",
                         {"n": n, "image_size": image_size, **options})
