"""SAP score (Kumar et al. 2018), disentanglement_lib's version.

Score matrix S (K codes x F factors): for a discrete factor, the held-out accuracy of a
LinearSVC(C=0.01, class_weight="balanced") that predicts the factor from the one code
dimension; for a continuous factor, the squared correlation of code and factor on the
training rows (0 for a constant code). SAP = mean over factors of the gap between the two
largest entries of the factor's column. For a discrete factor chance accuracy is not 0, so even
perfect codes score 1 - chance, not 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.svm import LinearSVC

from vae_core.analysis.disentanglement.inputs import check_split
from vae_core.config import ConfigError

SVC_C = 0.01


def _squared_correlations(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """(K, F) cov(code, factor)^2 / (var code * var factor), 0 where var code <= 1e-12."""
    centred_codes = codes - codes.mean(0)
    centred_factors = factors - factors.mean(0)
    n = len(codes) - 1
    covariance = centred_codes.T @ centred_factors / n
    code_var = (centred_codes ** 2).sum(0) / n
    factor_var = (centred_factors ** 2).sum(0) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = covariance ** 2 / np.outer(code_var, factor_var)
    return np.where(code_var[:, None] > 1e-12, scores, 0.0)


def _svc_accuracy(code: np.ndarray, factor: np.ndarray, test_code: np.ndarray,
                  test_factor: np.ndarray) -> float:
    classifier = LinearSVC(C=SVC_C, class_weight="balanced").fit(code[:, None], factor)
    return float(np.mean(classifier.predict(test_code[:, None]) == test_factor))


def score_matrix(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
                 test_factors: np.ndarray, continuous: np.ndarray) -> np.ndarray:
    """(K, F) SAP score matrix; continuous (F,) bool picks the correlation score per factor."""
    scores = np.zeros((train_codes.shape[1], train_factors.shape[1]))
    if continuous.any():
        correlations = _squared_correlations(train_codes, train_factors[:, continuous].astype(float))
        scores[:, continuous] = correlations
    for f in np.flatnonzero(~continuous):
        for k in range(train_codes.shape[1]):
            scores[k, f] = _svc_accuracy(train_codes[:, k], train_factors[:, f],
                                         test_codes[:, k], test_factors[:, f])
    return scores


def sap(train_codes: np.ndarray, train_factors: np.ndarray, test_codes: np.ndarray,
        test_factors: np.ndarray, *, continuous: Sequence[bool] | None = None) -> dict[str, float]:
    """SAP; `continuous` marks factors scored by correlation (None: all discrete, as in
    disentanglement_lib's studies, with 10000 training and 5000 test rows)."""
    train_codes, train_factors, test_codes, test_factors = check_split(
        "sap", train_codes, train_factors, test_codes, test_factors, min_dims=2)
    n_factors = train_factors.shape[1]
    mask = np.zeros(n_factors, bool) if continuous is None else np.asarray(continuous, bool)
    if mask.shape != (n_factors,):
        raise ConfigError(f"sap continuous: expected {n_factors} flags (one per factor), got "
                          f"{list(continuous)}")
    scores = np.sort(score_matrix(train_codes, train_factors, test_codes, test_factors, mask), axis=0)
    return {"disentanglement.sap": float(np.mean(scores[-1] - scores[-2]))}
