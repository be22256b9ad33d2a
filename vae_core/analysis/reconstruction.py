"""S3's reconstruction metrics and their statistics across cross-validation folds.

Every metric is a per-sample sum over data dimensions, averaged over samples (nats or squared
pixels per image), the scale the model families' losses use, so AE and VAE numbers compare.
Fold statistics use the sample standard deviation (ddof = 1): the k folds are a sample of the
ways the training split could have been cut, and k >= 2 always (data.folds refuses fewer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PREFIX = "recon_metrics"
LOG_FLOOR = -100.0  # torch's binary_cross_entropy clamps log(p) here: a finite BCE at p = 0 or 1


def _rows(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values.reshape(len(values), -1)


def reconstruction_metrics(x: np.ndarray, x_hat: np.ndarray, nll: np.ndarray | None = None,
                           kl: np.ndarray | None = None) -> dict[str, float]:
    """MSE, L1 and BCE between images x and reconstructions x_hat (means in [0, 1]), each summed
    per sample and averaged; for a VAE also the mean of its per-sample `nll` (the likelihood's
    reconstruction term) and `kl` parts, so the objective's pieces sit beside the fixed metrics."""
    x, x_hat = _rows(x), _rows(x_hat)
    if x.shape != x_hat.shape:
        raise ValueError(f"reconstruction_metrics: x {x.shape} and x_hat {x_hat.shape} differ; "
                         "give one reconstruction per image")
    with np.errstate(divide="ignore"):  # log 0 = -inf, then floored
        log_p = np.maximum(np.log(np.clip(x_hat, 0.0, 1.0)), LOG_FLOOR)
        log_not_p = np.maximum(np.log(np.clip(1.0 - x_hat, 0.0, 1.0)), LOG_FLOOR)
    metrics = {
        f"{PREFIX}.mse": float(((x - x_hat) ** 2).sum(1).mean()),
        f"{PREFIX}.l1": float(np.abs(x - x_hat).sum(1).mean()),
        f"{PREFIX}.bce": float(-(x * log_p + (1.0 - x) * log_not_p).sum(1).mean()),
    }
    for name, part in (("recon", nll), ("kl", kl)):
        if part is not None:
            metrics[f"{PREFIX}.{name}"] = float(np.mean(np.asarray(part, dtype=np.float64)))
    return metrics


def fold_summary(table: pd.DataFrame, fold_column: str = "fold") -> dict[str, float]:
    """Mean and sample std (ddof 1) across folds of every numeric column of a one-row-per-fold
    table: {"folds.<column>.mean": ..., "folds.<column>.std": ...}."""
    if table[fold_column].duplicated().any():
        raise ValueError(f"fold_summary: the table has several rows for one {fold_column!r}; "
                         "give one row per fold")
    if len(table) < 2:
        raise ValueError(f"fold_summary: {len(table)} fold(s); a spread across folds needs >= 2")
    numeric = table.drop(columns=fold_column).select_dtypes("number")
    summary = {}
    for column in numeric.columns:
        values = numeric[column].to_numpy(dtype=np.float64)
        summary[f"folds.{column}.mean"] = float(values.mean())
        summary[f"folds.{column}.std"] = float(values.std(ddof=1))
    return summary


def best_fold(table: pd.DataFrame, loss_column: str = "val_loss", fold_column: str = "fold") -> int:
    """The fold with the lowest validation loss; ties go to the lowest fold number, and a fold
    whose loss is NaN (diverged) is never best."""
    finite = table[np.isfinite(table[loss_column].to_numpy(dtype=np.float64))]
    if finite.empty:
        raise ValueError(f"best_fold: no fold has a finite {loss_column!r}")
    lowest = finite[finite[loss_column] == finite[loss_column].min()]
    return int(lowest[fold_column].min())
