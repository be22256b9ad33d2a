"""Runs of an analysis (geometry, channels, ...): one parent for the command, filed beside the
models it reads (or the run `mlflow run` opened), one child per model with metrics by step,
tables and figures as artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mlflow
from matplotlib.figure import Figure
from mlflow import MlflowClient

from vae_core.tracking.records import log_figure, log_json
from vae_core.tracking.runs import KIND_TAG, adoptable_outer_run, flat_params, study_experiment
from vae_core.tracking.store import configure_tracking, git_commit


def experiment_of(run_id: str | None, fallback: str) -> str:
    """The experiment a model's training run lives in (else the one named `fallback`)."""
    if run_id:
        return MlflowClient().get_run(run_id).info.experiment_id
    return study_experiment(fallback)


@contextmanager
def analysis_run(kind: str, experiment_id: str, tags: dict[str, str],
                 params: dict[str, Any]) -> Iterator[str]:
    """The command's run: adopted from `mlflow run` when the user chose its experiment, else new
    beside the models (a wrapper in Default is deleted); FINISHED or FAILED at the end.
    Params are prefixed with the kind (the adopted run already holds the entry point's own)."""
    configure_tracking()
    outer = adoptable_outer_run()
    if outer:
        mlflow.set_experiment(experiment_id=MlflowClient().get_run(outer).info.experiment_id)
    run = mlflow.start_run(run_id=outer, experiment_id=None if outer else experiment_id,
                           run_name=None if outer else kind)
    ok = False
    try:
        mlflow.set_tags({KIND_TAG: "analysis", "analysis": kind, "git_commit": git_commit(), **tags})
        mlflow.log_params({f"{kind}.{k}": v for k, v in flat_params(params).items()})
        yield run.info.run_id
        ok = True
    finally:
        mlflow.end_run("FINISHED" if ok else "FAILED")


def start_child(parent_run_id: str, name: str, tags: dict[str, str]) -> str:
    client = MlflowClient()
    parent = client.get_run(parent_run_id)
    child = client.create_run(parent.info.experiment_id, run_name=name,
                              tags={**tags, "mlflow.parentRunId": parent_run_id})
    return child.info.run_id


def end_child(run_id: str) -> None:
    MlflowClient().set_terminated(run_id)


def log_tables(run_id: str, tables: dict[str, Any], folder: str) -> None:
    for name, table in tables.items():
        log_json(run_id, table, f"{folder}/{name}.json")


def log_figures(run_id: str, figures: dict[str, Figure], folder: str) -> None:
    for name, figure in figures.items():
        log_figure(run_id, figure, f"{folder}/{name}.png")


def log_files(run_id: str, paths: list[str], folder: str) -> None:
    """Files already written (matrices as .npz, JSON) as artifacts of the analysis run."""
    client = MlflowClient()
    for path in paths:
        client.log_artifact(run_id, path, folder)
