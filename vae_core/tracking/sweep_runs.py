"""The MLflow side of a sweep: the study's parent run (created once, found again on restart,
terminated by status), trial tags on child runs, and the trial values read from a run."""

from __future__ import annotations

import json
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Param

from vae_core.tracking.runs import KIND_TAG, STUDY_TAG, study_experiment
from vae_core.tracking.store import git_commit


def active_run_id() -> str | None:
    run = mlflow.active_run()
    return run.info.run_id if run is not None else None


def set_tags(run_id: str, tags: dict[str, str]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_tag(run_id, key, value)


def final_values(run_id: str, metrics: list[str]) -> list[float]:
    """The last value of each objective metric; an error naming what the run did log."""
    logged = MlflowClient().get_run(run_id).data.metrics
    missing = [m for m in metrics if m not in logged]
    if missing:
        raise RuntimeError(f"run {run_id} never logged {missing}; it logged {sorted(logged)}")
    return [logged[m] for m in metrics]


def is_finished(run_id: str) -> bool:
    return MlflowClient().get_run(run_id).info.status == "FINISHED"


def reopen_parent(run_id: str) -> str:
    """Mark a sweep's parent RUNNING again; returns its experiment id."""
    client = MlflowClient()
    client.update_run(run_id, status="RUNNING")
    return client.get_run(run_id).info.experiment_id


def create_parent(study: str, tags: dict[str, str], params: dict[str, Any], source: dict[str, Any]
                  ) -> tuple[str, str]:
    """A new parent run for a sweep in the study's experiment: (run id, experiment id)."""
    client = MlflowClient()
    experiment_id = study_experiment(study)
    run = client.create_run(experiment_id, run_name=f"sweep-{study}", tags={
        **tags, KIND_TAG: "sweep_parent", STUDY_TAG: study, "git_commit": git_commit()})
    client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    client.log_dict(run.info.run_id, json.loads(json.dumps(source, default=str)), "study/sweep.yaml")
    return run.info.run_id, experiment_id


def terminate(run_id: str, status: str) -> None:
    MlflowClient().set_terminated(run_id, status)


def log_file(run_id: str, path: str, folder: str) -> None:
    MlflowClient().log_artifact(run_id, path, folder)
