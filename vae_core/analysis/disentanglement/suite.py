"""Every ground-truth disentanglement metric of one model at once, as one namespaced dict.

The code-only metrics share one training draw (10000 rows) and one held-out draw (5000 rows),
as disentanglement_lib's studies do by seeding every metric alike; FactorVAE and BetaVAE draw
their own fixed-factor batches from the same generator afterwards.
"""

from __future__ import annotations

import numpy as np

from vae_core.analysis.disentanglement.beta_vae import beta_vae_score
from vae_core.analysis.disentanglement.dci import dci
from vae_core.analysis.disentanglement.factor_vae import factor_vae_score
from vae_core.analysis.disentanglement.information import NUM_BINS, mig
from vae_core.analysis.disentanglement.inputs import (
    IMAGES_PER_CALL,
    Represent,
    check_count,
    check_split,
    sample_codes,
)
from vae_core.analysis.disentanglement.modularity import modularity_explicitness
from vae_core.analysis.disentanglement.sap import sap
from vae_core.data.factors import FactorDataset

NUM_TRAIN, NUM_TEST, BATCH_SIZE = 10000, 5000, 64


def metrics_from_codes(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
                       test_factors: np.ndarray, *, num_bins: int = NUM_BINS,
                       seed: int = 0, n_jobs: int | None = None) -> dict[str, float]:
    """MIG (training rows), DCI, SAP, modularity and explicitness of codes already computed;
    n_jobs parallelises DCI's per-factor trees."""
    split = check_split("metrics_from_codes", train_codes, train_factors, test_codes, test_factors,
                        min_dims=2)
    return {**mig(split[0], split[1], num_bins=num_bins), **dci(*split, seed=seed, n_jobs=n_jobs),
            **sap(*split), **modularity_explicitness(*split, num_bins=num_bins)}


def all_metrics(represent: Represent, dataset: FactorDataset, rng: np.random.Generator, *,
                num_train: int = NUM_TRAIN, num_test: int = NUM_TEST, batch_size: int = BATCH_SIZE,
                num_variance_estimate: int = NUM_TRAIN, num_bins: int = NUM_BINS,
                images_per_call: int = IMAGES_PER_CALL, n_jobs: int | None = None) -> dict[str, float]:
    """All metrics but UDR (which compares models) for one representation function;
    num_test is also FactorVAE's and BetaVAE's num_eval, num_train their num_train."""
    for key, value in (("num_train", num_train), ("num_test", num_test), ("batch_size", batch_size),
                       ("num_variance_estimate", num_variance_estimate)):
        check_count(key, value, 2)
    train = sample_codes(represent, dataset, num_train, rng, images_per_call)
    test = sample_codes(represent, dataset, num_test, rng, images_per_call)
    sampling = {"batch_size": batch_size, "num_train": num_train, "num_eval": num_test,
                "images_per_call": images_per_call}
    return {**metrics_from_codes(*train, *test, num_bins=num_bins, n_jobs=n_jobs),
            **factor_vae_score(represent, dataset, rng, num_variance_estimate=num_variance_estimate,
                               **sampling),
            **beta_vae_score(represent, dataset, rng, **sampling)}
