"""DCI against hand-computed importance matrices, disentanglement_lib's loop and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from sklearn.ensemble import GradientBoostingClassifier

from tests.unit.analysis.disentanglement_helpers import GridFactors, monotone_codes, rotated_codes
from vae_core.analysis.disentanglement.dci import dci, disentanglement_completeness
from vae_core.config import ConfigError
from vae_core.data.factors import sample_factor_indices


def _reference_dci(x_train, y_train, x_test, y_test) -> dict[str, float]:
    """disentanglement_lib's compute_importance_gbt, disentanglement and completeness."""
    importance = np.zeros((x_train.shape[1], y_train.shape[1]))
    train_acc, test_acc = [], []
    for i in range(y_train.shape[1]):
        model = GradientBoostingClassifier(random_state=0).fit(x_train, y_train[:, i])
        importance[:, i] = np.abs(model.feature_importances_)
        train_acc.append(np.mean(model.predict(x_train) == y_train[:, i]))
        test_acc.append(np.mean(model.predict(x_test) == y_test[:, i]))
    per_code = 1.0 - scipy.stats.entropy(importance.T + 1e-11, base=importance.shape[1])
    per_factor = 1.0 - scipy.stats.entropy(importance + 1e-11, base=importance.shape[0])
    return {"disentanglement.dci_disentanglement": np.sum(per_code * importance.sum(1) / importance.sum()),
            "disentanglement.dci_completeness": np.sum(per_factor * importance.sum(0) / importance.sum()),
            "disentanglement.dci_informativeness_train": np.mean(train_acc),
            "disentanglement.dci_informativeness_test": np.mean(test_acc)}


def _draws(dataset: GridFactors, seed: int, n_train: int = 400, n_test: int = 200):
    rng = np.random.default_rng(seed)
    return sample_factor_indices(dataset, n_train, rng), sample_factor_indices(dataset, n_test, rng)


def test_hand_computed_importance_matrices() -> None:
    # one code per factor: perfect; every code on every factor alike: worst
    assert disentanglement_completeness(np.eye(3)) == pytest.approx((1.0, 1.0), abs=1e-9)
    assert disentanglement_completeness(np.ones((3, 3))) == pytest.approx((0.0, 0.0), abs=1e-9)
    # two codes, both only on factor 0: each code is pure (D = 1), factor 0 is split over two
    # codes evenly (1 - log_2 2 = 0) and factor 1 has no weight (C = 0)
    assert disentanglement_completeness(np.array([[1.0, 0.0], [1.0, 0.0]])) == pytest.approx(
        (1.0, 0.0), abs=1e-9)
    # code 0 split 3:1 over factors, code 1 unused: D = 1 - H_2(3/4, 1/4), C = 1 - 0 (each factor
    # uses one code), weights by share
    h = -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25))
    assert disentanglement_completeness(np.array([[3.0, 1.0], [0.0, 0.0]])) == pytest.approx(
        (1.0 - h, 1.0), abs=1e-9)
    # no importance at all: disentanglement_lib weighs the codes evenly
    assert disentanglement_completeness(np.zeros((2, 3))) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_matches_the_reference_loop_on_mixed_codes() -> None:
    dataset = GridFactors((4, 2, 3))
    train, test = _draws(dataset, 0)
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(3, 5))

    def encode(f: np.ndarray) -> np.ndarray:
        return np.tanh(dataset.factor_values(f) @ mixing) + 0.2 * rng.normal(size=(len(f), 5))

    x_train, x_test = encode(train), encode(test)
    reference = _reference_dci(x_train, train, x_test, test)
    for n_jobs in (None, 2):  # the factors' fits in one process or two give the same trees
        ours = dci(x_train, train, x_test, test, n_jobs=n_jobs)
        assert ours.keys() == reference.keys()
        for key in ours:
            assert ours[key] == pytest.approx(reference[key], abs=1e-12), (key, n_jobs)


def test_factors_up_to_permutation_and_monotone_maps_score_at_the_top() -> None:
    dataset = GridFactors((4, 5, 3))
    train, test = _draws(dataset, 2)
    order = np.array([1, 2, 0])
    scores = dci(monotone_codes(dataset.factor_values(train), order), train,
                 monotone_codes(dataset.factor_values(test), order), test)
    assert scores["disentanglement.dci_disentanglement"] > 0.999
    assert scores["disentanglement.dci_completeness"] > 0.999
    assert scores["disentanglement.dci_informativeness_test"] == 1.0


def test_two_rotated_factors_are_informative_but_not_disentangled() -> None:
    train, test = _draws(GridFactors((10, 10)), 3, n_train=1000)  # every cell seen in training
    scores = dci(rotated_codes(train.astype(float)), train, rotated_codes(test.astype(float)), test)
    assert scores["disentanglement.dci_disentanglement"] < 0.05
    assert scores["disentanglement.dci_completeness"] < 0.05
    assert scores["disentanglement.dci_informativeness_test"] == 1.0


def test_noise_predicts_at_chance() -> None:
    dataset = GridFactors((4, 5))
    train, test = _draws(dataset, 4, n_train=1000, n_test=1000)
    rng = np.random.default_rng(5)
    scores = dci(rng.normal(size=(1000, 4)), train, rng.normal(size=(1000, 4)), test)
    chance = np.mean([1 / 4, 1 / 5])
    assert abs(scores["disentanglement.dci_informativeness_test"] - chance) < 0.05
    assert scores["disentanglement.dci_disentanglement"] < 0.05


def test_train_and_test_from_different_models_are_refused() -> None:
    train, test = _draws(GridFactors((3, 3)), 6, 20, 10)
    with pytest.raises(ConfigError, match="dci: train codes/factors have 3/2 columns, test 2/2"):
        dci(np.zeros((20, 3)), train, np.zeros((10, 2)), test)
