"""`map_units`: run a module-level function over a stage's units (latent sizes, models, grid
points) in this process one after another (`launcher: local`), or as ONE Slurm job array, one
task per unit (`launcher: slurm`, through submitit), and collect the results in unit order.

Interrupted work resumes: `done(unit)` names the units already finished (a finished child run, a
cached analysis), which are neither run nor submitted again; a unit whose job from an earlier
launch is still queued or running is waited for, not submitted twice (the jobs are recorded in
`<log_dir>/<name>/units.json`). The function is pickled into the job folder and must be safe to
run twice: a task requeued at its time limit or on preemption calls it again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import submitit
from tqdm import tqdm

import vae_core
from vae_core.launch import UnitsFailed
from vae_core.launch.checks import check_slurm_ready
from vae_core.launch.jobs import active, log_paths, read_result
from vae_core.launch.settings import LaunchConfig, state_dir_path
from vae_core.launch.task import UnitTask, executor_parameters, task_setup
from vae_core.tracking.store import project_root, tracking_uri

Unit = TypeVar("Unit")
Result = TypeVar("Result")
POLL_S = 2.0
RECORD = "units.json"


def check_launch(launch: LaunchConfig) -> None:
    """Refuse a Slurm launch the nodes cannot carry out (a tracking store they cannot share, no
    Slurm client, an unknown partition): call it before any run exists. Local needs nothing."""
    if launch.launcher == "slurm":
        check_slurm_ready(tracking_uri(), launch.slurm.partition)


def map_units(function: Callable[[Unit], Result], units: Sequence[Unit], launch: LaunchConfig, name: str,
              labels: Sequence[str] | None = None,
              done: Callable[[Unit], Result | None] | None = None) -> list[Result] | None:
    """function(unit) for every unit, in unit order; `done(unit)` gives a finished unit's result
    (None: not finished). With launcher slurm and `launch.wait` false, returns None once the
    array is submitted. `name` names the jobs and their folder (`<log_dir>/<name>/`)."""
    labels = [str(unit) for unit in units] if labels is None else list(labels)
    results: dict[int, Result] = {}
    for index, unit in enumerate(units if done else ()):
        found = done(unit)
        if found is not None:
            results[index] = found
    if results:
        print(f"{name}: {len(results)} of {len(units)} units already done, not run again: "
              f"{', '.join(labels[i] for i in sorted(results))}", file=sys.stderr, flush=True)
    pending = [index for index in range(len(units)) if index not in results]
    if launch.launcher == "local":
        for index in pending:
            results[index] = function(units[index])
    elif pending:
        check_launch(launch)
        found = on_slurm(function, [units[i] for i in pending], [labels[i] for i in pending], launch, name)
        if found is None:
            return None
        results.update(zip(pending, found))
    return [results[index] for index in range(len(units))]


def read_record(folder: Path) -> dict[str, str]:
    path = folder / RECORD
    return json.loads(path.read_text()) if path.is_file() else {}


def write_record(folder: Path, record: dict[str, str]) -> None:
    partial = folder / f".{RECORD}.{os.getpid()}"
    partial.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(partial, folder / RECORD)


def submit(function: Callable[[Any], Any], units: list[Any], launch: LaunchConfig, name: str,
           folder: Path) -> list[str]:
    """One array of len(units) tasks; returns their job ids ('4711_0', ...), in unit order."""
    code = Path(vae_core.__file__).resolve().parents[1]  # the checkout submitting is the one run
    setup = task_setup(launch.slurm, tracking_uri(), state_dir_path(launch.state_dir, project_root()), code)
    executor = submitit.SlurmExecutor(folder=folder)
    executor.update_parameters(**executor_parameters(launch.slurm, name, setup))
    return [job.job_id for job in executor.map_array(UnitTask(function), units)]


def how_to_follow(name: str, jobs: dict[str, str], submitted: list[str], folder: Path, wait: bool) -> str:
    arrays = sorted({job.split("_")[0] for job in jobs.values()})
    new = [f"{label} -> {jobs[label]}" for label in submitted]
    old = [f"{label} -> {job}" for label, job in jobs.items() if label not in submitted]
    first = next(iter(jobs.values()))
    lines = [f"{name}: Slurm array {', '.join(arrays)}: " + "; ".join(
                 part for part in (f"{len(new)} tasks submitted ({', '.join(new)})" if new else "",
                                   f"still queued or running from before: {', '.join(old)}" if old else "")
                 if part),
             f"logs:    {folder}/<job>_0_log.out and .err",
             f"follow:  squeue -j {','.join(arrays)}    tail -f {folder}/{first}_0_log.out"]
    if not wait:
        lines.append("collect: start the same command again once they end (finished units are not run again)")
    return "\n".join(lines)


def wait_for(jobs: dict[str, str], folder: Path) -> dict[str, tuple[str, Any]]:
    """label -> submitit's (outcome, value) once every job has left the queue; a line per job as
    it ends (a bar as well on a terminal). A job that left no result ends as ('ended', None)."""
    outcomes: dict[str, tuple[str, Any]] = {}
    with tqdm(total=len(jobs), unit="unit", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        while True:
            live = set(active([job for label, job in jobs.items() if label not in outcomes]))
            for label, job in jobs.items():
                if label not in outcomes and job not in live:
                    outcomes[label] = read_result(folder, job) or ("ended", None)
                    state = {"success": "COMPLETED", "error": "FAILED"}.get(outcomes[label][0], "ENDED")
                    bar.write(f"{label}: {job} {state}", file=sys.stderr)
                    bar.update()
            if len(outcomes) == len(jobs):
                return outcomes
            time.sleep(POLL_S)


def failure_line(label: str, job: str, outcome: tuple[str, Any], folder: Path) -> str:
    stdout, stderr = log_paths(folder, job)
    if outcome[0] == "error":
        last = (str(outcome[1]).strip().splitlines() or ["(no traceback)"])[-1]
        return f"{label} (job {job}) failed: {last}; log: {stderr}"
    return f"{label} (job {job}) ended without a result (cancelled, killed or out of time); log: {stdout}"


def on_slurm(function: Callable[[Any], Any], units: list[Any], labels: list[str], launch: LaunchConfig,
             name: str) -> list[Any] | None:
    """Submit the units no earlier job is still working on, then (unless launch.wait is false)
    wait for every job and return the results; UnitsFailed names each failed task and its log."""
    folder = (project_root() / launch.slurm.log_dir / name).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    record = read_record(folder)
    earlier = {label: record[label] for label in labels if label in record}
    running = set(active(list(earlier.values())))
    jobs = {label: job for label, job in earlier.items() if job in running}
    new = [index for index, label in enumerate(labels) if label not in jobs]
    if new:
        submitted = submit(function, [units[i] for i in new], launch, name, folder)
        jobs.update(zip([labels[i] for i in new], submitted))
        write_record(folder, {**record, **jobs})
    print(how_to_follow(name, jobs, [labels[i] for i in new], folder, launch.wait), file=sys.stderr,
          flush=True)
    if not launch.wait:
        return None
    try:
        outcomes = wait_for(jobs, folder)
    except KeyboardInterrupt:
        print(f"stopped waiting; the jobs go on (squeue -j {','.join(jobs.values())}); start the same "
              f"command again to collect them", file=sys.stderr, flush=True)
        raise
    failures = [failure_line(label, jobs[label], outcome, folder) for label, outcome in outcomes.items()
                if outcome[0] != "success"]
    if failures:
        raise UnitsFailed(f"{name}: {len(failures)} of {len(labels)} array tasks failed: "
                          + "; ".join(failures) + "; the units that finished are kept: start the same "
                          "command again to retry the others")
    return [outcomes[label][1] for label in labels]
