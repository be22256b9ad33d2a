"""End to end: `mlflow run . -e sweep` then `-e report`; a sweep killed mid-way and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.conftest import ROOT
from tests.sweep_helpers import write_study
from vae_core.tracking.history import metric_history
from vae_core.tracking.queries import study_runs

pytestmark = pytest.mark.slow


def cli_env(tracking_uri: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": tracking_uri,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def wrappers(entries: tuple[str, ...]) -> list[str]:
    """Runs `mlflow run` opened for these entry points that are still listed (not deleted)."""
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    return [r.info.run_id for r in runs if r.data.tags.get("mlflow.project.entryPoint") in entries]


def test_mlflow_run_sweep_then_report(tmp_path, tracking_uri):
    path = write_study(tmp_path, "e2e")
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    for entry in ("sweep", "report"):
        done = subprocess.run([mlflow_bin, "run", str(ROOT), "-e", entry, "-P", f"study={path}", "-P",
                               f"storage={storage}", "--env-manager", "local"], env=cli_env(tracking_uri),
                              capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    study = optuna.load_study(study_name="e2e", storage=storage)
    parent = study.user_attrs["mlflow_parent_run_id"]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    logged = {f.path for f in MlflowClient().list_artifacts(parent, "report")}
    assert {"report/history.png", "report/slices.png", "report/trials.csv"} <= logged
    deadline = time.monotonic() + 120  # mlflow run's own wrappers are deleted once it closed them
    while time.monotonic() < deadline and wrappers(("sweep", "report")):
        time.sleep(1)
    assert wrappers(("sweep", "report")) == []


def test_a_killed_sweep_continues_without_losing_or_repeating_trials(tmp_path, tracking_uri):
    epochs = 40  # trials of several seconds, so the kill lands inside one
    path = write_study(tmp_path, "killed", base={"dataset": "digits", "epochs": epochs, "batch_size": 32,
                                                 "lr": 1.0e-3, "save_interval": [epochs]})
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    command = [sys.executable, "-m", "vae_core.cli", "sweep", "--study", str(path), "--storage", storage,
               "--n-workers", "1"]
    first = subprocess.Popen(command, env=cli_env(tracking_uri), cwd=tmp_path, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, running = time.time() + 300, []
    while time.time() < deadline and first.poll() is None:  # kill once a trial is done and the next
        time.sleep(0.3)                                        # has logged a few epochs
        try:
            trials = optuna.load_study(study_name="killed", storage=storage).trials
        except KeyError:
            continue
        running = [t for t in trials if t.state == TrialState.RUNNING and "mlflow_run_id" in t.user_attrs]
        if any(t.state == TrialState.COMPLETE for t in trials) and running:
            run_id = running[0].user_attrs["mlflow_run_id"]
            if len(MlflowClient().get_metric_history(run_id, "val/loss")) >= 2:
                break
    assert first.poll() is None and running, "the sweep ended before it could be killed mid-trial"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed = running[0]
    done_before = {t.number: t.params for t in trials if t.state == TrialState.COMPLETE}
    again = subprocess.run(command, env=cli_env(tracking_uri), cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    study = optuna.load_study(study_name="killed", storage=storage)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted((t.params["beta"], t.params["latent_size"]) for t in complete) == \
        sorted((b, z) for b in (1.0, 2.0) for z in (2, 3))  # every point once
    assert {t.number: t.params for t in complete if t.number in done_before} == done_before
    assert study.trials[killed.number].state == TrialState.FAIL
    retry = [t for t in complete if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retry) == 1
    # The retry resumed the killed trial's run: one run, each epoch logged once.
    assert retry[0].user_attrs["mlflow_run_id"] == killed.user_attrs["mlflow_run_id"]
    history = metric_history([killed.user_attrs["mlflow_run_id"]], ["val/loss"])
    assert list(history.step) == list(range(epochs + 1))
    runs = study_runs("killed")
    assert len(runs) == 4 and set(runs.trial_state) == {"COMPLETE"}
