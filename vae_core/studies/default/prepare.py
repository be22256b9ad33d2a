"""Materialise the data set as one .npz: the DVC-versioned input of the train stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, NonNegativeInt

from vae_core.config import Options, StrictModel
from vae_core.data import load_dataset, save_prepared
from vae_core.studies.base import StageContext


class PrepareConfig(StrictModel):
    dataset: str = "digits"
    dataset_options: Options = Field(default_factory=dict)
    seed: NonNegativeInt = 0
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    out: str = "data/prepared/digits.npz"


def prepare(config: PrepareConfig, context: StageContext) -> dict[str, Any]:
    splits = load_dataset(config.dataset, seed=config.seed, val_fraction=config.val_fraction,
                          **config.dataset_options)
    save_prepared(splits, Path(config.out))
    return {"dataset": splits.name, "fingerprint": splits.fingerprint(), "out": config.out,
            "train": list(splits.train.shape), "val": list(splits.val.shape), "test": list(splits.test.shape)}
