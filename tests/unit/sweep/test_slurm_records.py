"""Without a cluster: what a job's result file says, and cancelling a trial the way Optuna's
heartbeat check retries a dead worker's trial."""

from __future__ import annotations

import time

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from submitit.core.utils import JobPaths, cloudpickle_dump

from vae_core.sweep.slurm_control import fail_and_requeue
from vae_core.sweep.slurm_jobs import closing_result, result_state
from vae_core.sweep.storage import open_storage


def test_result_files_tell_completed_failed_and_killed_apart(tmp_path):
    cloudpickle_dump(("success", {"finished": True}), JobPaths(tmp_path, job_id="7_0").result_pickle)
    cloudpickle_dump(("error", "Traceback: boom"), JobPaths(tmp_path, job_id="7_1").result_pickle)
    assert [result_state(tmp_path, job) for job in ("7_0", "7_1", "7_2")] == ["COMPLETED", "FAILED", "ENDED"]
    assert closing_result({"folder": str(tmp_path), "close": "7_0"}) == {"finished": True}
    assert closing_result({"folder": str(tmp_path), "close": "7_1"}) == {"error": "Traceback: boom"}
    assert closing_result({"folder": str(tmp_path), "close": "8"}) is None


def started_trial(study: optuna.Study, beta: float) -> optuna.trial.FrozenTrial:
    study.enqueue_trial({"beta": beta})
    trial = study.ask()
    assert trial.suggest_float("beta", 0.0, 4.0) == beta
    study._storage.record_heartbeat(trial._trial_id)
    with mlflow.start_run() as run:
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
    return study._storage.get_trial(trial._trial_id)


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_cancelled_trial_fails_and_is_retried_exactly_as_a_stale_one(workdir):
    mlflow.set_experiment("slurm_records")  # not one a test before set on another store
    storage = open_storage(f"sqlite:///{workdir / 'optuna.db'}", heartbeat_s=1)
    study = optuna.create_study(study_name="cancel", storage=storage)
    stale, cancelled = started_trial(study, 1.0), started_trial(study, 2.0)
    time.sleep(3.5)  # past the grace period (3 heartbeats)
    storage.record_heartbeat(cancelled._trial_id)  # alive, as the trial of a task being cancelled is
    optuna.storages.fail_stale_trials(study)  # Optuna's own path, for `stale`
    assert storage.get_trial(cancelled._trial_id).state == TrialState.RUNNING
    fail_and_requeue(study, cancelled)
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials[:2]] == [TrialState.FAIL, TrialState.FAIL]
    retries = {t.system_attrs["failed_trial"]: t for t in trials[2:]}
    assert sorted(retries) == [stale.number, cancelled.number]
    assert all(t.state == TrialState.WAITING for t in retries.values())
    assert retries[cancelled.number].params == {"beta": 2.0} and retries[stale.number].params == {"beta": 1.0}
    assert set(retries[cancelled.number].system_attrs) == set(retries[stale.number].system_attrs)
    run = MlflowClient().get_run(cancelled.user_attrs["mlflow_run_id"])
    assert run.info.status == "KILLED" and run.data.tags["optuna.trial_state"] == "FAIL"
