"""What runs inside Slurm: one Optuna worker per array task, and the closing job that registers
the champion once every task has ended (it depends on the array with afterany).

A task killed by Slurm (scancel, node loss, preemption) stops beating its trial's heartbeat;
a surviving task waits for that trial to go stale, and Optuna re-queues it with the same
parameters: the retry resumes the trial's MLflow run from its last epoch in the shared
state_dir. So a worker leaves only when no trial is waiting or running anywhere.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from typing import Any

import optuna
from optuna.trial import TrialState
from submitit.helpers import Checkpointable

from vae_core.sweep.runner import close_study, count_states, open_study, work
from vae_core.sweep.spec import StudySpec
from vae_core.tracking.store import configure_tracking


def drain(spec: StudySpec, url: str, parent_run_id: str, experiment_id: str) -> None:
    """Work, then stay while another worker's trial is running: if its heartbeat stops, run the
    retry Optuna queues for it. Returns when nothing waits or runs (or timeout_s has passed)."""
    deadline = time.monotonic() + spec.timeout_s if spec.timeout_s else math.inf
    work(spec, url, parent_run_id, experiment_id)
    study = open_study(spec, url)
    while time.monotonic() < deadline:
        optuna.storages.fail_stale_trials(study)  # only trials silent past the grace period
        if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            work(spec, url, parent_run_id, experiment_id)
            continue
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            return
        time.sleep(spec.heartbeat_s)


class SweepWorker(Checkpointable):
    """One array task. Checkpointable so that submitit requeues the task when its time limit
    nears (it sends USR2 `signal_delay_s` before) as well as on preemption: the worker keeps
    no state of its own (the study is in the storage, trial state in state_dir), so its
    checkpoint is the same call again, and the interrupted trial goes through the heartbeat."""

    def __init__(self, spec: StudySpec, url: str, parent_run_id: str, experiment_id: str) -> None:
        self.spec = spec
        self.url = url
        self.parent_run_id = parent_run_id
        self.experiment_id = experiment_id

    def __call__(self, task: int) -> dict[str, int]:
        configure_tracking()
        drain(self.spec, self.url, self.parent_run_id, self.experiment_id)
        return count_states(open_study(self.spec, self.url))


def close_on_slurm(spec: StudySpec, url: str, parent_run_id: str) -> dict[str, Any]:
    """The closing job: champion registered, parent run closed; returns the sweep's summary."""
    configure_tracking()
    return asdict(close_study(open_study(spec, url), spec, url, parent_run_id))
