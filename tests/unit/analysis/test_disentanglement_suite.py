"""all_metrics and metrics_from_codes: every metric once, the same numbers as the single calls."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.analysis.disentanglement_helpers import GridFactors, factors_of, monotone_codes
from vae_core.analysis.disentanglement import (
    all_metrics,
    beta_vae_score,
    dci,
    factor_vae_score,
    metrics_from_codes,
    mig,
    modularity_explicitness,
    sample_codes,
    sap,
)
from vae_core.config import ConfigError

DATASET = GridFactors((3, 4, 5))
COUNTS = {"num_train": 400, "num_test": 200, "num_variance_estimate": 300}


def perfect(images: np.ndarray) -> np.ndarray:
    return monotone_codes(factors_of(images), np.array([2, 0, 1]))


def test_all_metrics_is_the_single_metrics_on_one_generator_in_order() -> None:
    scores = all_metrics(perfect, DATASET, np.random.default_rng(0), num_train=150, num_test=100,
                         num_variance_estimate=120)
    rng = np.random.default_rng(0)
    train = sample_codes(perfect, DATASET, 150, rng)
    test = sample_codes(perfect, DATASET, 100, rng)
    expected = {**mig(*train), **dci(*train, *test), **sap(*train, *test),
                **modularity_explicitness(*train, *test),
                **factor_vae_score(perfect, DATASET, rng, num_train=150, num_eval=100,
                                   num_variance_estimate=120),
                **beta_vae_score(perfect, DATASET, rng, num_train=150, num_eval=100)}
    assert scores == expected
    assert all(key.startswith("disentanglement.") for key in scores)


def test_metrics_from_codes_is_the_code_only_metrics() -> None:
    rng = np.random.default_rng(5)
    train = rng.normal(size=(120, 3)), rng.integers(0, 2, (120, 2))
    test = rng.normal(size=(60, 3)), rng.integers(0, 2, (60, 2))
    assert metrics_from_codes(*train, *test) == {
        **mig(*train), **dci(*train, *test), **sap(*train, *test),
        **modularity_explicitness(*train, *test)}


def test_perfect_codes_score_at_the_top_of_every_metric() -> None:
    scores = all_metrics(perfect, DATASET, np.random.default_rng(1), **COUNTS)
    for key in ("mig", "dci_disentanglement", "dci_completeness", "modularity"):
        assert scores[f"disentanglement.{key}"] > 0.95, key
    for key in ("dci_informativeness_test", "factor_vae_eval", "beta_vae_eval"):
        assert scores[f"disentanglement.{key}"] == 1.0, key
    assert scores["disentanglement.factor_vae_active_dims"] == 3.0


def test_sampled_codes_are_the_representation_of_the_sampled_factors() -> None:
    codes, factors = sample_codes(perfect, DATASET, 500, np.random.default_rng(2), images_per_call=7)
    np.testing.assert_array_equal(codes, perfect(DATASET.render(factors)))
    assert factors.shape == (500, 3)
    assert [np.unique(c).size for c in factors.T] == list(DATASET.factor_sizes)


def test_bad_counts_and_representations_fail_before_sampling() -> None:
    with pytest.raises(ConfigError, match="num_test: must be an integer >= 2, got 1"):
        all_metrics(perfect, DATASET, np.random.default_rng(3), num_test=1)
    with pytest.raises(ConfigError, match=r"represent: 3 images gave codes of shape \(3,\)"):
        sample_codes(lambda images: np.zeros(len(images)), DATASET, 3, np.random.default_rng(4))
