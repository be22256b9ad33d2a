"""`launcher: slurm`: the study's workers as one Slurm job array (submitit), plus a closing job.

Each array task is one Optuna worker (vae_core/sweep/slurm_task.py) on the study's shared
storage and tracking server, with the resources of the study file's `slurm:` block; a job that
depends on the whole array (afterany) registers the champion and closes the parent run, so a
`--no-wait` launch needs nobody to stay logged in. Everything that can be refused is refused
before the study, its parent run or any job exists.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import optuna
import submitit
from optuna.trial import TrialState
from tqdm import tqdm

import vae_core
from vae_core.experiment import load_data
from vae_core.launch.settings import state_dir_path
from vae_core.launch.task import executor_parameters, task_setup
from vae_core.sweep.bridge import SKIPPED_ATTR, SLURM_ATTR
from vae_core.sweep.runner import check_trials_fit, count_states, open_study, parent_run, storage_url
from vae_core.sweep.slurm_checks import check_slurm_launch
from vae_core.sweep.slurm_jobs import active_jobs, closing_result, record_launch
from vae_core.sweep.slurm_task import SweepWorker, close_on_slurm
from vae_core.sweep.spec import StudySpec
from vae_core.sweep.storage import redact
from vae_core.tracking import sweep_runs
from vae_core.tracking.store import configure_tracking, project_root, tracking_uri

CLOSE_TIME_MIN = 30
POLL_S = 2.0


def closing_parameters(worker: dict[str, Any], array_job: str) -> dict[str, Any]:
    """The closing job: one CPU, no GPU, short, once every array task has ended (whatever way)."""
    parameters = {k: v for k, v in worker.items() if k not in ("gpus_per_task", "mem")}
    return {**parameters, "job_name": f"{worker['job_name']}-close", "cpus_per_task": 1,
            "time": CLOSE_TIME_MIN, "dependency": f"afterany:{array_job}"}


def submit(spec: StudySpec, url: str, parent: tuple[str, str], n_workers: int, tracking: str,
           folder: Path) -> tuple[list[str], str]:
    """One array of n_workers tasks and its closing job; returns (task job ids, closing job id)."""
    code = Path(vae_core.__file__).resolve().parents[1]  # the checkout submitting is the one run
    setup = task_setup(spec.slurm, tracking, state_dir_path(spec.state_dir, project_root()), code)
    worker = executor_parameters(spec.slurm, f"sweep-{spec.study}", setup)
    executor = submitit.SlurmExecutor(folder=folder)
    executor.update_parameters(**worker)
    jobs = executor.map_array(SweepWorker(spec, url, *parent), range(n_workers))
    closer = submitit.SlurmExecutor(folder=folder)
    closer.update_parameters(**closing_parameters(worker, jobs[0].job_id.split("_")[0]))
    close = closer.submit(close_on_slurm, spec, url, parent[0])
    return [job.job_id for job in jobs], close.job_id


def how_to_follow(spec: StudySpec, entry: dict[str, Any]) -> str:
    array = entry["tasks"][0].split("_")[0]
    folder = Path(entry["folder"])
    return "\n".join([
        f"study {spec.study}: Slurm array {array} ({len(entry['tasks'])} tasks, one Optuna worker each: "
        f"{', '.join(entry['tasks'])}); closing job {entry['close']} registers the champion once they end",
        f"logs:    {folder}/<job>_0_log.out and .err",
        f"follow:  squeue -j {array},{entry['close']}    tail -f {folder}/{entry['tasks'][0]}_0_log.out",
        f"status:  python -m vae_core.cli sweep-status {spec.study}    "
        f"cancel: python -m vae_core.cli sweep-cancel {spec.study}"])


def trial_line(trial: optuna.trial.FrozenTrial, spec: StudySpec) -> str:
    params = " ".join(f"{k}={v}" for k, v in trial.params.items())
    if SKIPPED_ATTR in trial.user_attrs:
        return f"trial {trial.number} skipped: {trial.user_attrs[SKIPPED_ATTR]}"
    values = "" if trial.values is None else " " + " ".join(
        f"{o.metric}={v:.6g}" for o, v in zip(spec.objectives, trial.values))
    where = f" on {trial.user_attrs[SLURM_ATTR]}" if SLURM_ATTR in trial.user_attrs else ""
    return f"trial {trial.number} {trial.state.name} {params}{values}{where}"


def wait_with_progress(spec: StudySpec, study: optuna.Study, entry: dict[str, Any]) -> None:
    """A line per finished trial (a bar as well on a terminal) until every job has left the queue."""
    finished = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    seen = {t.number for t in study.get_trials(deepcopy=False, states=finished)}
    with tqdm(total=spec.budget(), unit="trial", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        while True:
            active = active_jobs(entry)
            for trial in study.get_trials(deepcopy=False, states=finished):
                if trial.number not in seen:
                    seen.add(trial.number)
                    bar.write(trial_line(trial, spec), file=sys.stderr)
                    bar.update(trial.state != TrialState.FAIL and SKIPPED_ATTR not in trial.user_attrs)
            if not active:
                return
            time.sleep(POLL_S)


def launch_on_slurm(spec: StudySpec, storage: str = "", n_workers: int | None = None,
                    wait: bool = True) -> dict[str, Any]:
    """Refuse what compute nodes cannot share, open the study and its parent run, submit, and
    (unless wait is False) follow the trials until every job has ended; returns the summary."""
    url, tracking = storage_url(spec, storage), tracking_uri()
    check_slurm_launch(url, tracking, spec.slurm.partition)
    n_workers = n_workers or spec.n_workers
    base = spec.trial_config({})
    data = load_data(base.data, base.trainer.seed)
    check_trials_fit(spec, data)
    configure_tracking()
    study = open_study(spec, url)
    parent = parent_run(spec, study, url, data)
    folder = (project_root() / spec.slurm.log_dir / spec.study).resolve()
    try:
        tasks, close = submit(spec, url, parent, n_workers, tracking, folder)
    except BaseException:
        sweep_runs.terminate(parent[0], "KILLED")
        raise
    entry = record_launch(study, tasks, close, folder)
    sweep_runs.set_tags(parent[0], {"slurm.jobs": ",".join([*tasks, close])})
    print(how_to_follow(spec, entry), file=sys.stderr, flush=True)
    summary = {"study": spec.study, "storage": redact(url), "parent_run_id": parent[0], "slurm": entry}
    if not wait:
        return summary
    try:
        wait_with_progress(spec, study, entry)
    except KeyboardInterrupt:
        print("stopped waiting; the jobs go on (sweep-status / sweep-cancel)", file=sys.stderr)
        return summary
    closing = closing_result(entry) or {"error": f"closing job {close} wrote no result; see its log"}
    return {**summary, "trials": count_states(study), **closing}
