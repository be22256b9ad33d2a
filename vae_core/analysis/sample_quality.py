"""Sample quality without Inception: FID's formula on pixels.

FID fits Gaussians to Inception features of generated and real images; Inception weights
cannot be fetched offline, so fd_pixel fits them to the flattened pixels instead. It tells how
well the samples' first two moments match the data's, not perceptual quality, and is not
comparable with published FIDs.
fd_pixel = frechet_distance(*moments(samples), *moments(points)).
"""

from __future__ import annotations

import numpy as np

SCORE = "fd_pixel"
DESCRIPTION = "Fréchet distance in pixel space (FID's formula without Inception)"


def moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (ddof 1) of the rows of x, each row flattened, in float64."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError(f"moments: {len(x)} point(s); a covariance needs at least 2")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mean1: np.ndarray, cov1: np.ndarray, mean2: np.ndarray, cov2: np.ndarray) -> float:
    """||m1 - m2||^2 + tr S1 + tr S2 - 2 tr sqrt(S1 S2) between N(m1, S1) and N(m2, S2).

    tr sqrt(S1 S2) is the trace of the square root of the symmetric PSD matrix
    S1^1/2 S2 S1^1/2, so it comes from symmetric eigendecompositions (negative round-off
    eigenvalues clipped to 0): no non-symmetric sqrtm, no complex parts to drop."""
    mean1, mean2 = np.asarray(mean1, np.float64), np.asarray(mean2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    d = mean1.shape[0]
    if mean1.shape != (d,) or mean2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"frechet_distance: means {mean1.shape}, {mean2.shape} and covariances "
                         f"{cov1.shape}, {cov2.shape} do not match; give two means of length D "
                         "and two D x D covariances of the same D")
    root = _psd_sqrt(cov1)
    middle = root @ cov2 @ root
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)).sum()
    diff = mean1 - mean2
    return float(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2.0 * cross)

