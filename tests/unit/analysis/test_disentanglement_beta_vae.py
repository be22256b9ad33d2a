"""BetaVAE score: its paired batches, a per-point loop and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from tests.unit.analysis.disentanglement_helpers import GridFactors, factors_of, monotone_codes
from vae_core.analysis.disentanglement.beta_vae import beta_vae_score, paired_batches
from vae_core.config import ConfigError

DATASET = GridFactors((3, 5, 4, 6))
SMALL = {"num_train": 300, "num_eval": 200}


def perfect(images: np.ndarray) -> np.ndarray:
    return monotone_codes(factors_of(images), np.array([1, 3, 0, 2]))


def rotated(images: np.ndarray) -> np.ndarray:
    """All four factors mixed by one orthogonal matrix: no code singles a factor out."""
    q = np.linalg.qr(np.random.default_rng(0).normal(size=(4, 4)))[0]
    return factors_of(images) @ q


def _loop_score(represent, dataset, seed: int, num_train: int, num_eval: int,
                batch_size: int = 64) -> dict[str, float]:
    """disentanglement_lib's loop: two representation calls per point."""
    rng = np.random.default_rng(seed)

    def points(n: int) -> tuple[np.ndarray, np.ndarray]:
        fixed, rows = paired_batches(dataset, n, batch_size, rng)
        features = np.stack([
            np.mean(np.abs(represent(dataset.render(rows[i, :batch_size]))
                           - represent(dataset.render(rows[i, batch_size:]))), axis=0)
            for i in range(n)])
        return features, fixed

    train_x, train_y = points(num_train)
    model = LogisticRegression().fit(train_x, train_y)
    eval_x, eval_y = points(num_eval)
    return {"disentanglement.beta_vae_train": np.mean(model.predict(train_x) == train_y),
            "disentanglement.beta_vae_eval": np.mean(model.predict(eval_x) == eval_y)}


def test_pairs_share_the_drawn_factor_and_nothing_else_by_construction() -> None:
    fixed, rows = paired_batches(DATASET, 300, 64, np.random.default_rng(0))
    assert rows.shape == (300, 128, 4)
    equal = rows[:, :64] == rows[:, 64:]  # (300, 64, F)
    assert equal[np.arange(300), :, fixed].all()
    share = equal.mean(axis=1)  # other factors agree only by chance, about 1 / size
    share[np.arange(300), fixed] = np.nan
    assert np.nanmean(share, axis=0) == pytest.approx(1 / np.array(DATASET.factor_sizes), abs=0.02)


@pytest.mark.parametrize("represent", [rotated, perfect])
def test_matches_the_per_point_loop(represent) -> None:
    ours = beta_vae_score(represent, DATASET, np.random.default_rng(1), **SMALL)
    assert ours == pytest.approx(_loop_score(represent, DATASET, 1, **SMALL), abs=1e-15)


def test_factors_up_to_permutation_and_monotone_maps_score_one() -> None:
    assert beta_vae_score(perfect, DATASET, np.random.default_rng(2), **SMALL) == {
        "disentanglement.beta_vae_train": 1.0, "disentanglement.beta_vae_eval": 1.0}


def test_noise_scores_near_chance() -> None:
    noise_rng = np.random.default_rng(3)

    def noise(images: np.ndarray) -> np.ndarray:
        return noise_rng.normal(size=(len(images), 6))

    scores = beta_vae_score(noise, DATASET, np.random.default_rng(4), num_train=300, num_eval=2000)
    assert abs(scores["disentanglement.beta_vae_eval"] - 1 / 4) < 0.06


def test_images_per_call_does_not_change_the_result() -> None:
    scores = [beta_vae_score(rotated, DATASET, np.random.default_rng(5), images_per_call=size, **SMALL)
              for size in (1, 100, 100000)]
    assert all(s == scores[0] for s in scores)


def test_a_single_factor_data_set_is_refused() -> None:
    with pytest.raises(ConfigError, match="beta_vae_score num_train: all 50 training points fixed"):
        beta_vae_score(factors_of, GridFactors((5,)), np.random.default_rng(6), num_train=50, num_eval=5)
