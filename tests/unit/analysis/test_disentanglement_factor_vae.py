"""FactorVAE score: its batches, a per-point loop, the dead-dimension case and known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.analysis.disentanglement_helpers import GridFactors, factors_of, monotone_codes
from vae_core.analysis.disentanglement.factor_vae import factor_vae_score
from vae_core.analysis.disentanglement.inputs import fixed_factor_batches
from vae_core.config import ConfigError
from vae_core.data.factors import sample_factor_indices

DATASET = GridFactors((3, 5, 4, 6))
SMALL = {"num_train": 300, "num_eval": 200, "num_variance_estimate": 500}
ORDER = np.array([3, 0, 2, 1])


def perfect(images: np.ndarray) -> np.ndarray:
    return monotone_codes(factors_of(images), ORDER)


def with_dead_dimension(images: np.ndarray) -> np.ndarray:
    codes = perfect(images)
    return np.concatenate([codes[:, :2], np.full((len(codes), 1), 0.7), codes[:, 2:]], axis=1)


def mixed(images: np.ndarray) -> np.ndarray:
    """Each code one factor plus as much of the next and a deterministic jitter, and a weak
    dimension (std < 0.05): a code the majority vote gets partly wrong."""
    v = factors_of(images)
    codes = v + np.roll(v, 1, axis=1) + 0.2 * np.sin(1e3 * v @ np.arange(1.0, 5.0))[:, None]
    return np.concatenate([codes, 0.01 * v[:, :1]], axis=1)


def _loop_score(represent, dataset, seed: int, num_train: int, num_eval: int,
                num_variance_estimate: int, batch_size: int = 64) -> dict[str, float]:
    """disentanglement_lib's loop (one representation call per 64-image batch, normalised
    variances over the active dims), with the argmin mapped to the dimension's own index."""
    rng = np.random.default_rng(seed)
    codes = represent(dataset.render(sample_factor_indices(dataset, num_variance_estimate, rng)))
    global_var = np.var(codes, axis=0, ddof=1)
    active = np.flatnonzero(np.sqrt(global_var) >= 0.05)

    def votes(n: int) -> np.ndarray:
        fixed, rows = fixed_factor_batches(dataset, n, batch_size, rng)
        counts = np.zeros((len(dataset.factor_sizes), len(global_var)), dtype=np.int64)
        for point in range(n):
            local = np.var(represent(dataset.render(rows[point])), axis=0, ddof=1)
            counts[fixed[point], active[np.argmin(local[active] / global_var[active])]] += 1
        return counts

    train = votes(num_train)
    classifier = np.argmax(train, axis=0)
    evaluation = votes(num_eval)
    columns = np.arange(train.shape[1])
    return {"disentanglement.factor_vae_train": train[classifier, columns].sum() / train.sum(),
            "disentanglement.factor_vae_eval": evaluation[classifier, columns].sum() / evaluation.sum(),
            "disentanglement.factor_vae_active_dims": float(len(active))}


def test_each_batch_holds_its_drawn_factor_fixed_and_the_others_free() -> None:
    fixed, rows = fixed_factor_batches(DATASET, 400, 64, np.random.default_rng(0))
    assert rows.shape == (400, 64, 4)
    spread = rows.max(axis=1) - rows.min(axis=1)  # (400, F)
    assert (spread[np.arange(400), fixed] == 0).all()
    free = np.ones_like(spread, dtype=bool)
    free[np.arange(400), fixed] = False
    assert (spread[free] > 0).all()  # 64 draws from >= 3 values are never all equal
    assert set(np.unique(fixed)) == {0, 1, 2, 3}
    assert ((rows >= 0) & (rows < np.array(DATASET.factor_sizes))).all()


@pytest.mark.parametrize("represent", [mixed, perfect])
def test_matches_the_per_batch_loop(represent) -> None:
    ours = factor_vae_score(represent, DATASET, np.random.default_rng(1), **SMALL)
    assert ours == pytest.approx(_loop_score(represent, DATASET, 1, **SMALL), abs=1e-15)


def test_images_per_call_does_not_change_the_result() -> None:
    scores = [factor_vae_score(mixed, DATASET, np.random.default_rng(2), images_per_call=size, **SMALL)
              for size in (1, 64, 1000, 100000)]
    assert all(s == scores[0] for s in scores)


def test_factors_up_to_permutation_and_monotone_maps_score_one() -> None:
    scores = factor_vae_score(perfect, DATASET, np.random.default_rng(3), **SMALL)
    assert scores == {"disentanglement.factor_vae_train": 1.0, "disentanglement.factor_vae_eval": 1.0,
                      "disentanglement.factor_vae_active_dims": 4.0}


def test_a_dead_dimension_scores_exactly_like_the_codes_without_it() -> None:
    without = factor_vae_score(mixed, DATASET, np.random.default_rng(4), **SMALL)

    def mixed_with_dead(images: np.ndarray) -> np.ndarray:
        codes = mixed(images)
        return np.concatenate([codes[:, :1], np.zeros((len(codes), 1)), codes[:, 1:]], axis=1)

    with_dead = factor_vae_score(mixed_with_dead, DATASET, np.random.default_rng(4), **SMALL)
    assert with_dead == without
    assert without["disentanglement.factor_vae_active_dims"] == 4.0  # the weak 5th is pruned too
    assert 0.3 < without["disentanglement.factor_vae_eval"] < 1.0  # not a trivial case
    dead_perfect = factor_vae_score(with_dead_dimension, DATASET, np.random.default_rng(5), **SMALL)
    assert dead_perfect["disentanglement.factor_vae_eval"] == 1.0


def test_noise_scores_near_chance() -> None:
    noise_rng = np.random.default_rng(6)

    def noise(images: np.ndarray) -> np.ndarray:
        return noise_rng.normal(size=(len(images), 6))

    scores = factor_vae_score(noise, DATASET, np.random.default_rng(7), num_train=300, num_eval=2000,
                              num_variance_estimate=500)
    assert abs(scores["disentanglement.factor_vae_eval"] - 1 / 4) < 0.06


def test_all_dimensions_dead_score_zero_and_bad_counts_are_refused() -> None:
    def constant(images: np.ndarray) -> np.ndarray:
        return np.ones((len(images), 3))

    assert factor_vae_score(constant, DATASET, np.random.default_rng(8), **SMALL) == {
        "disentanglement.factor_vae_train": 0.0, "disentanglement.factor_vae_eval": 0.0,
        "disentanglement.factor_vae_active_dims": 0.0}
    with pytest.raises(ConfigError, match="num_eval: must be an integer >= 1, got 0"):
        factor_vae_score(perfect, DATASET, np.random.default_rng(9), num_eval=0)
    with pytest.raises(ConfigError, match="batch_size: must be an integer >= 2"):
        factor_vae_score(perfect, DATASET, np.random.default_rng(9), batch_size=1, **SMALL)
