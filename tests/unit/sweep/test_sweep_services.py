"""Scale-out: 4 worker processes share one PostgreSQL Optuna storage and one MLflow server."""

from __future__ import annotations

import itertools
import json

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.conftest import run_cli
from tests.sweep_helpers import write_study
from vae_core.tracking.checkpoints import load_model

pytestmark = pytest.mark.services

BETAS, LATENTS = [0.5, 1.0, 2.0, 4.0], [2, 3]


def test_four_workers_run_every_grid_point_once_with_its_child_run(postgres, mlflow_server, tmp_path):
    storage = postgres.create_database("optuna")
    path = write_study(tmp_path, "grid8", space={"beta": {"grid": BETAS}, "latent_size": {"grid": LATENTS}},
                       heartbeat_s=5)
    done = run_cli("sweep", "--study", str(path), "--storage", storage, "--n-workers", "4", cwd=tmp_path,
                   env={"MLFLOW_TRACKING_URI": mlflow_server})
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    study = optuna.load_study(study_name="grid8", storage=storage)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    points = sorted((t.params["beta"], t.params["latent_size"]) for t in complete)
    assert points == sorted(itertools.product(BETAS, LATENTS))  # each grid point exactly once
    assert all(t.state != TrialState.FAIL for t in study.trials)
    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(mlflow_server)
    for trial in complete:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == summary["parent_run_id"]
        assert run.data.tags["optuna.trial_number"] == str(trial.number)
        assert run.data.tags["optuna.trial_state"] == "COMPLETE"
        assert float(run.data.params["beta"]) == trial.params["beta"]
    children = client.search_runs([client.get_run(summary["parent_run_id"]).info.experiment_id],
                                  f"tags.`mlflow.parentRunId` = '{summary['parent_run_id']}'")
    assert len(children) == 8
    # The champion's weights come back through the server's artifact proxy.
    champion = load_model("models:/grid8@champion")
    best = min(complete, key=lambda t: t.value)
    assert client.get_model_version_by_alias("grid8", "champion").run_id == best.user_attrs["mlflow_run_id"]
    assert champion.config.latent_size == best.params["latent_size"]
