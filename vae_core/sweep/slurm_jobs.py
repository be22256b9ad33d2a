"""A study's Slurm jobs: recorded in the Optuna study (user attribute `slurm_jobs`, one entry per
launch) so that `sweep-status` and `sweep-cancel` find them from the study name alone.

Job states come from squeue and submitit's result files (vae_core/launch/jobs.py); no
accounting database (sacct) is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
from submitit.core.utils import JobPaths

from vae_core.launch.jobs import ACTIVE_STATES, read_result, result_state, squeue_states

JOBS_ATTR = "slurm_jobs"


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
    result = read_result(Path(entry["folder"]), entry["close"])
    if result is None:
        return None
    outcome, value = result
    return value if outcome == "success" else {"error": value}
