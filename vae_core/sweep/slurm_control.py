"""`sweep-status` and `sweep-cancel` for a study launched on Slurm.

Cancelling fails the trials that were running and re-queues each (as the heartbeat check would
for a killed worker): finished trials stay, the grid point of a cancelled trial is not lost
(Optuna's grid counts a FAILED point as visited), and the next `sweep` resumes those trials'
runs from their last saved epoch.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import optuna
from optuna.trial import TrialState

from vae_core.config import ConfigError
from vae_core.sweep.bridge import RUN_ATTR, SLURM_ATTR, STATE_TAG
from vae_core.sweep.runner import PARENT_ATTR, count_states
from vae_core.sweep.slurm_jobs import active_jobs, job_states, launch_jobs, recorded_launches
from vae_core.sweep.slurm_launch import trial_line
from vae_core.sweep.spec import StudySpec
from vae_core.sweep.storage import find_study, open_storage, redact
from vae_core.tracking import sweep_runs

CANCEL_WAIT_S = 120  # scancel's SIGKILL comes KillWait (30 s by default) after its SIGTERM


def launched_study(spec: StudySpec, url: str) -> tuple[optuna.Study, list[dict[str, Any]]]:
    study = find_study(open_storage(url, spec.heartbeat_s), spec.study)
    if study is None:
        raise ConfigError(f"study: no study {spec.study!r} in {redact(url)}; launch it first")
    launches = recorded_launches(study)
    if not launches:
        raise ConfigError(f"study: {spec.study!r} has no Slurm jobs on record; it was not launched "
                          f"with launcher: slurm")
    return study, launches


def status_text(spec: StudySpec, url: str) -> str:
    """The trials (state, parameters, values, which task ran them) over the jobs of every launch."""
    study, launches = launched_study(spec, url)
    counts = ", ".join(f"{state} {n}" for state, n in sorted(count_states(study).items()))
    lines = [f"study {spec.study}: {len(study.trials)} trials ({counts or 'none yet'})"]
    lines += [f"  {trial_line(t, spec)}" for t in study.get_trials(deepcopy=False)]
    for entry in launches:
        lines.append(f"launch of {entry['submitted']} (logs in {entry['folder']}):")
        lines += [f"  {row.job_id:<12} {row.role:<7} {row.state:<11} {row.where}"
                  for row in job_states(entry)]
    return "\n".join(lines)


def scancel(job_ids: list[str]) -> None:
    if job_ids:
        done = subprocess.run(["scancel", *job_ids], capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and "Invalid job id" not in done.stderr:
            raise ConfigError(f"scancel {' '.join(job_ids)} failed: {done.stderr.strip()}")


def fail_and_requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """FAIL the trial and its MLflow run; queue its retry as Optuna's heartbeat check does."""
    storage = study._storage
    storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    retry = storage.get_heartbeat_stale_trial_callback()
    if retry is not None:
        retry(study, storage.get_trial(trial._trial_id))
    run_id = trial.user_attrs.get(RUN_ATTR)
    if run_id:
        sweep_runs.set_tags(run_id, {STATE_TAG: "FAIL"})
        sweep_runs.terminate(run_id, "KILLED")


def cancel_study(spec: StudySpec, url: str) -> dict[str, Any]:
    """scancel every job of the study still queued or running, wait for them to go, then fail
    the trials they left running (the retries wait for the next launch)."""
    study, launches = launched_study(spec, url)
    live = [job for entry in launches for job in active_jobs(entry)]
    scancel(live)
    deadline = time.monotonic() + CANCEL_WAIT_S
    while any(active_jobs(entry) for entry in launches) and time.monotonic() < deadline:
        time.sleep(1)
    ours = {job for entry in launches for job, _ in launch_jobs(entry)}
    running = [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
               if t.user_attrs.get(SLURM_ATTR) in ours]  # a worker elsewhere keeps its trial
    for trial in running:
        fail_and_requeue(study, trial)
    parent = study.user_attrs.get(PARENT_ATTR)
    if parent and live:
        sweep_runs.terminate(parent, "KILLED")
    return {"study": spec.study, "cancelled_jobs": live, "failed_trials": [t.number for t in running],
            "requeued": len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,))),
            "trials": count_states(study)}
