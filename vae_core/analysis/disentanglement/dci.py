"""DCI (Eastwood & Williams 2018) with gradient-boosted trees, as disentanglement_lib computes it.

One scikit-learn GradientBoostingClassifier (its defaults) per factor predicts the factor from
all codes; its `feature_importances_` fill column f of the K x F importance matrix R.
Disentanglement: 1 - H_F(R[k] / sum R[k]) per code, weighted by the code's share of R.
Completeness: 1 - H_K(R[:, f] / sum R[:, f]) per factor, weighted by the factor's share.
Informativeness: the classifiers' accuracy on the training and on held-out codes.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import entropy
from sklearn.ensemble import GradientBoostingClassifier

from vae_core.analysis.disentanglement.inputs import check_split

EPSILON = 1e-11  # disentanglement_lib's guard against log(0) in the entropies


def _fit_factor(train_codes: np.ndarray, train_factor: np.ndarray, test_codes: np.ndarray,
                test_factor: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    model = GradientBoostingClassifier(random_state=seed).fit(train_codes, train_factor)
    return (np.abs(model.feature_importances_), float(np.mean(model.predict(train_codes) == train_factor)),
            float(np.mean(model.predict(test_codes) == test_factor)))


def importance_matrix(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
                      test_factors: np.ndarray, seed: int = 0,
                      n_jobs: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, F) |feature importances| and (F,) train and test accuracies of one GBT per factor;
    the factors' fits run in n_jobs threads (tree building releases the GIL; None: one)."""
    fits = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_fit_factor)(train_codes, train_factors[:, f], test_codes, test_factors[:, f], seed)
        for f in range(train_factors.shape[1]))
    importance, train_accuracy, test_accuracy = zip(*fits)
    return np.stack(importance, axis=1), np.array(train_accuracy), np.array(test_accuracy)


def _weighted_score(importance: np.ndarray) -> float:
    """Sum over rows of (1 - entropy of the row, base = row length) * the row's share of the total."""
    per_row = 1.0 - entropy(importance.T + EPSILON, base=importance.shape[1])
    weights = importance if importance.sum() > 0 else np.ones_like(importance)
    return float(np.sum(per_row * weights.sum(1) / weights.sum()))


def disentanglement_completeness(importance: np.ndarray) -> tuple[float, float]:
    """(disentanglement, completeness) of a (K codes, F factors) importance matrix."""
    importance = np.asarray(importance, dtype=np.float64)
    return _weighted_score(importance), _weighted_score(importance.T)


def dci(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
        test_factors: np.ndarray, *, seed: int = 0, n_jobs: int | None = None) -> dict[str, float]:
    """DCI scores; disentanglement_lib uses 10000 training and 5000 test rows. `seed` fixes the
    trees' tie-breaking between equally good splits; n_jobs fits factors in parallel (the trees
    dominate the cost of all metrics: minutes per model at the default counts)."""
    train_codes, train_factors, test_codes, test_factors = check_split(
        "dci", train_codes, train_factors, test_codes, test_factors)
    importance, train_accuracy, test_accuracy = importance_matrix(
        train_codes, train_factors, test_codes, test_factors, seed, n_jobs)
    disentanglement, completeness = disentanglement_completeness(importance)
    return {
        "disentanglement.dci_disentanglement": disentanglement,
        "disentanglement.dci_completeness": completeness,
        "disentanglement.dci_informativeness_train": float(train_accuracy.mean()),
        "disentanglement.dci_informativeness_test": float(test_accuracy.mean()),
    }
