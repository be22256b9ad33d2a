"""Without a cluster: what a job's result file says, cancelling a trial the way Optuna's
heartbeat check retries a dead worker's trial, and submitit requeueing a worker at its time
limit (its USR2 handler, called as Slurm's signal would call it)."""

from __future__ import annotations

import signal
import time

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState
from submitit.core.job_environment import SignalHandler
from submitit.core.utils import DelayedSubmission, JobPaths, UncompletedJobError, cloudpickle_dump
from submitit.slurm.slurm import SlurmJobEnvironment

from tests.sweep_helpers import study_document
from vae_core.sweep.slurm_control import fail_and_requeue
from vae_core.sweep.slurm_jobs import closing_result, result_state
from vae_core.sweep.slurm_task import SweepWorker
from vae_core.sweep.spec import parse_study
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
    deadline = time.monotonic() + 30  # past the grace period, however slow the machine
    while storage.get_trial(stale._trial_id).state == TrialState.RUNNING and time.monotonic() < deadline:
        time.sleep(1)
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


def usr2(function, tmp_path, monkeypatch, minutes_run: float) -> list[int]:
    """Deliver submitit's time-limit signal to a task of a 60-minute job; returns the requeues."""
    delayed = DelayedSubmission(function, 1)
    delayed.set_timeout(60, 3)
    environment = SlurmJobEnvironment()
    requeued: list[int] = []
    monkeypatch.setattr(environment, "_requeue", requeued.append)
    handler = SignalHandler(environment, JobPaths(tmp_path, job_id="5_1"), delayed)
    handler._start_time -= minutes_run * 60
    monkeypatch.setattr(handler, "_exit", lambda: None)
    handler.checkpoint_and_try_requeue(signal.SIGUSR2)
    return requeued


@pytest.mark.parametrize(("minutes_run", "timeouts_left"), [(59, 2), (1, 3)])  # time limit, preemption
def test_a_signalled_worker_task_is_requeued_as_the_same_worker(minutes_run, timeouts_left, tmp_path,
                                                                monkeypatch):
    spec = parse_study(study_document("requeue"), "requeue")
    worker = SweepWorker(spec, "postgresql://db/x", "parent", "7")
    assert usr2(worker, tmp_path, monkeypatch, minutes_run) == [timeouts_left]
    again = DelayedSubmission.load(JobPaths(tmp_path, job_id="5_1").submitted_pickle)
    assert isinstance(again.function, SweepWorker) and again.args == (1,)
    assert (again.function.url, again.function.parent_run_id, again.function.spec.study) == \
        ("postgresql://db/x", "parent", "requeue")


def test_a_plain_function_would_not_be_requeued_at_its_time_limit(tmp_path, monkeypatch):
    with pytest.raises(UncompletedJobError, match="timed-out and not checkpointable"):
        usr2(print, tmp_path, monkeypatch, minutes_run=59)
