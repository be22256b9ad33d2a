"""Writing to a run by id: metrics at a step, tables, JSON documents and figures."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import Metric

from vae_core.tracking.callback import log_metrics


def log_at_step(run_id: str, metrics: dict[str, float], step: int) -> None:
    now = int(time.time() * 1000)
    log_metrics(MlflowClient(), run_id, [Metric(k, float(v), now, step) for k, v in metrics.items()])


def log_table(run_id: str, table: pd.DataFrame, path: str) -> None:
    """A table the UI can show (mlflow's table artifact, a .json path)."""
    MlflowClient().log_table(run_id, data=table, artifact_file=path)


def log_json(run_id: str, values: dict[str, Any], path: str) -> None:
    MlflowClient().log_dict(run_id, values, path)


def log_figure(run_id: str, figure: Figure, path: str) -> None:
    MlflowClient().log_figure(run_id, figure, path)
