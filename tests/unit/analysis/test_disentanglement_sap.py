"""SAP against disentanglement_lib's per-(code, factor) loop and exact answers on full grids."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import svm

from tests.unit.analysis.disentanglement_helpers import GridFactors, monotone_codes
from vae_core.analysis.disentanglement.sap import sap
from vae_core.config import ConfigError
from vae_core.data.factors import full_grid, sample_factor_indices


def _reference_sap(mus, ys, mus_test, ys_test, continuous_factors: bool) -> float:
    """disentanglement_lib's _compute_score_matrix and _compute_avg_diff_top_two, (N, K) layout."""
    matrix = np.zeros((mus.shape[1], ys.shape[1]))
    for i in range(mus.shape[1]):
        for j in range(ys.shape[1]):
            if continuous_factors:
                cov = np.cov(mus[:, i], ys[:, j], ddof=1)
                matrix[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]) if cov[0, 0] > 1e-12 else 0.0
            else:
                classifier = svm.LinearSVC(C=0.01, class_weight="balanced")
                classifier.fit(mus[:, i][:, None], ys[:, j])
                matrix[i, j] = np.mean(classifier.predict(mus_test[:, i][:, None]) == ys_test[:, j])
    top = np.sort(matrix, axis=0)
    return float(np.mean(top[-1] - top[-2]))


@pytest.mark.parametrize("continuous", [False, True])
def test_matches_the_reference_loop(continuous: bool) -> None:
    rng = np.random.default_rng(0)
    dataset = GridFactors((3, 5, 2))
    train, test = sample_factor_indices(dataset, 800, rng), sample_factor_indices(dataset, 400, rng)
    mixing = rng.normal(size=(3, 4))

    def encode(f: np.ndarray) -> np.ndarray:
        codes = np.tanh(f @ mixing / 3) + 0.3 * rng.normal(size=(len(f), 4))
        codes[:, 3] = 5.0  # a constant code: correlation 0, classifier at the majority class
        return codes

    x_train, x_test = encode(train), encode(test)
    ours = sap(x_train, train, x_test, test, continuous=[continuous] * 3)["disentanglement.sap"]
    assert ours == pytest.approx(_reference_sap(x_train, train, x_test, test, continuous), abs=1e-12)


def test_mixed_discrete_and_continuous_factors_score_each_their_way() -> None:
    rng = np.random.default_rng(1)
    factors = np.stack([rng.integers(0, 3, 600), rng.integers(0, 4, 600)], axis=1)
    codes = factors + 0.5 * rng.normal(size=(600, 2))
    both = [sap(codes, factors, codes, factors, continuous=[c] * 2)["disentanglement.sap"]
            for c in (False, True)]
    mixed = sap(codes, factors, codes, factors, continuous=[True, False])["disentanglement.sap"]
    single = [_reference_sap(codes, factors[:, [j]].repeat(2, 1), codes, factors[:, [j]].repeat(2, 1), c)
              for j, c in ((0, True), (1, False))]
    assert mixed == pytest.approx(np.mean(single), abs=1e-12)
    assert mixed not in both


def test_affine_codes_of_the_factors_score_one_when_continuous() -> None:
    """On a full grid the factors are exactly uncorrelated, so R^2 is 1 and 0."""
    factors = full_grid(GridFactors((4, 5, 3)))
    codes = np.stack([-2.0 * factors[:, 2] + 7.0, 0.1 * factors[:, 0], 1e5 + factors[:, 1]], axis=1)
    assert sap(codes, factors, codes, factors, continuous=[True] * 3)["disentanglement.sap"] == (
        pytest.approx(1.0, abs=1e-9))


def test_binary_factors_score_one_minus_chance_when_discrete() -> None:
    """Perfect codes of balanced binary factors: the right code classifies all (accuracy 1); any
    rule on another code is right on exactly half of a full grid, so SAP = 1 - 1/2."""
    dataset = GridFactors((2, 2, 2, 2))
    factors = full_grid(dataset)
    train = np.tile(factors, (40, 1))
    codes = monotone_codes(dataset.factor_values(train), order=np.array([3, 1, 0, 2]))
    test_codes = monotone_codes(dataset.factor_values(factors), order=np.array([3, 1, 0, 2]))
    assert sap(codes, train, test_codes, factors)["disentanglement.sap"] == pytest.approx(0.5, abs=1e-12)


def test_noise_scores_near_zero() -> None:
    rng = np.random.default_rng(2)
    dataset = GridFactors((4, 6, 2))
    train, test = sample_factor_indices(dataset, 2000, rng), sample_factor_indices(dataset, 2000, rng)
    score = sap(rng.normal(size=(2000, 5)), train, rng.normal(size=(2000, 5)), test)["disentanglement.sap"]
    assert 0.0 <= score < 0.03


def test_wrong_number_of_continuous_flags_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"sap continuous: expected 2 flags"):
        sap(np.zeros((4, 2)), np.zeros((4, 2), int), np.zeros((4, 2)), np.zeros((4, 2), int),
            continuous=[True])
