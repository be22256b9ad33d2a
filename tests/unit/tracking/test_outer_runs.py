"""The run `mlflow run` opens: deleted when the command refuses its input or files its work in a
run of its own, adopted in an experiment the user chose, and never a second parent after a kill."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from tests.conftest import ROOT, run_cli, subprocess_env
from vae_core.tracking import runs


def wait_deleted(run_id: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while MlflowClient().get_run(run_id).info.lifecycle_stage != "deleted":
        assert time.monotonic() < deadline, f"run {run_id} was never deleted"
        time.sleep(0.2)


def close_like_mlflow_run(run_id: str, status: str) -> None:
    """What `mlflow run` does after the command exits (mlflow.projects._wait_for)."""
    from mlflow.projects import _maybe_set_run_terminated

    _maybe_set_run_terminated(MlflowClient().get_run(run_id), status)


def outer_run(experiment_id: str = "0") -> str:
    run_id = MlflowClient().create_run(experiment_id).info.run_id
    os.environ["MLFLOW_RUN_ID"] = run_id
    return run_id


def test_a_refused_command_leaves_no_run(workdir):
    run_id = MlflowClient().create_run("0").info.run_id
    done = run_cli("train", "--epochs", "abc", cwd=workdir, env={"MLFLOW_RUN_ID": run_id})
    assert done.returncode == 2 and "epochs" in done.stderr
    close_like_mlflow_run(run_id, "FAILED")  # raises if the run were already deleted
    wait_deleted(run_id)
    listed = mlflow.search_runs(["0"], output_format="list")
    assert run_id not in {r.info.run_id for r in listed}


def test_a_wrapper_in_default_is_deleted_and_the_parent_filed_in_the_study(workdir):
    outer = outer_run("0")
    parent, experiment_id = runs.open_parent("outer-study", "k-default", {}, "p")
    mlflow.end_run()
    assert parent != outer
    experiment = MlflowClient().get_experiment(experiment_id)
    assert experiment.name == "outer-study"
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    close_like_mlflow_run(outer, "FINISHED")
    wait_deleted(outer)


def test_a_killed_command_started_again_keeps_one_parent(workdir):
    chosen = mlflow.create_experiment("user-chosen")
    first = outer_run(chosen)
    parent, _ = runs.open_parent("ignored", "k-kill", {}, "p")
    assert parent == first  # adopted where the user asked
    assert MlflowClient().get_experiment(chosen).tags["mlflow.experimentKind"] == "custom_model_development"
    mlflow.end_run()
    MlflowClient().update_run(parent, status="RUNNING")  # kill -9: it stays RUNNING
    second = outer_run(chosen)
    resumed, _ = runs.open_parent("ignored", "k-kill", {}, "p")
    mlflow.end_run()
    assert resumed == first
    close_like_mlflow_run(second, "FINISHED")
    wait_deleted(second)
    keyed = runs.find_runs(chosen, {runs.RUN_KEY_TAG: "k-kill"})
    assert [r.info.run_id for r in keyed] == [first]


@pytest.mark.slow
def test_a_refused_input_under_mlflow_run_leaves_the_store_empty(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = subprocess_env(MLFLOW_TRACKING_URI=uri, PYTHONPATH=str(ROOT))
    for bad in (["-P", "epochs=abc"], ["-P", "latent_sizes=0"]):
        done = subprocess.run(["mlflow", "run", str(ROOT), "-e", "train", *bad, "--env-manager",
                               "local"], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    mlflow.set_tracking_uri(uri)
    deadline = time.monotonic() + 30
    while mlflow.search_runs(search_all_experiments=True, output_format="list"):
        assert time.monotonic() < deadline, "a refused run is still listed"
        time.sleep(0.5)
    assert len(mlflow.search_runs(search_all_experiments=True, output_format="list",
                                  run_view_type=ViewType.ALL)) == 2


def test_a_sweep_report_wrapper_is_deleted(workdir):
    """`mlflow run -e report` files its work in the study's parent run: the wrapper goes."""
    from vae_core.cli.__main__ import main

    outer = outer_run("0")
    assert main(["sweep-report", "--study", "no_such_study"]) == 2  # refused: still no wrapper
    close_like_mlflow_run(outer, "FAILED")
    wait_deleted(outer)
