"""One trained network scored with every per-model disentanglement metric, with its settings.

Shared by `analyze --kind disentanglement` (each model it reads) and by a sweep whose objective
is a disentanglement metric (each trial's trained network), so both log the same numbers
under the same names for the same settings.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field, PositiveInt
from torch import nn

from vae_core.analysis.disentanglement.codes import representation
from vae_core.analysis.disentanglement.information import NUM_BINS
from vae_core.analysis.disentanglement.suite import BATCH_SIZE, NUM_TEST, NUM_TRAIN, all_metrics
from vae_core.config import StrictModel
from vae_core.data.factors import FactorDataset

# What `all_metrics` returns, in its order (a test checks the two agree).
PER_MODEL_METRICS = (
    "disentanglement.mig",
    "disentanglement.dci_disentanglement", "disentanglement.dci_completeness",
    "disentanglement.dci_informativeness_train", "disentanglement.dci_informativeness_test",
    "disentanglement.sap",
    "disentanglement.modularity", "disentanglement.explicitness_train",
    "disentanglement.explicitness_test",
    "disentanglement.factor_vae_train", "disentanglement.factor_vae_eval",
    "disentanglement.factor_vae_active_dims",
    "disentanglement.beta_vae_train", "disentanglement.beta_vae_eval",
)
# Scores that compare the models of an ensemble, so no single model has one.
CROSS_MODEL_METRICS = ("disentanglement.udr",)


class ScoringConfig(StrictModel):
    """The sample counts and seed of one model's scoring (disentanglement_lib's defaults)."""

    num_train: int = Field(NUM_TRAIN, ge=2)  # codes for MIG/DCI/SAP/modularity; FactorVAE/BetaVAE votes
    num_test: int = Field(NUM_TEST, ge=2)  # held-out codes; FactorVAE/BetaVAE evaluation votes
    batch_size: int = Field(BATCH_SIZE, ge=2)  # images per fixed-factor batch (FactorVAE, BetaVAE)
    num_variance_estimate: int = Field(NUM_TRAIN, ge=2)
    num_bins: int = Field(NUM_BINS, ge=2)
    seed: int = Field(0, ge=0)
    n_jobs: PositiveInt | None = None  # DCI's per-factor trees in threads
    encode_batch: PositiveInt = 256


def score_network(config: ScoringConfig, network: nn.Module, dataset: FactorDataset) -> dict[str, float]:
    """Every per-model metric of `network`'s mean codes on fresh images of `dataset`; the draws
    depend only on config.seed, so every network scored with one config sees the same images."""
    rng = np.random.default_rng(config.seed)
    return all_metrics(representation(network, config.encode_batch), dataset, rng,
                       num_train=config.num_train, num_test=config.num_test,
                       batch_size=config.batch_size, num_variance_estimate=config.num_variance_estimate,
                       num_bins=config.num_bins, n_jobs=config.n_jobs)
