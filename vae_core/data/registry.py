"""One registry from data set names to loaders: the only lookup, with each loader's options."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vae_core.config import ConfigError, reject_unknown_keys, require_choice, require_float
from vae_core.data.downloaded import SOURCES, load_downloaded, load_susy
from vae_core.data.dsprites import DEFAULT_SIZES as SPRITE_GRID
from vae_core.data.dsprites import load_dsprites
from vae_core.data.dsprites_npz import load_dsprites_npz
from vae_core.data.embedded import load_digits, load_pca
from vae_core.data.frey_face import load_frey_face
from vae_core.data.manifolds import CURVES, load_manifold
from vae_core.data.shapes3d import GRID_OPTIONS, load_shapes3d
from vae_core.data.splits import DatasetSplits

DEFAULT_DATA_DIR = Path(os.environ.get("VAE_DATA_DIR", "data"))


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "embedded" (offline) or "downloaded" (fetched into data/)
    loader: Callable[..., DatasetSplits]
    options: dict[str, Any] = field(default_factory=dict)  # allowed options and their defaults


IMAGE_OPTIONS = {"resize": None, "binarize": False, "limit": None}

DATASETS: dict[str, DatasetSpec] = {
    "digits": DatasetSpec("digits", "embedded", load_digits, {"resize": None}),
    "pca": DatasetSpec("pca", "embedded", load_pca, {"n": 10000, "D": 10, "k": 2, "sigma": 0.1}),
    **{name: DatasetSpec(name, "embedded", partial(load_manifold, name), {"n": 50000, "noise": 0.05})
       for name in CURVES},
    "manifold": DatasetSpec("manifold", "embedded", partial(load_manifold, "manifold"),
                            {"n": 50000, "noise": 0.05, "k": 2, "D": 3}),
    **{name: DatasetSpec(name, "downloaded", partial(load_downloaded, name), IMAGE_OPTIONS)
       for name in SOURCES if name not in ("susy", "frey_face", "dsprites")},
    "susy": DatasetSpec("susy", "downloaded", load_susy, {"limit": None}),
    "frey_face": DatasetSpec("frey_face", "downloaded", load_frey_face, {"limit": None}),
    "shapes3d": DatasetSpec("shapes3d", "embedded", load_shapes3d,
                            {"n": 10000, "image_size": 64, **GRID_OPTIONS}),
    "dsprites": DatasetSpec("dsprites", "downloaded", load_dsprites_npz, {"n": 10000}),
    # dSprites-like, rendered here (vae_core/data/dsprites.py): `dsprites` is DeepMind's file
    "sprites": DatasetSpec("sprites", "embedded", load_dsprites, {"n": 10000, **SPRITE_GRID}),
}


def validate_dataset_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check the name and option keys before any work; return the options with defaults filled."""
    require_choice("dataset", name, DATASETS)
    spec = DATASETS[name]
    reject_unknown_keys(f"dataset_options for {name!r}", options, spec.options)
    merged = {**spec.options, **options}
    if name == "manifold" and not 1 <= merged["k"] <= merged["D"]:
        raise ConfigError(f"dataset_options: manifold needs 1 <= k <= D, got k={merged['k']}, "
                          f"D={merged['D']}")
    return merged


def load_dataset(
    name: str, seed: int = 0, val_fraction: float = 0.2, data_dir: Path | None = None,
    **options: Any,
) -> DatasetSplits:
    """Train/val/test tensors of a registered data set, deterministic given the seed."""
    merged = validate_dataset_options(name, options)
    require_float("val_fraction", val_fraction, minimum=0.0)
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"val_fraction: must lie strictly between 0 and 1, got {val_fraction}")
    spec = DATASETS[name]
    if spec.kind == "downloaded":
        merged["data_dir"] = Path(data_dir or DEFAULT_DATA_DIR)
    splits = spec.loader(seed=seed, val_fraction=val_fraction, **merged)
    splits.options.setdefault("seed", seed)
    splits.options.setdefault("val_fraction", val_fraction)
    return splits


def save_prepared(splits: DatasetSplits, path: Path) -> None:
    """Write a data set as one .npz (the `prepare` stage's output, versioned by DVC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"name": splits.name, "options": {k: v for k, v in splits.options.items()}}
    np.savez_compressed(path, _meta=np.array(repr(meta)), **splits.to_arrays())


def load_prepared(path: Path) -> DatasetSplits:
    import ast

    with np.load(path, allow_pickle=False) as archive:
        meta = ast.literal_eval(str(archive["_meta"]))
        arrays = {k: torch.from_numpy(archive[k]) for k in archive.files if not k.startswith("_")}
    extras = {k.removeprefix("extra_"): arrays.pop(k).numpy() for k in list(arrays)
              if k.startswith("extra_")}
    return DatasetSplits(name=meta["name"], options=meta["options"], extras=extras, **arrays)
