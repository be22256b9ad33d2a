"""A study's Slurm jobs: recorded in the Optuna study (user attribute `slurm_jobs`, one entry per
launch) so that `sweep-status` and `sweep-cancel` find them from the study name alone.

Job states come from `squeue --states=all` (which also remembers jobs that ended within the
cluster's MinJobAge) and, for jobs it has forgotten, from the result file submitit writes when
a task returns or raises; no accounting database (sacct) is needed.
"""

from __future__ import annotations

import pickle
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from submitit.core.utils import JobPaths

JOBS_ATTR = "slurm_jobs"
ACTIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                 "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED")


@dataclass(frozen=True)
class JobState:
    job_id: str
    role: str  # "worker" (an array task) or "close" (registers the champion)
    state: str
    where: str  # the node, or why it is pending
    log: str


def record_launch(study: optuna.Study, tasks: list[str], close: str, folder: Path) -> dict[str, Any]:
    entry = {"tasks": tasks, "close": close, "folder": str(folder),
             "submitted": datetime.now(UTC).isoformat(timespec="seconds")}
    study.set_user_attr(JOBS_ATTR, [*recorded_launches(study), entry])
    return entry


def recorded_launches(study: optuna.Study) -> list[dict[str, Any]]:
    return list(study.user_attrs.get(JOBS_ATTR, []))


def launch_jobs(entry: dict[str, Any]) -> list[tuple[str, str]]:
    """(job id, role) of one launch: its array tasks, then its closing job."""
    return [(task, "worker") for task in entry["tasks"]] + [(entry["close"], "close")]


def squeue_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """job id ('12_0' for an array task) -> (state, node or pending reason), as squeue knows them."""
    if not job_ids:
        return {}
    done = subprocess.run(["squeue", "--noheader", "--array", "--states=all", "--jobs", ",".join(job_ids),
                           "--format=%i|%T|%R"], capture_output=True, text=True, timeout=60)
    states = {}
    for line in done.stdout.splitlines():  # exit 1 when squeue knows none of them
        job_id, state, where = (line.split("|") + ["", ""])[:3]
        states[job_id.strip()] = (state.strip(), where.strip())
    return states


def result_state(folder: Path, job_id: str) -> str:
    """What submitit's result file says of a job squeue forgot: COMPLETED, FAILED or ENDED
    (no result file: killed or cancelled before it could write one)."""
    path = JobPaths(folder, job_id=job_id).result_pickle
    if not path.is_file():
        return "ENDED"
    with path.open("rb") as file:
        outcome = pickle.load(file)[0]
    return "COMPLETED" if outcome == "success" else "FAILED"


def job_states(entry: dict[str, Any]) -> list[JobState]:
    folder = Path(entry["folder"])
    jobs = launch_jobs(entry)
    known = squeue_states([job_id for job_id, _ in jobs])
    rows = []
    for job_id, role in jobs:
        state, where = known.get(job_id) or (result_state(folder, job_id), "")
        rows.append(JobState(job_id, role, state, where, str(JobPaths(folder, job_id=job_id).stdout)))
    return rows


def active_jobs(entry: dict[str, Any]) -> list[str]:
    return [row.job_id for row in job_states(entry) if row.state in ACTIVE_STATES]


def closing_result(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The closing job's summary (None until it has written it); its traceback if it raised."""
    path = JobPaths(Path(entry["folder"]), job_id=entry["close"]).result_pickle
    if not path.is_file():
        return None
    with path.open("rb") as file:
        outcome, value = pickle.load(file)
    return value if outcome == "success" else {"error": value}
