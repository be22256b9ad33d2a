"""Every MLflow run the platform opens goes through here: open a new one, adopt the run
`mlflow run` opened, resume an unfinished one by its key, find a stage's runs by tags, end.

A run's key is a hash of its typed configuration: the same command started again finds its
unfinished run and continues it; a later stage finds the runs of the stage before it by the
study, stage and key tags and reads their configuration back typed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Run
from pydantic import BaseModel

from vae_core.config import ConfigError, typed
from vae_core.tracking.store import configure_tracking, git_commit

RUN_KEY_TAG = "vae.run_key"
KIND_TAG = "vae.kind"
STUDY_TAG = "study"
STAGE_TAG = "vae.stage"
CONFIG_KEY_TAG = "vae.config_key"  # a hash of the declaration alone (the run key adds the data)
CONFIG_FILE = "config.json"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}  # the UI's classic view
Config = TypeVar("Config", bound=BaseModel)


def run_key(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:20]


DEFAULT_EXPERIMENT_ID = "0"  # where `mlflow run` files its run unless told --experiment-name
_taken: dict[str, str] = {}  # the outer run once taken out of the environment


def take_outer_run_id() -> str | None:
    """The run `mlflow run` opened for this entry point (it passes MLFLOW_RUN_ID), taken out of the
    environment: left there, every later `mlflow.start_run()` would reopen it instead of a new run."""
    run_id = os.environ.pop("MLFLOW_RUN_ID", None)
    if run_id:
        _taken["outer"] = run_id
    return run_id


def discard_outer_run(run_id: str | None = None, status: str = "FINISHED") -> bool:
    """Delete the run `mlflow run` opened, unless it holds work (metrics or children).

    Used for a refused command and for commands that file their work in a run of their own.
    A run `mlflow run` still has to close is closed here (when this process holds it) and
    deleted by a detached reaper once `mlflow run` has set its status (tracking.wrapper_reaper
    says why). Returns whether the run is being deleted.
    """
    from vae_core.tracking import wrapper_reaper

    run_id = run_id or os.environ.pop("MLFLOW_RUN_ID", None) or _taken.pop("outer", None)
    if not run_id:
        return False
    configure_tracking()
    run = MlflowClient().get_run(run_id)
    if run.info.lifecycle_stage == "deleted" or run.data.metrics or child_runs(run_id):
        return False
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run(status)
    wrapper_reaper.spawn(run_id)
    return True


def adoptable_outer_run() -> str | None:
    """The run `mlflow run` opened, when the user chose its experiment (`--experiment-name`);
    one filed in Default is deleted instead, so the command files its own run where the study's
    runs are (the rule in docs/architecture.md)."""
    outer = take_outer_run_id()
    if not outer:
        return None
    experiment_id = experiment_id_of(outer)
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        discard_outer_run(outer)
        return None
    mark_experiment_kind(experiment_id)
    return outer


def mark_experiment_kind(experiment_id: str) -> None:
    """Open the experiment in the UI's model-training view (not the GenAI traces page)."""
    client = MlflowClient()
    tags = client.get_experiment(experiment_id).tags
    for key, value in EXPERIMENT_KIND.items():
        if tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


def study_experiment(name: str) -> str:
    """The experiment named after a study (created once, set to the UI's model-training view)."""
    configure_tracking()
    experiment = mlflow.set_experiment(name)
    mark_experiment_kind(experiment.experiment_id)
    return experiment.experiment_id


def find_runs(experiment_id: str, tags: dict[str, str], finished_only: bool = False,
              max_results: int = 100) -> list[Run]:
    """Runs carrying every tag in `tags`, newest first."""
    condition = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    if finished_only:
        condition += " and attributes.status = 'FINISHED'"
    return mlflow.search_runs([experiment_id], filter_string=condition, output_format="list",
                              order_by=["attributes.start_time DESC"], max_results=max_results)


def find_unfinished(experiment_id: str, key: str, exclude: str = "") -> Run | None:
    """The newest unfinished run with this key (a killed run stays RUNNING)."""
    return next((r for r in find_runs(experiment_id, {RUN_KEY_TAG: key})
                 if r.info.status != "FINISHED" and r.info.run_id != exclude), None)


