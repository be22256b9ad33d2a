"""BetaVAE score (Higgins et al. 2017), disentanglement_lib's scikit-learn version.

Each point: draw a factor and two batches of 64 factor rows that agree on that factor row by
row (all other factors drawn independently); the point's features are the mean over the batch
of |code(x1) - code(x2)| per dimension, its label the factor. A default LogisticRegression is
trained on num_train points and scored on num_eval fresh ones.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from vae_core.analysis.disentanglement.inputs import (
    IMAGES_PER_CALL,
    Represent,
    batch_statistic,
    check_count,
)
from vae_core.config import ConfigError
from vae_core.data.factors import FactorDataset, sample_factor_indices

BATCH_SIZE = 64
NUM_TRAIN, NUM_EVAL = 10000, 5000


def paired_batches(dataset: FactorDataset, n: int, batch_size: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Fixed factor (n,) and rows (n, 2 * batch_size, F): row b and row batch_size + b share
    the fixed factor's value, every other value is drawn independently."""
    check_count("batch_size", batch_size, 1)
    fixed = rng.integers(0, len(dataset.factor_sizes), check_count("n", n, 1))
    rows = sample_factor_indices(dataset, n * 2 * batch_size, rng).reshape(n, 2 * batch_size, -1)
    point = np.arange(n)
    rows[point, batch_size:, fixed] = rows[point, :batch_size, fixed]
    return fixed, rows


def difference_features(represent: Represent, dataset: FactorDataset, rng: np.random.Generator,
                        n: int, batch_size: int,
                        images_per_call: int = IMAGES_PER_CALL) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) mean |z1 - z2| per point and the (n,) fixed factors as labels."""
    fixed, rows = paired_batches(dataset, n, batch_size, rng)

    def mean_abs_difference(codes: np.ndarray) -> np.ndarray:
        return np.abs(codes[:, :batch_size] - codes[:, batch_size:]).mean(axis=1)

    return batch_statistic(represent, dataset, rows, mean_abs_difference, images_per_call), fixed


def beta_vae_score(represent: Represent, dataset: FactorDataset, rng: np.random.Generator, *,
                   batch_size: int = BATCH_SIZE, num_train: int = NUM_TRAIN,
                   num_eval: int = NUM_EVAL, images_per_call: int = IMAGES_PER_CALL) -> dict[str, float]:
    """Train and eval accuracy of the logistic regression that names the fixed factor."""
    check_count("num_train", num_train, 2)
    check_count("num_eval", num_eval, 1)
    train_x, train_y = difference_features(represent, dataset, rng, num_train, batch_size,
                                           images_per_call)
    if np.unique(train_y).size < 2:
        raise ConfigError(f"beta_vae_score num_train: all {num_train} training points fixed the "
                          "same factor; a classifier needs two: raise num_train")
    model = LogisticRegression().fit(train_x, train_y)
    eval_x, eval_y = difference_features(represent, dataset, rng, num_eval, batch_size,
                                         images_per_call)
    return {"disentanglement.beta_vae_train": float(np.mean(model.predict(train_x) == train_y)),
            "disentanglement.beta_vae_eval": float(np.mean(model.predict(eval_x) == eval_y))}
