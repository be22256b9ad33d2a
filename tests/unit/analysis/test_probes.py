"""Probe classifiers: perfect on separable clusters, at chance on noise, logistic spread over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from vae_core.analysis.probes import probe_accuracies

KEYS = ("logreg_mean", "logreg_std", "svm_rbf", "svm_linear", "knn")


def test_separable_clusters_give_accuracy_one():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 40)
    centres = rng.normal(size=(10, 6)) * 20
    features = centres[labels] + rng.normal(size=(400, 6)) * 0.1
    got = probe_accuracies(features.reshape(400, 2, 3), labels, name="y")  # flattened like mu_y
    assert set(got) == {f"probe.y.{k}" for k in KEYS}
    assert all(got[f"probe.y.{k}"] == 1.0 for k in KEYS if k != "logreg_std")
    assert got["probe.y.logreg_std"] == 0.0


def test_noise_features_stay_near_chance():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 600)
    got = probe_accuracies(rng.normal(size=(600, 8)), labels)
    for key in ("logreg_mean", "svm_rbf", "svm_linear", "knn"):
        assert abs(got[f"probe.z.{key}"] - 0.25) < 0.12  # 120 test points: 3 standard errors ~ 0.12


def test_logistic_mean_and_std_over_seeded_splits():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 300)
    features = labels[:, None] * 0.8 + rng.normal(size=(300, 2))
    got = probe_accuracies(features, labels, seeds=(3, 4, 5))
    scores = []
    for seed in (3, 4, 5):
        a, b, ya, yb = train_test_split(features, labels, test_size=0.2, random_state=seed, stratify=labels)
        scores.append(LogisticRegression(max_iter=2000).fit(a, ya).score(b, yb))
    assert got["probe.z.logreg_mean"] == pytest.approx(np.mean(scores))
    assert got["probe.z.logreg_std"] == pytest.approx(np.std(scores)) and got["probe.z.logreg_std"] > 0


def test_rows_must_match_labels():
    with pytest.raises(ValueError, match="labels"):
        probe_accuracies(np.zeros((10, 2)), np.zeros(9))