def flat_params(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as dotted MLflow params (`trainer.lr`), values as text."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(flat_params(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)[:6000]
    return flat


def log_config(run_id: str, config: BaseModel) -> None:
    """The typed config as params (searchable) and as config.json (read back typed)."""
    client = MlflowClient()
    values = config.model_dump(mode="json")
    readable = config.flat() if hasattr(config, "flat") else values  # the keys the user wrote
    logged = client.get_run(run_id).data.params  # `mlflow run` logs its own -P values
    params = [mlflow.entities.Param(k, v) for k, v in flat_params(readable).items() if k not in logged]
    for start in range(0, len(params), 100):
        client.log_batch(run_id, params=params[start:start + 100], synchronous=True)
    client.log_dict(run_id, values, CONFIG_FILE)


def read_config(run_id: str, model: type[Config]) -> Config:
    """The config a run logged, typed again (the stage after it needs no JSON hand-over)."""
    values = mlflow.artifacts.load_dict(f"runs:/{run_id}/{CONFIG_FILE}")
    return typed(model, values, f"run {run_id}")


def logged_config(run_id: str | None, model: type[Config]) -> Config | None:
    """read_config, or None for a run that logged no configuration (a model made elsewhere)."""
    if not run_id or CONFIG_FILE not in {a.path for a in MlflowClient().list_artifacts(run_id)}:
        return None
    return read_config(run_id, model)


def open_run(experiment_id: str, key: str, tags: dict[str, str], run_name: str,
             parent_run_id: str | None = None, system_metrics: bool = False) -> tuple[str, bool]:
    """Make the run with this key active: the unfinished one again, or a new one.

    Returns (run_id, resumed). A new run gets the tags (with the key and the git commit).
    `system_metrics`: MLflow samples CPU, memory (and GPU with pynvml) into system/ metrics.
    """
    existing = find_unfinished(experiment_id, key)
    nested = parent_run_id is not None
    if existing is not None:
        return mlflow.start_run(run_id=existing.info.run_id, nested=nested,
                                log_system_metrics=system_metrics).info.run_id, True
    tags = {**tags, RUN_KEY_TAG: key, "git_commit": git_commit()}
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = mlflow.start_run(experiment_id=experiment_id, nested=nested, run_name=run_name, tags=tags,
                           log_system_metrics=system_metrics)
    return run.info.run_id, False


def open_parent(study: str, key: str, tags: dict[str, str], run_name: str) -> tuple[str, str]:
    """A command's own run: its unfinished run with the same key (a killed command started again:
    the new `mlflow run` wrapper is deleted, so one parent holds every child), else the run
    `mlflow run` opened in an experiment the user chose (adopted), else a new one in the study's
    experiment. Returns (run_id, experiment_id)."""
    configure_tracking()
    outer = adoptable_outer_run()
    experiment_id = experiment_id_of(outer) if outer else study_experiment(study)
    if outer and find_unfinished(experiment_id, key, exclude=outer) is None:
        mlflow.set_experiment(experiment_id=experiment_id)
        mlflow.start_run(run_id=outer)
        mlflow.set_tags({**tags, RUN_KEY_TAG: key, "git_commit": git_commit()})
        return outer, experiment_id
    if outer:
        discard_outer_run(outer)
    run_id, _ = open_run(experiment_id, key, tags, run_name)
    return run_id, experiment_id


def end_run(ok: bool) -> None:
    mlflow.end_run("FINISHED" if ok else "FAILED")


def end_run_as(status: str) -> None:
    """End the active run FINISHED, FAILED, or SCHEDULED (its work was sent to a cluster and goes
    on there; not FINISHED, so the same command started again resumes it by its key)."""
    mlflow.end_run(status)


@contextmanager
def stage_run(study: str, stage: str, run_name: str, config: BaseModel | None = None,
              tags: dict[str, str] | None = None) -> Iterator[str]:
    """A run for one stage of a study: FINISHED when the block ends, FAILED if it raised."""
    declared = config.model_dump(mode="json") if config else None
    key = run_key({"study": study, "stage": stage, "config": declared, "name": run_name})
    run_id, _ = open_parent(study, key, {STUDY_TAG: study, STAGE_TAG: stage, KIND_TAG: stage,
                                         CONFIG_KEY_TAG: run_key(declared or {}), **(tags or {})},
                            run_name)
    if config is not None:
        log_config(run_id, config)
    ok = False
    try:
        yield run_id
        ok = True
    finally:
        end_run(ok)


def latest_stage_run(study: str, stage: str, config_key: str | None = None) -> Run:
    """The newest FINISHED run of a study's stage (of this declaration, when a key is given)."""
    configure_tracking()
    experiment = mlflow.get_experiment_by_name(study)
    tags = {STUDY_TAG: study, STAGE_TAG: stage, **({CONFIG_KEY_TAG: config_key} if config_key else {})}
    runs = find_runs(experiment.experiment_id, tags, finished_only=True, max_results=1) if experiment else []
    if not runs:
        raise ConfigError(f"stage: study {study!r} has no finished {stage!r} run"
                          f"{' with these parameters' if config_key else ''}; run that stage first "
                          f"(dvc repro, or `python -m vae_core.cli stage {study} {stage}`)")
    return runs[0]


def child_runs(parent_run_id: str) -> list[Run]:
    """A parent's children, oldest first."""
    parent = mlflow.get_run(parent_run_id)
    runs = find_runs(parent.info.experiment_id, {"mlflow.parentRunId": parent_run_id}, max_results=1000)
    return sorted(runs, key=lambda r: r.info.start_time)


def log_params(values: dict[str, Any]) -> None:
    """Params on the active run, leaving alone any it already holds (MLflow refuses changes)."""
    run = mlflow.active_run()
    logged = MlflowClient().get_run(run.info.run_id).data.params
    mlflow.log_params({k: v for k, v in flat_params(values).items() if k not in logged})


def experiment_id_of(run_id: str) -> str:
    return MlflowClient().get_run(run_id).info.experiment_id


def run_params(run_id: str) -> dict[str, str]:
    return MlflowClient().get_run(run_id).data.params


def set_tag(run_id: str, key: str, value: str) -> None:
    MlflowClient().set_tag(run_id, key, value)


def tags_of(run_id: str) -> dict[str, str]:
    return MlflowClient().get_run(run_id).data.tags
