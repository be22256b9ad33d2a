"""The classifier-based Inception score, diversity and sharpness against a scipy loop and closed forms;
the feature Fréchet distance and accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from vae_core.analysis.classifier_scores import (
    classifier_accuracy,
    classifier_frechet_distance,
    inception_score,
)
from vae_core.analysis.sample_quality import frechet_distance


def _scipy_loop(probabilities: np.ndarray, splits: int) -> tuple[float, float, float, float]:
    """The reference implementation's loop: per split, per sample, scipy.stats.entropy."""
    scores, diversity, sharpness = [], [], []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(0)
        scores.append(np.exp(np.mean([entropy(p, marginal) for p in part])))
        diversity.append(np.exp(entropy(marginal)))
        sharpness.append(np.exp(-np.mean([entropy(p) for p in part])))
    return np.mean(scores), np.std(scores), np.mean(diversity), np.mean(sharpness)


@pytest.mark.parametrize("n", [500, 503])  # 503: splits of unequal size
def test_matches_a_scipy_loop(n):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(n, 10)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probabilities[:5] = np.eye(10)[:5]  # exact zeros: 0 log 0 = 0
    got = inception_score(probabilities)
    expected = _scipy_loop(probabilities, 5)
    for key, value in zip(("is.mean", "is.std", "is.diversity", "is.sharpness"), expected):
        assert got[key] == pytest.approx(value, rel=1e-10)


def test_closed_forms():
    confident_balanced = np.tile(np.eye(4), (50, 1))  # every split: each class equally often, one-hot
    got = inception_score(confident_balanced)
    assert got["is.mean"] == pytest.approx(4) and got["is.diversity"] == pytest.approx(4)
    assert got["is.sharpness"] == pytest.approx(1) and got["is.std"] == pytest.approx(0)
    identical = np.tile([0.1, 0.6, 0.3], (40, 1))
    same = inception_score(identical)
    assert same["is.mean"] == pytest.approx(1)
    assert same["is.sharpness"] == pytest.approx(1 / same["is.diversity"])


def test_score_is_diversity_times_sharpness_in_one_split():
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.ones(6) * 0.3, size=200)
    got = inception_score(probabilities, splits=1)
    assert got["is.mean"] == pytest.approx(got["is.diversity"] * got["is.sharpness"], rel=1e-12)


def test_frechet_distance_and_accuracy():
    rng = np.random.default_rng(2)
    real, generated = rng.normal(size=(300, 5)), rng.normal(size=(200, 5)) + 1.0
    got = classifier_frechet_distance(real, generated)["fd_classifier"]
    assert got == pytest.approx(frechet_distance(real.mean(0), np.cov(real, rowvar=False),
                                                 generated.mean(0), np.cov(generated, rowvar=False)))
    assert classifier_frechet_distance(real, real)["fd_classifier"] == pytest.approx(0, abs=1e-8)
    probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    assert classifier_accuracy(probabilities, np.array([0, 1, 1]), "recon") == {"clf.recon_acc": 2 / 3}
    with pytest.raises(ValueError, match="N >= splits"):
        inception_score(probabilities)
