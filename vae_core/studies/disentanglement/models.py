"""The models a disentanglement analysis reads, resolved and checked before any run exists: each
one's last checkpoint, its training run's data set, swept parameter and seed, and the factor
data set they all share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vae_core.config import ConfigError
from vae_core.data.factor_sets import FACTOR_SETS, factor_dataset, has_factors
from vae_core.data.factors import FactorDataset
from vae_core.experiment import DataConfig, ExperimentConfig
from vae_core.tracking.checkpoints import checkpoints_of, load_model
from vae_core.tracking.runs import read_config


@dataclass
class AnalysedModel:
    reference: str
    run_id: str
    epoch: int  # the checkpoint read (the run's last)
    trained: ExperimentConfig
    param: float
    network: nn.Module

    @property
    def seed(self) -> int:
        return self.trained.trainer.seed


def _param_value(reference: str, trained: ExperimentConfig, param: str) -> float:
    flat = trained.flat()
    value = flat.get(param)
    if isinstance(value, bool) or not isinstance(value, int | float):
        numeric = sorted(k for k, v in flat.items() if isinstance(v, int | float) and not isinstance(v, bool))
        raise ConfigError(f"param: model {reference}'s training config has no number {param!r} "
                          f"(got {value!r}); allowed values: {', '.join(numeric)}")
    return float(value)


def resolve_model(reference: str, param: str) -> AnalysedModel:
    """A run's last checkpoint with its training config; a model whose training run is unknown,
    or that was trained on a data set without factors, is refused naming both."""
    run_id, uris = checkpoints_of(reference, [])
    if not run_id:
        raise ConfigError(f"models: {reference} has no training run to read its data set, {param} "
                          "and seed from; pass the training run's id")
    trained = read_config(run_id, ExperimentConfig)
    if not has_factors(trained.data.dataset):
        raise ConfigError(f"models: {reference} was trained on {trained.data.dataset!r}, which has no "
                          f"ground-truth factors; disentanglement needs one of {', '.join(FACTOR_SETS)}")
    epoch = max(uris)
    return AnalysedModel(reference, run_id, epoch, trained, _param_value(reference, trained, param),
                         load_model(uris[epoch]))


def shared_data(models: list[AnalysedModel], override: DataConfig | None) -> tuple[DataConfig, FactorDataset]:
    """The data set every model was trained on (or the override), as a FactorDataset; every
    network must encode its images."""
    declared = {(m.trained.data.dataset, repr(sorted(m.trained.data.dataset_options.items())))
                for m in models}
    if override is None and len(declared) > 1:
        raise ConfigError(f"models: trained on different data sets {sorted(declared)}; analyse each "
                          "data set separately (UDR compares codes of the same images)")
    data = override or models[0].trained.data
    dataset = factor_dataset(data.dataset, data.dataset_options)
    image = torch.from_numpy(dataset.render(np.zeros((1, len(dataset.factor_sizes)), dtype=np.int64)))
    for model in models:
        try:
            with torch.no_grad():
                model.network.eval().encode(image)
        except RuntimeError as error:
            raise ConfigError(f"dataset: model {model.reference} cannot encode {data.dataset} images "
                              f"of shape {tuple(image.shape[1:])} ({str(error).splitlines()[0]}); "
                              "pass the dataset_options it was trained with") from None
    return data, dataset
