"""Histogram binning, the MI matrix and MIG against disentanglement_lib's loops and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mutual_info_score

from tests.unit.analysis.disentanglement_helpers import (
    GridFactors,
    monotone_codes,
    rotated_codes,
)
from vae_core.analysis.disentanglement.information import (
    factor_entropies,
    histogram_discretize,
    mig,
    mutual_information_matrix,
)
from vae_core.config import ConfigError
from vae_core.data.factors import full_grid


def _reference_discretize(codes: np.ndarray, num_bins: int) -> np.ndarray:
    """disentanglement_lib's _histogram_discretize, on (N, K) codes."""
    return np.stack([np.digitize(c, np.histogram(c, num_bins)[1][:-1]) for c in codes.T], axis=1)


def _reference_mig(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    binned = _reference_discretize(codes, num_bins)
    m = np.array([[mutual_info_score(factors[:, j], binned[:, i]) for j in range(factors.shape[1])]
                  for i in range(codes.shape[1])])
    entropy = np.array([mutual_info_score(y, y) for y in factors.T])
    top = np.sort(m, axis=0)[::-1]
    return float(np.mean((top[0] - top[1]) / entropy))


def _hard_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Columns with ties, a constant, a large offset, heavy tails and a tiny range."""
    return np.stack([
        rng.integers(0, 4, n).astype(float),
        np.full(n, 3.5),
        1e6 + rng.normal(size=n),
        rng.standard_cauchy(n),
        1e-9 * rng.uniform(size=n),
        np.round(rng.normal(size=n), 1),
    ], axis=1)


@pytest.mark.parametrize("num_bins", [1, 2, 20, 37])
def test_binning_matches_digitize_of_histogram_edges(num_bins: int) -> None:
    codes = _hard_codes(np.random.default_rng(0), 3000)
    np.testing.assert_array_equal(histogram_discretize(codes, num_bins),
                                  _reference_discretize(codes, num_bins))


def test_information_matrix_and_entropies_match_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    binned = histogram_discretize(_hard_codes(rng, 2000), 20)
    factors = np.stack([rng.integers(0, 5, 2000), rng.integers(0, 2, 2000),
                        100 + 7 * rng.integers(0, 3, 2000),  # labels need not start at 0
                        np.where(binned[:, 0] > 2, 1, rng.integers(0, 3, 2000))], axis=1)
    expected = np.array([[mutual_info_score(factors[:, f], binned[:, k]) for f in range(4)]
                         for k in range(binned.shape[1])])
    np.testing.assert_allclose(mutual_information_matrix(binned, factors), expected, atol=1e-12)
    np.testing.assert_allclose(factor_entropies(factors),
                               [mutual_info_score(y, y) for y in factors.T], atol=1e-12)


@pytest.mark.parametrize(("seed", "dims"), [(0, 7), (1, 7), (2, 64)])
def test_mig_matches_the_reference_loop(seed: int, dims: int) -> None:
    rng = np.random.default_rng(seed)
    factors = np.stack([rng.integers(0, s, 1500) for s in (3, 6, 10)], axis=1)
    mixing = rng.normal(size=(3, dims))
    codes = np.tanh(factors @ mixing / 5) + 0.3 * rng.normal(size=(1500, dims))
    codes[:, 4] = 1e4 + factors[:, 1] + 0.01 * rng.normal(size=1500)  # one clean, offset dimension
    assert mig(codes, factors)["disentanglement.mig"] == pytest.approx(
        _reference_mig(codes, factors), abs=1e-12)


def test_factors_up_to_permutation_and_monotone_maps_score_one() -> None:
    dataset = GridFactors((3, 5, 4, 6))
    factors = full_grid(dataset)
    codes = monotone_codes(dataset.factor_values(factors), order=np.array([2, 0, 3, 1]))
    assert mig(codes, factors)["disentanglement.mig"] == pytest.approx(1.0, abs=1e-12)


def test_two_factors_rotated_by_45_degrees_score_zero() -> None:
    factors = full_grid(GridFactors((10, 10)))
    assert mig(rotated_codes(factors.astype(float)), factors)["disentanglement.mig"] == pytest.approx(
        0.0, abs=1e-12)


def test_noise_scores_near_zero() -> None:
    rng = np.random.default_rng(3)
    factors = np.stack([rng.integers(0, s, 10000) for s in (3, 6, 40)], axis=1)
    score = mig(rng.normal(size=(10000, 10)), factors)["disentanglement.mig"]
    assert 0.0 <= score < 0.01


def test_bad_inputs_fail_with_one_line_naming_them() -> None:
    rng = np.random.default_rng(4)
    codes, factors = rng.normal(size=(50, 3)), rng.integers(0, 3, (50, 2))
    with pytest.raises(ConfigError, match="factor column 1 takes one value"):
        mig(codes, np.stack([factors[:, 0], np.zeros(50, int)], axis=1))
    with pytest.raises(ConfigError, match="grid indices"):
        mig(codes, factors.astype(float))
    with pytest.raises(ConfigError, match=r"shape \(50, F >= 1\)"):
        mig(codes, factors[:40])
    with pytest.raises(ConfigError, match="K >= 2"):
        mig(codes[:, :1], factors)
    with pytest.raises(ConfigError, match="NaN"):
        mig(np.where(codes > 2, np.nan, codes), factors)
