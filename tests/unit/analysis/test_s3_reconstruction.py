"""Reconstruction metrics against torch/scikit-learn; fold statistics against numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import mean_absolute_error, mean_squared_error

from vae_core.analysis.reconstruction import best_fold, fold_summary, reconstruction_metrics


def _images(n: int = 50, shape=(1, 28, 20), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, *shape)), rng.random((n, *shape))


def test_metrics_match_torch_and_sklearn_per_sample_sums():
    x, x_hat = _images()
    n, d = len(x), x[0].size
    metrics = reconstruction_metrics(x, x_hat)
    tx, tx_hat = torch.from_numpy(x), torch.from_numpy(x_hat)
    assert metrics["recon_metrics.mse"] == pytest.approx(float(F.mse_loss(tx_hat, tx, reduction="sum")) / n)
    assert metrics["recon_metrics.l1"] == pytest.approx(float(F.l1_loss(tx_hat, tx, reduction="sum")) / n)
    assert metrics["recon_metrics.bce"] == pytest.approx(
        float(F.binary_cross_entropy(tx_hat, tx, reduction="sum")) / n)
    flat, flat_hat = x.reshape(n, -1), x_hat.reshape(n, -1)
    assert metrics["recon_metrics.mse"] == pytest.approx(mean_squared_error(flat, flat_hat) * d)
    assert metrics["recon_metrics.l1"] == pytest.approx(mean_absolute_error(flat, flat_hat) * d)
    assert set(metrics) == {"recon_metrics.mse", "recon_metrics.l1", "recon_metrics.bce"}


def test_bce_is_finite_and_torchs_at_saturated_means():
    # Binary images and reconstructions of exactly 0 and 1, right and wrong: log 0 is clamped.
    x = np.array([[0.0, 1.0, 0.0, 1.0, 0.3], [1.0, 1.0, 0.0, 0.0, 0.5]])
    x_hat = np.array([[0.0, 1.0, 1.0, 0.0, 1.0], [1e-12, 1.0, 0.0, 1.0 - 1e-12, 0.0]])
    expected = float(F.binary_cross_entropy(torch.from_numpy(x_hat), torch.from_numpy(x),
                                            reduction="sum")) / 2
    value = reconstruction_metrics(x, x_hat)["recon_metrics.bce"]
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-9)


def test_vae_parts_are_the_means_of_the_given_per_sample_terms():
    x, x_hat = _images(n=4, shape=(1, 8, 8))
    nll, kl = np.array([10.0, 20.0, 30.0, 40.0]), np.array([1.0, 2.0, 3.0, 6.0])
    metrics = reconstruction_metrics(x, x_hat, nll=nll, kl=kl)
    assert metrics["recon_metrics.recon"] == 25.0 and metrics["recon_metrics.kl"] == 3.0


def test_mismatched_shapes_are_refused():
    x, x_hat = _images(n=4)
    with pytest.raises(ValueError, match="differ"):
        reconstruction_metrics(x, x_hat[:3])


def test_fold_summary_is_numpys_mean_and_sample_std():
    rng = np.random.default_rng(1)
    values = 1e4 + rng.normal(size=(10, 2))  # large offset, small spread
    table = pd.DataFrame({"fold": range(10), "test_mse": values[:, 0], "val_loss": values[:, 1],
                          "model": ["vae"] * 10})
    summary = fold_summary(table)
    assert set(summary) == {"folds.test_mse.mean", "folds.test_mse.std",
                            "folds.val_loss.mean", "folds.val_loss.std"}
    assert summary["folds.test_mse.mean"] == pytest.approx(np.mean(values[:, 0]), rel=1e-14)
    assert summary["folds.test_mse.std"] == pytest.approx(np.std(values[:, 0], ddof=1), rel=1e-9)
    assert summary["folds.val_loss.std"] == pytest.approx(np.std(values[:, 1], ddof=1), rel=1e-9)


def test_fold_summary_refuses_repeated_or_single_folds():
    with pytest.raises(ValueError, match="one row per fold"):
        fold_summary(pd.DataFrame({"fold": [0, 0], "loss": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="needs >= 2"):
        fold_summary(pd.DataFrame({"fold": [0], "loss": [1.0]}))


def test_best_fold_lowest_loss_ties_to_lowest_fold_and_skips_nan():
    table = pd.DataFrame({"fold": [3, 1, 0, 2], "val_loss": [5.0, 2.0, np.nan, 2.0]})
    assert best_fold(table) == 1
    assert best_fold(pd.DataFrame({"fold": [0, 1, 2], "val_loss": [np.nan, 9.0, 3.0]})) == 2
    with pytest.raises(ValueError, match="no fold has a finite"):
        best_fold(pd.DataFrame({"fold": [0, 1], "val_loss": [np.nan, np.inf]}))
