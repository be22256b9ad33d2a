"""What a Slurm array task is given: the job script's first lines (this checkout importable, the
tracking server, the shared state folder, its thread count), submitit's parameters from the
`slurm:` block, and, inside the task, which array task it is."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from submitit.helpers import Checkpointable

from vae_core.launch.settings import STATE_DIR_ENV, SlurmSettings
from vae_core.tracking.store import configure_tracking


def task_setup(settings: SlurmSettings, tracking: str, state_dir: Path, code: Path) -> list[str]:
    """Shell lines the job script runs first: the study's own (modules, environments), then what
    every task needs: this checkout's vae_core importable, the tracking server, the shared state
    folder."""
    exports = {"MLFLOW_TRACKING_URI": tracking, STATE_DIR_ENV: str(state_dir),
               "OMP_NUM_THREADS": str(settings.cpus_per_task)}
    return [*settings.setup, f"export PYTHONPATH={shlex.quote(str(code))}${{PYTHONPATH:+:$PYTHONPATH}}",
            *(f"export {key}={shlex.quote(value)}" for key, value in exports.items())]


def executor_parameters(settings: SlurmSettings, name: str, setup: list[str]) -> dict[str, Any]:
    """submitit SlurmExecutor parameters of one array task (its names; sbatch's in comments)."""
    parameters: dict[str, Any] = {
        "job_name": name, "time": settings.time_min, "cpus_per_task": settings.cpus_per_task,  # --time
        "setup": setup, "additional_parameters": settings.sbatch_parameters()}
    if settings.partition:
        parameters["partition"] = settings.partition
    if settings.gpus_per_task:
        parameters["gpus_per_task"] = settings.gpus_per_task
    if settings.mem_gb:
        parameters["mem"] = f"{max(1, round(settings.mem_gb * 1024))}M"
    return parameters


def slurm_job_id() -> str | None:
    """This process's Slurm job ('4711_0' for an array task), None outside Slurm."""
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '0')}"
    return os.environ.get("SLURM_JOB_ID")


class UnitTask(Checkpointable):
    """One stage unit in an array task. Checkpointable: near its time limit (USR2) or when
    preempted, submitit requeues the task and the same call runs again, so a unit must be
    safe to run twice (training resumes its run from state_dir, analyses read their cache)."""

    def __init__(self, function: Callable[[Any], Any]) -> None:
        self.function = function

    def __call__(self, unit: Any) -> Any:
        configure_tracking()
        return self.function(unit)
