"""FactorVAE score (Kim & Mnih 2018), disentanglement_lib's protocol with pruned dims indexed right.

Each training point: draw a factor, a batch of 64 factor rows with that factor fixed, and take
the code dimension whose variance over the batch, divided by its variance over the data, is
smallest; dimensions with data std < 0.05 are left out. A majority vote maps each dimension to
the factor it most often wins for; the score is the share of points it classifies right.

disentanglement_lib takes the argmin over the *pruned* array and stores it as if it indexed
the full one, so its vote columns name the wrong dimensions after a dead one (its accuracy
survives only because training and evaluation shift alike), and it reports `len(mask)`, all
dimensions, as the active count. Here the argmin is mapped back to the dimension's own index,
so votes, classifier, accuracy and count match the codes with the dead dimensions removed.
"""

from __future__ import annotations

import numpy as np

from vae_core.analysis.disentanglement.inputs import (
    IMAGES_PER_CALL,
    Represent,
    batch_statistic,
    check_count,
    fixed_factor_batches,
    represent_rows,
)
from vae_core.data.factors import FactorDataset, sample_factor_indices

BATCH_SIZE = 64
NUM_TRAIN, NUM_EVAL, NUM_VARIANCE_ESTIMATE = 10000, 5000, 10000
PRUNE_STD = 0.05


def _votes(represent: Represent, dataset: FactorDataset, rng: np.random.Generator, n: int,
           batch_size: int, global_variance: np.ndarray, active: np.ndarray,
           images_per_call: int) -> np.ndarray:
    """(F, K) counts of (fixed factor, dimension of least normalised variance) over n points."""
    fixed, rows = fixed_factor_batches(dataset, n, batch_size, rng)
    active_dims = np.flatnonzero(active)

    def least_varying(codes: np.ndarray) -> np.ndarray:
        local = codes[:, :, active_dims].var(axis=1, ddof=1)
        return active_dims[np.argmin(local / global_variance[active_dims], axis=1)]

    winners = batch_statistic(represent, dataset, rows, least_varying, images_per_call)
    votes = np.zeros((len(dataset.factor_sizes), len(active)), dtype=np.int64)
    np.add.at(votes, (fixed, winners), 1)
    return votes


def majority_vote_accuracy(votes: np.ndarray, classifier: np.ndarray) -> float:
    """Share of the points in `votes` (F, K) whose dimension's class is their factor."""
    return float(votes[classifier, np.arange(votes.shape[1])].sum() / votes.sum())


def factor_vae_score(represent: Represent, dataset: FactorDataset, rng: np.random.Generator, *,
                     batch_size: int = BATCH_SIZE, num_train: int = NUM_TRAIN,
                     num_eval: int = NUM_EVAL, num_variance_estimate: int = NUM_VARIANCE_ESTIMATE,
                     prune_std: float = PRUNE_STD,
                     images_per_call: int = IMAGES_PER_CALL) -> dict[str, float]:
    """Train and eval accuracy of the majority-vote classifier, and the number of active dims."""
    for key, value, minimum in (("num_train", num_train, 1), ("num_eval", num_eval, 1),
                                ("num_variance_estimate", num_variance_estimate, 2)):
        check_count(key, value, minimum)
    indices = sample_factor_indices(dataset, num_variance_estimate, rng)
    global_variance = represent_rows(represent, dataset, indices, images_per_call).var(0, ddof=1)
    active = np.sqrt(global_variance) >= prune_std
    if not active.any():
        return {"disentanglement.factor_vae_train": 0.0, "disentanglement.factor_vae_eval": 0.0,
                "disentanglement.factor_vae_active_dims": 0.0}
    train_votes = _votes(represent, dataset, rng, num_train, batch_size, global_variance, active,
                         images_per_call)
    classifier = np.argmax(train_votes, axis=0)
    eval_votes = _votes(represent, dataset, rng, num_eval, batch_size, global_variance, active,
                        images_per_call)
    return {
        "disentanglement.factor_vae_train": majority_vote_accuracy(train_votes, classifier),
        "disentanglement.factor_vae_eval": majority_vote_accuracy(eval_votes, classifier),
        "disentanglement.factor_vae_active_dims": float(active.sum()),
    }
