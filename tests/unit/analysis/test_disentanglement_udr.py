"""UDR against disentanglement_lib's Spearman loop and known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from tests.unit.analysis.disentanglement_helpers import GridFactors, monotone_codes
from vae_core.analysis.disentanglement.udr import relative_strength, udr, udr_pairwise
from vae_core.config import ConfigError
from vae_core.data.factors import full_grid


def _reference_udr(codes: list[np.ndarray], kl: list[np.ndarray], threshold: float = 0.01) -> list[float]:
    """disentanglement_lib's compute_udr_sklearn with correlation_matrix='spearman'."""
    reps = [(c - c.mean(0)) / c.std(0) * (k > 0.01) for c, k in zip(codes, kl)]
    masks = [k > threshold for k in kl]
    m = len(reps)
    scores = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            corr = np.array([[scipy.stats.spearmanr(reps[i][:, a], reps[j][:, b])[0]
                              for b in range(reps[j].shape[1])] for a in range(reps[i].shape[1])])
            corr = np.abs(corr)[masks[i]][:, masks[j]]
            x = np.nanmean(np.nan_to_num(np.max(corr, axis=0) ** 2 / np.sum(corr, axis=0)))
            y = np.nanmean(np.nan_to_num(np.max(corr, axis=1) ** 2 / np.sum(corr, axis=1)))
            scores[i, j] = (x + y) / 2
    return [float(np.median(np.delete(scores[:, i], i))) for i in range(m)]


def _grid_codes() -> np.ndarray:
    """Perfect codes on a full grid: distinct factors are exactly uncorrelated there."""
    dataset = GridFactors((4, 3, 5, 6))
    return monotone_codes(dataset.factor_values(full_grid(dataset)))


def test_identical_models_up_to_permutation_sign_and_monotone_maps_score_one() -> None:
    codes = _grid_codes()
    models = [codes, -codes[:, [2, 0, 3, 1]], np.exp(codes[:, [1, 3, 2, 0]])]
    kl = [np.ones(4)] * 3
    assert [s["disentanglement.udr"] for s in udr(models, kl)] == pytest.approx([1.0] * 3, abs=1e-12)


def test_unrelated_random_models_score_low() -> None:
    rng = np.random.default_rng(0)
    models = [rng.normal(size=(3000, 6)) for _ in range(4)]
    scores = [s["disentanglement.udr"] for s in udr(models, [np.ones(6)] * 4)]
    assert max(scores) < 0.1


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")  # the reference's zeroed dims
@pytest.mark.parametrize("seed", [1, 2])
def test_matches_the_reference_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(400, 3))
    models, kl = [], []
    for _ in range(4):
        mixing = np.eye(3) + 0.5 * rng.normal(size=(3, 3))
        codes = np.concatenate([np.tanh(base @ mixing), rng.normal(size=(400, 2))], axis=1)
        codes[:, 1] = np.round(codes[:, 1], 1)  # ties, which Spearman averages
        models.append(codes[:, rng.permutation(5)])
        kl.append(rng.choice([0.001, 0.5, 2.0], size=5))  # some dimensions inactive
    ours = [s["disentanglement.udr"] for s in udr(models, kl)]
    assert ours == pytest.approx(_reference_udr(models, kl), abs=1e-12)


def test_inactive_dimensions_are_ignored() -> None:
    codes = _grid_codes()
    rng = np.random.default_rng(3)
    noisy = np.concatenate([codes, rng.normal(size=(len(codes), 3))], axis=1)
    kl = np.array([1.0, 1.0, 1.0, 1.0, 0.005, 0.0, 0.01])  # 0.01 itself is not above the threshold
    assert udr_pairwise([noisy, noisy[:, ::-1]], [kl, kl[::-1]]) == pytest.approx(
        np.array([[0.0, 1.0], [1.0, 0.0]]), abs=1e-12)
    assert udr_pairwise([noisy, noisy], [np.ones(7)] * 2)[0, 1] < 0.99  # kept, they cost


def test_relative_strength_by_hand() -> None:
    # one-to-one: 1; a dimension correlated with nothing adds 0 to its side's mean
    assert relative_strength(np.eye(3)) == pytest.approx(1.0)
    assert relative_strength(np.array([[1.0, 0.0], [0.0, 0.0]])) == pytest.approx(0.5)
    # R = [[0.8, 0.2]]: columns 0.64/0.8 and 0.04/0.2, row 0.64/1.0
    assert relative_strength(np.array([[0.8, 0.2]])) == pytest.approx(((0.8 + 0.2) / 2 + 0.64) / 2)
    assert relative_strength(np.zeros((0, 3))) == 0.0


def test_bad_ensembles_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 2 models"):
        udr([np.zeros((5, 2))], [np.ones(2)])
    with pytest.raises(ConfigError, match=r"udr model 1: codes \(5, 3\) and kl \(2,\)"):
        udr([np.ones((5, 2)), np.ones((5, 3))], [np.ones(2), np.ones(2)])
