"""Questions about recorded runs, answered as pandas tables."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow import MlflowClient

STUDY_TAG = "optuna.study_name"


def study_runs(study: str) -> pd.DataFrame:
    """One row per trial run of a study: run_id, trial, state, params, final metrics.

    Columns: run_id, status, trial, trial_state, param.<name>..., <metric>... (last values).
    """
    runs = mlflow.search_runs(experiment_names=[study], filter_string=f"tags.`{STUDY_TAG}` = '{study}' "
                              f"and tags.`vae.kind` = 'train'", output_format="list")
    rows = []
    for run in runs:
        row = {"run_id": run.info.run_id, "status": run.info.status,
               "trial": int(run.data.tags.get("optuna.trial_number", -1)),
               "trial_state": run.data.tags.get("optuna.trial_state", ""),
               "parent_run_id": run.data.tags.get("mlflow.parentRunId", "")}
        row.update({f"param.{k}": v for k, v in run.data.params.items()})
        row.update(run.data.metrics)
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values("trial").reset_index(drop=True) if rows else table


def registered_versions(name: str) -> pd.DataFrame:
    """Every version of a registered model: version, run_id, model_id, source, aliases, tags."""
    client = MlflowClient()
    aliases: dict[str, list[str]] = {}
    for alias, version in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    rows = [{"version": int(v.version), "run_id": v.run_id, "model_id": getattr(v, "model_id", None),
             "source": v.source, "status": v.status, "aliases": sorted(aliases.get(str(v.version), [])),
             **{f"tag.{k}": val for k, val in v.tags.items()}}
            for v in client.search_model_versions(f"name = '{name}'")]
    table = pd.DataFrame(rows)
    return table.sort_values("version").reset_index(drop=True) if rows else table


def sweep_trials(study: str) -> pd.DataFrame:
    """The completed, finished trial runs under a sweep study's newest parent run (rows of
    `study_runs`); empty when no sweep of that name was run in this store."""
    from vae_core.tracking.runs import KIND_TAG, find_runs
    from vae_core.tracking.runs import STUDY_TAG as RUN_STUDY_TAG

    experiment = mlflow.get_experiment_by_name(study)
    parents = (find_runs(experiment.experiment_id, {KIND_TAG: "sweep_parent", RUN_STUDY_TAG: study},
                         max_results=1) if experiment else [])
    table = study_runs(study) if parents else pd.DataFrame()
    if table.empty:
        return table
    keep = ((table.parent_run_id == parents[0].info.run_id) & (table.trial_state == "COMPLETE")
            & (table.status == "FINISHED"))
    return table[keep].reset_index(drop=True)
