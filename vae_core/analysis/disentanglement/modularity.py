"""Modularity and explicitness (Ridgeway & Zemel 2018), disentanglement_lib's version.

Modularity: with m = I(code_k; factors) from histogram-binned codes (`information`), each code
scores 1 - (sum_f m_f^2 - max m^2) / (max m^2 (F - 1)) (0 for a code informative about
nothing); the scores are averaged over codes. Explicitness: per factor, a one-vs-rest ROC-AUC
(macro average over the factor's values) of scikit-learn's default LogisticRegression on the
codes standardised with the training mean and std, averaged over factors.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from vae_core.analysis.disentanglement.information import (
    NUM_BINS,
    histogram_discretize,
    mutual_information_matrix,
)
from vae_core.analysis.disentanglement.inputs import check_split
from vae_core.config import ConfigError


def modularity_from_information(information: np.ndarray) -> float:
    """Mean over codes of 1 - deviation from a single-factor code, from a (K, F) MI matrix."""
    squared = np.square(np.asarray(information, dtype=np.float64))
    top = squared.max(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_code = 1.0 - (squared.sum(1) - top) / (top * (squared.shape[1] - 1.0))
    return float(np.mean(np.where(top == 0.0, 0.0, per_code)))


def _one_vs_rest_auc(labels: np.ndarray, classes: np.ndarray, probabilities: np.ndarray) -> float:
    """Macro ROC-AUC of one indicator column per class (the reference's MultiLabelBinarizer
    layout); a class absent from `labels` has no AUC and is left out."""
    indicators = labels[:, None] == classes[None, :]
    present = indicators.any(0) & ~indicators.all(0)
    return float(roc_auc_score(indicators[:, present], probabilities[:, present], average="macro"))


def explicitness_per_factor(train_codes: np.ndarray, train_factor: np.ndarray,
                            test_codes: np.ndarray, test_factor: np.ndarray) -> tuple[float, float]:
    """(train AUC, test AUC) of one factor from standardised codes."""
    classifier = LogisticRegression().fit(train_codes, train_factor)
    return (_one_vs_rest_auc(train_factor, classifier.classes_, classifier.predict_proba(train_codes)),
            _one_vs_rest_auc(test_factor, classifier.classes_, classifier.predict_proba(test_codes)))


def modularity_explicitness(train_codes: np.ndarray, train_factors: np.ndarray,
                            test_codes: np.ndarray, test_factors: np.ndarray, *,
                            num_bins: int = NUM_BINS) -> dict[str, float]:
    """Modularity on the training rows and explicitness on both (disentanglement_lib: 10000
    training and 5000 test rows)."""
    train_codes, train_factors, test_codes, test_factors = check_split(
        "modularity_explicitness", train_codes, train_factors, test_codes, test_factors)
    single = [f for f in range(train_factors.shape[1]) if np.unique(train_factors[:, f]).size < 2]
    if single:
        raise ConfigError(f"modularity_explicitness: factor column {single[0]} takes one value in "
                          "all training rows; a classifier needs two: sample factors that vary")
    information = mutual_information_matrix(histogram_discretize(train_codes, num_bins), train_factors)
    mean, std = train_codes.mean(0), train_codes.std(0)
    std = np.where(std > 0, std, 1.0)  # a constant code stays 0 instead of dividing by 0
    train_scaled, test_scaled = (train_codes - mean) / std, (test_codes - mean) / std
    scores = np.array([explicitness_per_factor(train_scaled, train_factors[:, f],
                                               test_scaled, test_factors[:, f])
                       for f in range(train_factors.shape[1])])
    return {
        "disentanglement.modularity": modularity_from_information(information),
        "disentanglement.explicitness_train": float(scores[:, 0].mean()),
        "disentanglement.explicitness_test": float(scores[:, 1].mean()),
    }
