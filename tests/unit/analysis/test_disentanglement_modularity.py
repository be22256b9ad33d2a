"""Modularity and explicitness against hand-computed cases, disentanglement_lib's loop and
known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer

from tests.unit.analysis.disentanglement_helpers import GridFactors, monotone_codes, rotated_codes
from vae_core.analysis.disentanglement.modularity import (
    modularity_explicitness,
    modularity_from_information,
)
from vae_core.config import ConfigError
from vae_core.data.factors import full_grid, sample_factor_indices


def _reference(mus, ys, mus_test, ys_test) -> dict[str, float]:
    """disentanglement_lib's compute_modularity_explicitness on (N, K) codes, loops kept."""
    binned = np.stack([np.digitize(c, np.histogram(c, 20)[1][:-1]) for c in mus.T], axis=1)
    mi = np.array([[mutual_info_score(ys[:, j], binned[:, i]) for j in range(ys.shape[1])]
                   for i in range(mus.shape[1])])
    sq = np.square(mi)
    top = np.max(sq, axis=1)
    per_code = 1.0 - (np.sum(sq, axis=1) - top) / (top * (sq.shape[1] - 1.0))
    per_code[top == 0.0] = 0.0
    mean, std = mus.mean(0), mus.std(0)
    train, test = (mus - mean) / std, (mus_test - mean) / std
    auc_train, auc_test = [], []
    for i in range(ys.shape[1]):
        clf = LogisticRegression().fit(train, ys[:, i])
        mlb = MultiLabelBinarizer()
        auc_train.append(roc_auc_score(mlb.fit_transform(ys[:, i][:, None]), clf.predict_proba(train)))
        auc_test.append(roc_auc_score(mlb.fit_transform(ys_test[:, i][:, None]), clf.predict_proba(test)))
    return {"disentanglement.modularity": np.mean(per_code),
            "disentanglement.explicitness_train": np.mean(auc_train),
            "disentanglement.explicitness_test": np.mean(auc_test)}


def test_hand_computed_modularity() -> None:
    # codes informative about one factor each score 1, whatever the amount
    assert modularity_from_information(np.array([[0.3, 0, 0], [0, 0, 2.0]])) == pytest.approx(1.0)
    # equal information about two of two factors: 1 - (2 - 1) / (1 * 1) = 0
    assert modularity_from_information(np.array([[1.0, 1.0]])) == pytest.approx(0.0)
    # a code informative about nothing scores 0 (not 0/0)
    assert modularity_from_information(np.array([[0.0, 0.0], [1.0, 0.0]])) == pytest.approx(0.5)
    # m = (2, 1, 0): 1 - (4 + 1 - 4) / (4 * 2) = 7/8
    assert modularity_from_information(np.array([[2.0, 1.0, 0.0]])) == pytest.approx(7 / 8)


def test_matches_the_reference_loop() -> None:
    rng = np.random.default_rng(0)
    dataset = GridFactors((3, 4, 2))
    train, test = sample_factor_indices(dataset, 900, rng), sample_factor_indices(dataset, 500, rng)
    mixing = rng.normal(size=(3, 5))

    def encode(f: np.ndarray) -> np.ndarray:
        return 1e3 + np.tanh(f @ mixing / 2) + 0.3 * rng.normal(size=(len(f), 5))

    x_train, x_test = encode(train), encode(test)
    ours = modularity_explicitness(x_train, train, x_test, test)
    reference = _reference(x_train, train, x_test, test)
    for key in reference:
        assert ours[key] == pytest.approx(reference[key], abs=1e-12), key


def test_factors_up_to_permutation_and_monotone_maps_score_at_the_top() -> None:
    dataset = GridFactors((4, 3, 5))
    grid = full_grid(dataset)
    train = np.tile(grid, (5, 1))
    order = np.array([2, 0, 1])
    scores = modularity_explicitness(monotone_codes(dataset.factor_values(train), order), train,
                                     monotone_codes(dataset.factor_values(grid), order), grid)
    assert scores["disentanglement.modularity"] == pytest.approx(1.0, abs=1e-12)
    assert scores["disentanglement.explicitness_test"] > 0.97


def test_rotated_factors_are_not_modular() -> None:
    grid = full_grid(GridFactors((10, 10)))
    codes = rotated_codes(grid.astype(float))
    assert modularity_explicitness(codes, grid, codes, grid)["disentanglement.modularity"] < 0.05


def test_noise_is_not_explicit() -> None:
    rng = np.random.default_rng(1)
    dataset = GridFactors((3, 5))
    train, test = sample_factor_indices(dataset, 2000, rng), sample_factor_indices(dataset, 2000, rng)
    scores = modularity_explicitness(rng.normal(size=(2000, 4)), train, rng.normal(size=(2000, 4)), test)
    assert abs(scores["disentanglement.explicitness_test"] - 0.5) < 0.03


def test_a_constant_factor_is_refused() -> None:
    factors = np.stack([np.arange(10) % 2, np.zeros(10, int)], axis=1)
    with pytest.raises(ConfigError, match="factor column 1 takes one value"):
        modularity_explicitness(np.eye(10)[:, :3], factors, np.eye(10)[:, :3], factors)
