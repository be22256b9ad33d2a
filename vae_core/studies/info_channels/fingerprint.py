"""The fingerprint (methods.md S1): a fixed, seeded sample of M images with their ground-truth
factors (or labels), saved once as an .npz so every model of the ensemble, and every later
analysis, sees the very same points.

File layout (also what `analyze --kind channels --fingerprint` reads): `images` (M, C, H, W)
float32, `factors` (M, F) float64 (each column a discrete label: points match when equal),
`factor_names` (F,) str, `dataset` () str.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from vae_core.config import ConfigError, Options, StrictModel
from vae_core.data.factor_sets import factor_dataset, has_factors
from vae_core.experiment import DataConfig
from vae_core.experiment.train import load_data
from vae_core.studies.base import StageContext
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.store import project_root

FILE = "fingerprint.npz"


def distinct_grid_points(sizes: tuple[int, ...], n: int, rng: np.random.Generator) -> np.ndarray:
    """n different factor-index rows of the grid (n, F), drawn without replacement."""
    total = int(np.prod(sizes))
    if n > total:
        raise ConfigError(f"n_points: {n} exceeds the {total} points of the factor grid {sizes}; "
                          "lower n_points or enlarge the grid")
    return np.stack(np.unravel_index(rng.choice(total, size=n, replace=False), sizes), axis=1)


def make_fingerprint(data: DataConfig, n_points: int, seed: int) -> dict[str, np.ndarray]:
    """Images with factor values: rendered from the factor grid for a data set with factors,
    else n_points of the test split with its labels (one column `label`, none if unlabelled)."""
    rng = np.random.default_rng(seed)
    if has_factors(data.dataset):
        dataset = factor_dataset(data.dataset, dict(data.dataset_options))
        indices = distinct_grid_points(tuple(dataset.factor_sizes), n_points, rng)
        images, factors = dataset.render(indices), dataset.factor_values(indices)
        names = np.array(dataset.factor_names)
    else:
        test = load_data(data, seed)
        if n_points > len(test.test):
            raise ConfigError(f"n_points: {n_points} exceeds the {len(test.test)} test points of "
                              f"{data.dataset!r}; lower n_points")
        rows = np.sort(rng.choice(len(test.test), size=n_points, replace=False))
        images = test.test[rows].numpy()
        labelled = test.test_labels is not None
        factors = test.test_labels[rows].numpy()[:, None] if labelled else np.zeros((n_points, 0))
        names = np.array(["label"] if labelled else [], dtype=str)
    return {"images": np.asarray(images, dtype=np.float32), "factors": np.asarray(factors, dtype=np.float64),
            "factor_names": names.astype(str), "dataset": np.array(data.dataset)}


def save_fingerprint(arrays: dict[str, np.ndarray], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def read_fingerprint(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a fingerprint file; a missing file or one without images is refused."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"fingerprint: file {str(path)!r} not found; make one with the study's "
                          "fingerprint stage or leave fingerprint empty to draw one")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    if "images" not in arrays or arrays["images"].ndim != 4:
        raise ConfigError(f"fingerprint: {path} has no 'images' array of shape (M, C, H, W) (keys: "
                          f"{', '.join(sorted(arrays)) or 'none'})")
    m = len(arrays["images"])
    arrays.setdefault("factors", np.zeros((m, 0)))
    arrays.setdefault("factor_names", np.array([f"factor{i}" for i in range(arrays["factors"].shape[1])]))
    return arrays


class FingerprintConfig(StrictModel):
    """Empty dataset: the one the train stage's sweep trains on (its base declaration)."""

    dataset: str = ""
    dataset_options: Options = Field(default_factory=dict)
    n_points: int = Field(300, ge=10)  # M: 100, 300 or 1000 in the paper
    seed: int = Field(0, ge=0)


def study_data(context: StageContext) -> DataConfig:
    """The data declaration of the train stage's sweep (its base's dataset and options)."""
    from vae_core.studies.info_channels.train import TrainConfig

    train = context.section("train", TrainConfig)
    spec = load_study_spec(train.sweep, project_root())
    return spec.trial_config({}).data


def fingerprint(config: FingerprintConfig, context: StageContext) -> dict[str, Any]:
    data = (DataConfig(dataset=config.dataset, dataset_options=config.dataset_options)
            if config.dataset else study_data(context))
    arrays = make_fingerprint(data, config.n_points, config.seed)
    path = save_fingerprint(arrays, context.out_dir / FILE)
    return {"path": str(path), "n_points": config.n_points, "dataset": data.dataset,
            "factor_names": arrays["factor_names"].tolist()}
