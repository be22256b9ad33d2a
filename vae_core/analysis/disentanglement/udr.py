"""UDR (Duan et al. 2020): how alike the codes of the models of an ensemble are, up to
permutation and sign of the dimensions, with no ground truth needed.

For each pair of models (i, j), R is the |Spearman correlation| between every active
dimension of model i and every active dimension of model j on the same images (a dimension
is active when its mean KL to the prior exceeds 0.01 nats). The pair scores
(mean_j max_i R^2 / sum_i R + mean_i max_j R^2 / sum_j R) / 2, with 0 for a dimension whose
correlations are all 0 (disentanglement_lib's `relative_strength_disentanglement`). A model's
UDR is the median of its pair scores over the other models. Spearman comes from one matrix
product of standardised ranks per pair, not one scipy call per pair of dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from vae_core.analysis.disentanglement.inputs import check_codes
from vae_core.config import ConfigError

KL_THRESHOLD = 0.01


def _standardised_ranks(codes: np.ndarray) -> np.ndarray:
    """Column ranks (ties averaged) centred and scaled to unit norm; 0 for a constant column."""
    ranks = rankdata(codes, axis=0)
    ranks -= ranks.mean(0)
    norms = np.linalg.norm(ranks, axis=0)
    return ranks / np.where(norms > 0, norms, 1.0)


def relative_strength(correlation: np.ndarray) -> float:
    """Pair score of an (active i) x (active j) |correlation| matrix; 0 when either is empty."""
    if correlation.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = np.nan_to_num(correlation.max(0) ** 2 / correlation.sum(0))
        rows = np.nan_to_num(correlation.max(1) ** 2 / correlation.sum(1))
    return float((columns.mean() + rows.mean()) / 2)


def udr_pairwise(codes: Sequence[np.ndarray], kl: Sequence[np.ndarray], *,
                 kl_threshold: float = KL_THRESHOLD) -> np.ndarray:
    """(M, M) symmetric pair scores of M models (diagonal 0); codes[m] (N, K_m) on the same
    N images, kl[m] (K_m,) mean KL per dimension."""
    if len(codes) < 2 or len(codes) != len(kl):
        raise ConfigError(f"udr: got {len(codes)} code arrays and {len(kl)} KL vectors; give one "
                          "of each per model, for at least 2 models")
    ranks = []
    for m, (model_codes, model_kl) in enumerate(zip(codes, kl)):
        model_codes = check_codes(f"udr codes[{m}]", model_codes)
        model_kl = np.asarray(model_kl, dtype=np.float64)
        if model_kl.shape != (model_codes.shape[1],) or len(model_codes) != len(codes[0]):
            raise ConfigError(f"udr model {m}: codes {model_codes.shape} and kl {model_kl.shape} do "
                              f"not match; give (N={len(codes[0])}, K) codes and K KL values")
        ranks.append(_standardised_ranks(model_codes[:, model_kl > kl_threshold]))
    scores = np.zeros((len(ranks), len(ranks)))
    for i in range(len(ranks)):
        for j in range(i + 1, len(ranks)):
            scores[i, j] = scores[j, i] = relative_strength(np.abs(ranks[i].T @ ranks[j]))
    return scores


def udr(codes: Sequence[np.ndarray], kl: Sequence[np.ndarray], *,
        kl_threshold: float = KL_THRESHOLD) -> list[dict[str, float]]:
    """One {"disentanglement.udr": median pair score} per model, in the order given."""
    scores = udr_pairwise(codes, kl, kl_threshold=kl_threshold)
    others = ~np.eye(len(scores), dtype=bool)
    return [{"disentanglement.udr": float(np.median(scores[m][others[m]]))}
            for m in range(len(scores))]
