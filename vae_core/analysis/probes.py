"""Probe classifiers (S2): how well simple classifiers read the label off a latent representation.

Features are the posterior means (mu_z, or flattened mu_y), used as they are: standardising
would blow the near-constant inactive dimensions of a VAE up to unit-variance noise. Each seed
draws its own stratified 80/20 split and logistic regression is refitted there (mean and std
over seeds: the spread a different test split gives); the SVMs (RBF and linear) and kNN (k = 5)
use the first seed's split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

TEST_FRACTION = 0.2


def _split(features: np.ndarray, labels: np.ndarray, seed: int) -> list[np.ndarray]:
    return train_test_split(features, labels, test_size=TEST_FRACTION, random_state=seed, stratify=labels)


def probe_accuracies(features: np.ndarray, labels: np.ndarray, name: str = "z",
                     seeds: Sequence[int] = (0, 1, 2, 3, 4)) -> dict[str, float]:
    """Test accuracies {probe.<name>.logreg_mean, .logreg_std, .svm_rbf, .svm_linear, .knn}."""
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    labels = np.asarray(labels)
    if len(features) != len(labels):
        raise ValueError(f"probe_accuracies: {len(features)} feature rows for {len(labels)} labels")
    logistic = []
    for seed in seeds:
        x_train, x_test, y_train, y_test = _split(features, labels, seed)
        model = LogisticRegression(max_iter=2000, random_state=seed).fit(x_train, y_train)
        logistic.append(model.score(x_test, y_test))
    x_train, x_test, y_train, y_test = _split(features, labels, seeds[0])
    others = {"svm_rbf": SVC(kernel="rbf"), "svm_linear": SVC(kernel="linear"),
              "knn": KNeighborsClassifier(n_neighbors=5)}
    scores = {key: model.fit(x_train, y_train).score(x_test, y_test) for key, model in others.items()}
    return {f"probe.{name}.logreg_mean": float(np.mean(logistic)),
            f"probe.{name}.logreg_std": float(np.std(logistic)),
            **{f"probe.{name}.{key}": float(value) for key, value in scores.items()}}
