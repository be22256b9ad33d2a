"""Metric histories read back from MLflow: the one reader every report and analysis uses."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from mlflow import MlflowClient


def metric_history(run_ids: Iterable[str], metrics: Iterable[str]) -> pd.DataFrame:
    """Long table (run_id, metric, step, value) of every logged value, sorted by step."""
    client = MlflowClient()
    metrics = list(metrics)
    rows = [{"run_id": run_id, "metric": name, "step": m.step, "value": m.value}
            for run_id in run_ids for name in metrics
            for m in client.get_metric_history(run_id, name)]
    table = pd.DataFrame(rows, columns=["run_id", "metric", "step", "value"])
    return table.sort_values(["run_id", "metric", "step"]).reset_index(drop=True)


def series(run_id: str, metric: str) -> pd.Series:
    """One metric of one run indexed by step (empty when never logged)."""
    table = metric_history([run_id], [metric])
    return pd.Series(table.value.to_numpy(), index=table.step.to_numpy(), name=metric, dtype=float)


def logged_steps(run_id: str, metric: str) -> set[int]:
    return {m.step for m in MlflowClient().get_metric_history(run_id, metric)}


def final_metrics(run_id: str, metrics: Iterable[str], digits: int = 6) -> dict[str, float | None]:
    """The last logged value of each metric (None when never logged), rounded for metric files."""
    latest = MlflowClient().get_run(run_id).data.metrics
    return {name: round(latest[name], digits) if name in latest else None for name in metrics}


def latest_metrics(run_id: str) -> dict[str, float]:
    """The last logged value of every metric of a run."""
    return dict(MlflowClient().get_run(run_id).data.metrics)
