"""Sweeps as Slurm job arrays on a real single-node cluster (munged, slurmctld, slurmd on
localhost), with the study in PostgreSQL and runs on an MLflow server, all on loopback."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from pathlib import Path

import mlflow
import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.conftest import run_cli
from tests.sweep_helpers import TINY_BASE, write_study
from vae_core.cli.__main__ import main
from vae_core.sweep.slurm_control import cancel_study, status_text
from vae_core.sweep.slurm_jobs import active_jobs, job_states
from vae_core.sweep.slurm_launch import launch_on_slurm
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.history import metric_history

pytestmark = [pytest.mark.services, pytest.mark.slow]

RUN, JOB = "mlflow_run_id", "slurm_job_id"


def slurm_study(folder: Path, name: str, **overrides) -> Path:
    return write_study(folder, name, launcher="slurm", n_workers=2, heartbeat_s=1,
                       slurm={"time_min": 10, "cpus_per_task": 1, "log_dir": str(folder / "slurm")},
                       **overrides)


def launch_no_wait(path: Path, storage: str, server: str, monkeypatch) -> dict:
    """In this process (one interpreter start fewer than the command line): returns at once."""
    monkeypatch.chdir(path.parent)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    return launch_on_slurm(load_study_spec(str(path), path.parent), storage, wait=False)


def launch(path: Path, storage: str, server: str, *extra: str) -> tuple[dict, str]:
    done = run_cli("sweep", "--study", str(path), "--storage", storage, *extra, cwd=path.parent,
                   env={"MLFLOW_TRACKING_URI": server}, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{"):]), done.stderr


def epochs_logged(run_id: str) -> int:
    return len(MlflowClient().get_metric_history(run_id, "val/loss"))


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def running_with_epochs(storage: str, name: str, epochs: int) -> list[optuna.trial.FrozenTrial]:
    """The RUNNING trials, once every one has a run with at least `epochs` epochs logged."""
    try:
        trials = optuna.load_study(study_name=name, storage=storage).get_trials(states=(TrialState.RUNNING,))
    except KeyError:
        return []
    ready = [t for t in trials if RUN in t.user_attrs and JOB in t.user_attrs
             and epochs_logged(t.user_attrs[RUN]) >= epochs]
    return ready if ready and len(ready) == len(trials) else []


def both_running(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    running = running_with_epochs(storage, name, 2)
    return running if len(running) == 2 else []


def test_a_grid_of_four_runs_each_point_once_on_two_array_tasks(postgres, mlflow_server, slurm_cluster,
                                                                tmp_path):
    storage = postgres.create_database("slurm_grid")
    path = slurm_study(tmp_path, "slurm_grid")
    summary, log = launch(path, storage, mlflow_server)
    tasks = summary["slurm"]["tasks"]
    array = tasks[0].split("_")[0]
    assert tasks == [f"{array}_0", f"{array}_1"]
    assert f"squeue -j {array},{summary['slurm']['close']}" in log and summary["slurm"]["folder"] in log
    script = Path(summary["slurm"]["folder"]) / f"{array}_submission.sh"
    assert "#SBATCH --array=0-1%2" in script.read_text()
    study = optuna.load_study(study_name="slurm_grid", storage=storage)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted((t.params["beta"], t.params["latent_size"]) for t in complete) == \
        sorted(itertools.product([1.0, 2.0], [2, 3]))  # every grid point exactly once
    assert {t.user_attrs[JOB] for t in complete} <= set(tasks)
    assert sorted(line.split()[1] for line in log.splitlines() if " COMPLETE " in line) == \
        sorted(str(t.number) for t in complete)  # one progress line per finished trial
    mlflow.set_tracking_uri(mlflow_server)
    client = MlflowClient(mlflow_server)
    parent = summary["parent_run_id"]
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  f"tags.`mlflow.parentRunId` = '{parent}'")
    assert sorted(r.info.run_id for r in children) == sorted(t.user_attrs[RUN] for t in complete)
    assert client.get_run(parent).info.status == "FINISHED"
    best = min(complete, key=lambda t: t.value)
    assert client.get_model_version_by_alias("slurm_grid", "champion").run_id == best.user_attrs[RUN]
    assert summary["finished"] and "champion" in summary["registered"]
    status = status_text(load_study_spec(str(path), tmp_path), storage).splitlines()
    for job in [*tasks, summary["slurm"]["close"]]:  # squeue still remembers them (MinJobAge)
        assert any(line.split()[:3] == [job, "worker" if job in tasks else "close", "COMPLETED"]
                   for line in status)
    assert sum(" COMPLETE " in line for line in status) == 4


def test_a_task_cancelled_mid_trial_leaves_its_trial_to_the_other_task(postgres, mlflow_server,
                                                                       slurm_cluster, tmp_path,
                                                                       monkeypatch):
    epochs = 60  # trials of many seconds (batch 8), so the cancel lands inside one
    storage = postgres.create_database("slurm_kill")
    path = slurm_study(tmp_path, "slurm_kill",
                       space={"beta": {"grid": [1.0, 2.0]}, "latent_size": {"grid": [2]}},
                       base={**TINY_BASE, "epochs": epochs, "batch_size": 8, "save_interval": [epochs]})
    summary = launch_no_wait(path, storage, mlflow_server, monkeypatch)
    running = wait_until(lambda: both_running(storage, "slurm_kill"), 240,
                         "both tasks to be two epochs into their trials")
    victim, survivor = running
    subprocess.run(["scancel", victim.user_attrs[JOB]], check=True)
    tasks = summary["slurm"]["tasks"]
    wait_until(lambda: not set(active_jobs(summary["slurm"])) & set(tasks), 300, "both tasks to end")
    subprocess.run(["scancel", summary["slurm"]["close"]], check=True)  # the grid test closes a study
    study = optuna.load_study(study_name="slurm_kill", storage=storage)
    assert study.trials[victim.number].state == TrialState.FAIL
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].user_attrs[JOB] == survivor.user_attrs[JOB]  # finished by the other task
    assert retry[0].user_attrs[RUN] == victim.user_attrs[RUN]  # resumed the same run
    history = metric_history([victim.user_attrs[RUN]], ["val/loss"])
    assert list(history.step) == list(range(epochs + 1))  # no epoch logged twice, none missing
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(t.params["beta"] for t in complete) == [1.0, 2.0]
    states = {row.job_id: row.state for row in job_states(summary["slurm"])}
    assert (states[victim.user_attrs[JOB]], states[survivor.user_attrs[JOB]]) == ("CANCELLED", "COMPLETED")


def test_sweep_cancel_fails_and_requeues_running_trials_and_keeps_finished_ones(
        postgres, mlflow_server, slurm_cluster, tmp_path, monkeypatch):
    storage = postgres.create_database("slurm_cancel")
    path = slurm_study(tmp_path, "slurm_cancel", space={"epochs": {"grid": [1, 500]}},
                       base={**TINY_BASE, "batch_size": 32})
    summary = launch_no_wait(path, storage, mlflow_server, monkeypatch)

    def one_done_one_running():
        study = optuna.load_study(study_name="slurm_cancel", storage=storage)
        done = study.get_trials(states=(TrialState.COMPLETE,))
        return done and running_with_epochs(storage, "slurm_cancel", 1)

    wait_until(one_done_one_running, 240, "the short trial to finish and the long one to start")
    result = cancel_study(load_study_spec(str(path), tmp_path), storage)
    study = optuna.load_study(study_name="slurm_cancel", storage=storage)
    long_trial = next(t for t in study.trials if t.params["epochs"] == 500 and t.state != TrialState.WAITING)
    assert result["failed_trials"] == [long_trial.number] and long_trial.state == TrialState.FAIL
    assert set(result["cancelled_jobs"]) >= {summary["slurm"]["close"], long_trial.user_attrs[JOB]}
    assert not active_jobs(summary["slurm"])
    short = study.get_trials(states=(TrialState.COMPLETE,))
    assert [t.params["epochs"] for t in short] == [1]  # nothing finished is lost
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [(t.params, t.system_attrs["failed_trial"]) for t in waiting] == \
        [(long_trial.params, long_trial.number)]  # the next launch resumes it
    run = MlflowClient().get_run(long_trial.user_attrs[RUN])
    assert run.info.status == "KILLED" and run.data.tags["optuna.trial_state"] == "FAIL"
    assert MlflowClient().get_run(summary["parent_run_id"]).info.status == "KILLED"


def test_an_unknown_partition_is_refused_with_the_cluster_s_partitions(slurm_cluster, workdir,
                                                                       capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # never contacted: refused first
    path = write_study(workdir, "partition", launcher="slurm", slurm={"partition": "gpu"})
    assert main(["sweep", "--study", str(path), "--storage", "postgresql://nobody@127.0.0.1:9/x"]) == 2
    error = capsys.readouterr().err
    assert "slurm.partition: the cluster has no partition 'gpu'; allowed values: debug" in error
    from vae_core.launch.checks import check_partition

    check_partition("debug")  # the cluster's own partition passes
    check_partition(None)  # as does the cluster's default
