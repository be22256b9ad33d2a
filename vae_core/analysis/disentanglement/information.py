"""Mutual information between histogram-binned codes and factors, and the MIG built on it.

MIG (Chen et al. 2018, disentanglement_lib's `discrete_mig`): each code dimension is cut into
`num_bins` equal-width bins over its range (disentanglement_lib's `_histogram_discretize`);
for each factor the two largest I(code_k; factor) are taken, their gap divided by H(factor),
and the gaps averaged over factors. The K x F information matrix comes from one joint
histogram per factor over all K dimensions at once (np.bincount), not K * F calls of
scikit-learn's `mutual_info_score`; both use natural logs and clip at 0.
"""

from __future__ import annotations

import numpy as np

from vae_core.analysis.disentanglement.inputs import check_count, check_pair
from vae_core.config import ConfigError

NUM_BINS = 20


def histogram_discretize(codes: np.ndarray, num_bins: int = NUM_BINS) -> np.ndarray:
    """Bin numbers 1..num_bins per column: np.digitize(x, np.histogram(x, num_bins)[1][:-1])."""
    codes = np.asarray(codes, dtype=np.float64)
    check_count("num_bins", num_bins, 1)
    low, high = codes.min(0), codes.max(0)
    constant = low == high  # np.histogram widens a zero range to [v - 0.5, v + 0.5]
    edges = np.linspace(np.where(constant, low - 0.5, low), np.where(constant, high + 0.5, high),
                        num_bins + 1, axis=1)
    binned = np.empty(codes.shape, dtype=np.int64)
    for k in range(codes.shape[1]):
        binned[:, k] = np.searchsorted(edges[k, :-1], codes[:, k], side="right")
    return binned


def _labels(column: np.ndarray) -> tuple[np.ndarray, int]:
    """Values relabelled 0..m-1 (mutual information only sees which rows share a value)."""
    values, labels = np.unique(column, return_inverse=True)
    return labels.reshape(-1), len(values)


def _information(joint: np.ndarray) -> np.ndarray:
    """I(A; B) in nats from counts (..., a, b), clipped at 0 like scikit-learn's."""
    total = joint.sum(axis=(-2, -1), keepdims=True)
    p = joint / total
    outer = p.sum(-1, keepdims=True) * p.sum(-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / outer), 0.0)
    return np.clip(terms.sum(axis=(-2, -1)), 0.0, None)


def mutual_information_matrix(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """(K, F) I(code_k; factor_f) in nats between integer-valued codes and factors."""
    codes = np.stack([_labels(c)[0] for c in np.asarray(discrete_codes).T], axis=1)
    width = int(codes.max()) + 1
    n_codes = codes.shape[1]
    matrix = np.empty((n_codes, factors.shape[1]))
    for f, column in enumerate(np.asarray(factors).T):
        labels, n_values = _labels(column)
        cell = (np.arange(n_codes) * width + codes) * n_values + labels[:, None]
        joint = np.bincount(cell.ravel(), minlength=n_codes * width * n_values)
        matrix[:, f] = _information(joint.reshape(n_codes, width, n_values))
    return matrix


def factor_entropies(factors: np.ndarray) -> np.ndarray:
    """(F,) H(factor_f) in nats of the empirical distribution of each column."""
    entropies = []
    for column in np.asarray(factors).T:
        p = np.bincount(_labels(column)[0]) / len(column)
        entropies.append(-np.sum(p * np.log(p)))
    return np.asarray(entropies)


def mig(codes: np.ndarray, factors: np.ndarray, *, num_bins: int = NUM_BINS) -> dict[str, float]:
    """Mean over factors of (largest - second largest I(code; factor)) / H(factor).

    disentanglement_lib computes it on 10000 samples (`num_train`): pass that many rows."""
    codes, factors = check_pair("mig", codes, factors, min_dims=2)
    entropies = factor_entropies(factors)
    if (entropies == 0).any():
        bad = int(np.flatnonzero(entropies == 0)[0])
        raise ConfigError(f"mig: factor column {bad} takes one value in all {len(factors)} rows; "
                          "MIG divides by its entropy: sample factors that vary")
    information = mutual_information_matrix(histogram_discretize(codes, num_bins), factors)
    top = np.sort(information, axis=0)[::-1]
    return {"disentanglement.mig": float(np.mean((top[0] - top[1]) / entropies))}
