"""The FactorDataset behind a registered data set: what a disentanglement analysis renders fresh
images from, rebuilt from the data config a model was trained with (same grid, same image size).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vae_core.config import ConfigError
from vae_core.data.downloaded import require_files
from vae_core.data.dsprites import DEFAULT_SIZES as SPRITE_GRID
from vae_core.data.dsprites import ProceduralSprites
from vae_core.data.dsprites_npz import FILE, read_dsprites
from vae_core.data.factors import FactorDataset
from vae_core.data.registry import DEFAULT_DATA_DIR, validate_dataset_options
from vae_core.data.shapes3d import GRID_OPTIONS, Shapes3D


def _shapes3d(options: dict[str, Any], data_dir: Path) -> FactorDataset:
    return Shapes3D(image_size=options["image_size"], **{k: options[k] for k in GRID_OPTIONS})


def _dsprites(options: dict[str, Any], data_dir: Path) -> FactorDataset:
    return read_dsprites(require_files(data_dir, "dsprites") / FILE)


def _sprites(options: dict[str, Any], data_dir: Path) -> FactorDataset:
    return ProceduralSprites(**{k: options[k] for k in SPRITE_GRID})


FACTOR_SETS: dict[str, Callable[[dict[str, Any], Path], FactorDataset]] = {
    "shapes3d": _shapes3d,
    "dsprites": _dsprites,
    "sprites": _sprites,
}


def has_factors(name: str) -> bool:
    return name in FACTOR_SETS


def factor_dataset(name: str, options: dict[str, Any] | None = None,
                   data_dir: Path | None = None) -> FactorDataset:
    """The FactorDataset of data set `name` loaded with `options` (the registry's, defaults
    filled); a data set without known factors is refused naming the ones that have them."""
    if name not in FACTOR_SETS:
        raise ConfigError(f"dataset: {name!r} has no ground-truth factors; data sets with factors: "
                          f"{', '.join(FACTOR_SETS)}")
    merged = validate_dataset_options(name, dict(options or {}))
    return FACTOR_SETS[name](merged, Path(data_dir or DEFAULT_DATA_DIR))
