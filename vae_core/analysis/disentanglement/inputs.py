"""Checked inputs of the disentanglement metrics, and codes drawn from a factor data set.

Every metric takes codes (N, K) and factor indices (N, F) row-aligned; the checks here run
before any fitting so a bad array fails with one line naming it. The samplers render images
from a `FactorDataset` and pass them to `represent` in large calls (not one call per
64-image batch as disentanglement_lib does), so an encoder sees few, full batches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vae_core.config import ConfigError
from vae_core.data.factors import FactorDataset, sample_factor_indices

Represent = Callable[[np.ndarray], np.ndarray]  # images (n, C, H, W) -> codes (n, K)
IMAGES_PER_CALL = 4096


def check_codes(name: str, codes: np.ndarray, min_dims: int = 1) -> np.ndarray:
    """(N, K) finite codes as float64, K >= min_dims."""
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] < 2 or codes.shape[1] < min_dims:
        raise ConfigError(f"{name}: expected codes of shape (N >= 2, K >= {min_dims}), got "
                          f"{codes.shape}; pass one row per image, one column per latent dimension")
    if not np.isfinite(codes).all():
        raise ConfigError(f"{name}: codes hold NaN or infinite values; check the encoder's output")
    return codes.astype(np.float64, copy=False)


def check_factors(name: str, factors: np.ndarray, n_rows: int) -> np.ndarray:
    """(N, F) integer factor indices with the codes' N rows, as int64."""
    factors = np.asarray(factors)
    if factors.ndim != 2 or factors.shape[0] != n_rows or factors.shape[1] < 1:
        raise ConfigError(f"{name}: expected factors of shape ({n_rows}, F >= 1) to match the "
                          f"codes' rows, got {factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ConfigError(f"{name}: factors have dtype {factors.dtype}; pass the grid indices "
                          "(integers), not the factor values")
    return factors.astype(np.int64, copy=False)


def check_pair(name: str, codes: np.ndarray, factors: np.ndarray,
               min_dims: int = 1) -> tuple[np.ndarray, np.ndarray]:
    codes = check_codes(f"{name} codes", codes, min_dims)
    return codes, check_factors(f"{name} factors", factors, len(codes))


def check_split(name: str, train_codes: np.ndarray, train_factors: np.ndarray,
                test_codes: np.ndarray, test_factors: np.ndarray,
                min_dims: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and held-out (codes, factors) with the same K code and F factor columns."""
    train_codes, train_factors = check_pair(f"{name} train", train_codes, train_factors, min_dims)
    test_codes, test_factors = check_pair(f"{name} test", test_codes, test_factors, min_dims)
    if train_codes.shape[1] != test_codes.shape[1] or train_factors.shape[1] != test_factors.shape[1]:
        raise ConfigError(f"{name}: train codes/factors have {train_codes.shape[1]}/"
                          f"{train_factors.shape[1]} columns, test {test_codes.shape[1]}/"
                          f"{test_factors.shape[1]}; both must come from one model and data set")
    return train_codes, train_factors, test_codes, test_factors


def check_count(key: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{key}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def represent_rows(represent: Represent, dataset: FactorDataset, indices: np.ndarray,
                   images_per_call: int = IMAGES_PER_CALL) -> np.ndarray:
    """Codes (n, K) of the images rendered from factor indices (n, F), images_per_call at a time."""
    check_count("images_per_call", images_per_call, 1)
    parts = []
    for start in range(0, len(indices), images_per_call):
        rows = indices[start:start + images_per_call]
        codes = np.asarray(represent(dataset.render(rows)), dtype=np.float64)
        if codes.ndim != 2 or len(codes) != len(rows) or not np.isfinite(codes).all():
            raise ConfigError(f"represent: {len(rows)} images gave codes of shape {codes.shape} "
                              "(or non-finite values); it must return finite (n_images, K) codes")
        parts.append(codes)
    return np.concatenate(parts)


def sample_codes(represent: Represent, dataset: FactorDataset, n: int, rng: np.random.Generator,
                 images_per_call: int = IMAGES_PER_CALL) -> tuple[np.ndarray, np.ndarray]:
    """n factor rows drawn uniformly from the grid (with replacement) and their codes."""
    factors = sample_factor_indices(dataset, check_count("n", n, 2), rng)
    return represent_rows(represent, dataset, factors, images_per_call), factors


def fixed_factor_batches(dataset: FactorDataset, n: int, batch_size: int,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n batches of factor rows (n, batch_size, F) in which one factor (n,), drawn uniformly,
    takes the same value across the batch: FactorVAE's training points."""
    check_count("batch_size", batch_size, 2)
    fixed = rng.integers(0, len(dataset.factor_sizes), check_count("n", n, 1))
    rows = sample_factor_indices(dataset, n * batch_size, rng).reshape(n, batch_size, -1)
    batch = np.arange(n)
    rows[batch, :, fixed] = rows[batch, :1, fixed]
    return fixed, rows


def batch_statistic(represent: Represent, dataset: FactorDataset, rows: np.ndarray,
                    statistic: Callable[[np.ndarray], np.ndarray],
                    images_per_call: int = IMAGES_PER_CALL) -> np.ndarray:
    """statistic(codes (m, B, K)) -> (m, ...) over batches of factor rows (n, B, F), computed a
    block of whole batches at a time so the codes of all n * B images are never held at once."""
    n, batch = rows.shape[:2]
    per_call = max(1, images_per_call // batch)
    parts = []
    for start in range(0, n, per_call):
        block = rows[start:start + per_call]
        codes = represent_rows(represent, dataset, block.reshape(-1, block.shape[-1]), len(block) * batch)
        parts.append(statistic(codes.reshape(len(block), batch, -1)))
    return np.concatenate(parts)
