"""Where Slurm jobs stand, without an accounting database (sacct): `squeue --states=all` (which
also remembers jobs that ended within the cluster's MinJobAge) and, for jobs it has forgotten,
the result file submitit writes when a task returns or raises."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path
from typing import Any

from submitit.core.utils import JobPaths

ACTIVE_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED",
                 "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED")


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


def active(job_ids: list[str]) -> list[str]:
    """The jobs still queued or running."""
    known = squeue_states(job_ids)
    return [job for job in job_ids if job in known and known[job][0] in ACTIVE_STATES]


def read_result(folder: Path, job_id: str) -> tuple[str, Any] | None:
    """submitit's ('success', value) or ('error', traceback text) of a job; None before it wrote one."""
    path = JobPaths(folder, job_id=job_id).result_pickle
    if not path.is_file():
        return None
    with path.open("rb") as file:
        outcome, value = pickle.load(file)
    return outcome, value


def result_state(folder: Path, job_id: str) -> str:
    """What submitit's result file says of a job squeue forgot: COMPLETED, FAILED or ENDED
    (no result file: killed or cancelled before it could write one)."""
    result = read_result(folder, job_id)
    if result is None:
        return "ENDED"
    return "COMPLETED" if result[0] == "success" else "FAILED"


def log_paths(folder: Path, job_id: str) -> tuple[Path, Path]:
    """The task's stdout and stderr files."""
    paths = JobPaths(folder, job_id=job_id)
    return paths.stdout, paths.stderr
