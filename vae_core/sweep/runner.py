"""Running a study: the launcher (validate, open the study, the MLflow parent run, workers,
the champion) and the worker loop that several processes or machines run side by side.

A restart continues the same study: finished trials stay, trials whose worker died are
failed by Optuna's heartbeat check and re-queued with the same parameters.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from vae_core.config import ConfigError
from vae_core.data import DatasetSplits
from vae_core.experiment import check_models_fit, load_data
from vae_core.sweep.bridge import STUDY_TAG, make_objective
from vae_core.sweep.champions import register_study_champions
from vae_core.sweep.disentanglement import check_encodes
from vae_core.sweep.resources import (
    apply_threads,
    apply_worker_share,
    threads_per_worker,
    visible_gpus,
    worker_env,
)
from vae_core.sweep.search import build_pruner, build_sampler
from vae_core.sweep.spec import StudySpec, dimension_ends
from vae_core.sweep.storage import default_storage_url, find_study, open_storage, redact
from vae_core.tracking import sweep_runs
from vae_core.tracking.store import configure_tracking, project_root
from vae_core.training import NonFiniteLossError

PARENT_ATTR = "mlflow_parent_run_id"
SPACE_ATTR = "search_space"
DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass
class SweepResult:
    study: str
    storage: str
    parent_run_id: str
    trials: dict[str, int]
    finished: bool
    registered: dict[str, str]


def storage_url(spec: StudySpec, override: str = "") -> str:
    return override or spec.storage or default_storage_url(spec.study, project_root())


def _space_record(spec: StudySpec) -> str:
    record = {"space": [d.__dict__ for d in spec.space], "directions": spec.directions,
              "objectives": [o.metric for o in spec.objectives], "base": spec.base}
    if spec.disentanglement is not None:  # other settings give other scores (absent: older records)
        record["disentanglement"] = spec.disentanglement.model_dump()
    return json.dumps(record, sort_keys=True, default=str)


def open_study(spec: StudySpec, url: str) -> optuna.Study:
    """Create the study, or load it after checking it is the same study (never alter another)."""
    storage = open_storage(url, spec.heartbeat_s)
    existing = find_study(storage, spec.study)
    record = _space_record(spec)
    if existing is not None:
        stored = existing.user_attrs.get(SPACE_ATTR)
        if stored is not None and stored != record:
            raise ConfigError(f"study: {spec.study!r} already exists in {redact(url)} with a different "
                              f"search space, objectives or base configuration; give the changed "
                              f"study a new name (the existing one is left untouched)")
    study = optuna.create_study(study_name=spec.study, storage=storage, load_if_exists=True,
                                directions=spec.directions, sampler=build_sampler(spec),
                                pruner=build_pruner(spec))
    if existing is None:
        study.set_user_attr(SPACE_ATTR, record)
    return study


def study_data(spec: StudySpec) -> DatasetSplits:
    """The data every trial trains on (the base configuration's)."""
    base = spec.trial_config({})
    return load_data(base.data, base.trainer.seed)


def check_trials_fit(spec: StudySpec, data: DatasetSplits) -> None:
    """Every grid value / range end builds a network for this data (ConfigError otherwise), one
    whose codes can be scored when trials are."""
    for dim in spec.space:
        for value in dimension_ends(dim):
            try:
                check_models_fit(spec.trial_config({dim.name: value}), data)
            except ConfigError as error:
                raise ConfigError(f"space.{dim.name}: value {value!r} cannot train: {error}") from None
            if spec.disentanglement is not None:
                check_encodes(spec.trial_config({dim.name: value}), data)


def parent_run(spec: StudySpec, study: optuna.Study, url: str, data: DatasetSplits) -> tuple[str, str]:
    """The study's one parent run (created once, found again on restart): (run id, experiment id)."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if run_id:
        return run_id, sweep_runs.reopen_parent(run_id)
    tags = {STUDY_TAG: spec.study, "dataset": spec.base.get("dataset", "digits"),
            "dataset_fingerprint": data.fingerprint(), "optuna.storage": redact(url)}
    params = {"sampler": spec.sampler, "pruner": spec.pruner, "seed": spec.seed,
              "objectives": ",".join(f"{o.metric}:{o.direction}" for o in spec.objectives),
              "n_trials": spec.budget(), "timeout_s": spec.timeout_s,
              "space": json.dumps(spec.source.get("space"), default=str)}
    run_id, experiment_id = sweep_runs.create_parent(spec.study, tags, params, spec.source)
    study.set_user_attr(PARENT_ATTR, run_id)
    return run_id, experiment_id


def settle_stale_trials(study: optuna.Study, spec: StudySpec) -> int:
    """Fail (and so re-queue) trials left RUNNING by a killed worker; returns how many.

    A RUNNING trial may also be alive on another machine, so wait out the heartbeat grace
    period before asking Optuna which ones went quiet.
    """
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return 0
    time.sleep(3 * spec.heartbeat_s + 1)
    before = len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,)))
    optuna.storages.fail_stale_trials(study)
    return len(study.get_trials(deepcopy=False, states=(TrialState.FAIL,))) - before


def budget_left(study: optuna.Study, spec: StudySpec) -> bool:
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    if waiting:
        return True
    if spec.sampler == "grid":
        return not study.sampler.is_exhausted(study)
    budget = spec.budget()
    return budget is None or len(study.get_trials(deepcopy=False, states=DONE_STATES)) < budget


def stop_when_grid_assigned(study: optuna.Study, trial: optuna.trial.FrozenTrial, grid_size: int) -> None:
    """Stop this worker once every grid point is taken and nothing waits in the queue.

    Without it, GridSampler hands a free worker a point that another worker is still running.
    """
    trials = study.get_trials(deepcopy=False)
    if any(t.state == TrialState.WAITING for t in trials):
        return
    if set(range(grid_size)) <= {t.system_attrs.get("grid_id") for t in trials}:
        study.stop()


def work(spec: StudySpec, url: str, parent_run_id: str, experiment_id: str) -> None:
    """One worker: take trials from the shared study until the budget or the grid is used up."""
    apply_worker_share()  # first: inter-op threads are fixed by the first parallel work
    configure_tracking()
    study = open_study(spec, url)
    if not budget_left(study, spec):
        return
    data = study_data(spec)
    callbacks = [MaxTrialsCallback(spec.budget(), states=DONE_STATES)] if spec.budget() else []
    if spec.sampler == "grid":
        callbacks.append(functools.partial(stop_when_grid_assigned, grid_size=spec.grid_size))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(make_objective(spec, data, parent_run_id, experiment_id),
                   timeout=spec.timeout_s, callbacks=callbacks, catch=(NonFiniteLossError,),
                   gc_after_trial=False)


def run_workers(spec_path: Path, spec: StudySpec, url: str, parent: str, experiment: str,
                n: int) -> None:
    """This process is one worker; n - 1 more start as processes (each with its share of the
    CPU threads), so the first trial starts without waiting for any process to boot."""
    threads = threads_per_worker(n)
    apply_threads(threads)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_root()), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "vae_core.cli", "sweep-worker", "--study", str(spec_path),
               "--storage", url, "--parent-run-id", parent, "--experiment-id", experiment]
    gpus = visible_gpus()
    others = [subprocess.Popen(command, env=worker_env(env, i, threads, gpus)) for i in range(1, n)]
    try:
        work(spec, url, parent, experiment)
    except BaseException:
        for process in others:
            process.terminate()
        raise
    codes = [process.wait() for process in others]
    if any(codes):
        raise RuntimeError(f"sweep workers exited with codes {codes}")


def summarise(study: optuna.Study, spec: StudySpec, parent_id: str) -> None:
    """Each finished trial's final metrics on the parent (`trial<n>/val/...`, and
    `trial<n>/disentanglement.*` when trials are scored), the best trial's by the first objective
    (`best/...`) and a description."""
    from vae_core.sweep.bridge import RUN_ATTR
    from vae_core.tracking.summaries import log_parent_summary

    children = {f"trial{t.number}": t.user_attrs[RUN_ATTR]
                for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.user_attrs.get(RUN_ATTR)}
    first = spec.objectives[0]
    objectives = ", ".join(f"{o.direction} {o.metric}" for o in spec.objectives)
    scored = spec.disentanglement is not None
    description = (f"Optuna study `{spec.study}`: {spec.sampler} search over "
                   f"{', '.join(d.name for d in spec.space)} ({objectives}); one child run per "
                   f"trial. Metrics here: each trial's final validation values (`trial<n>/val/...`)"
                   f"{' and disentanglement scores (`trial<n>/disentanglement.*`)' if scored else ''} "
                   f"and the best trial's by {first.metric} (`best/...`).")
    log_parent_summary(parent_id, children, description, first.metric,
                       prefixes=("val/", "disentanglement.") if scored else ("val/",),
                       maximize=first.direction == "maximize")


def count_states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    return counts


def close_study(study: optuna.Study, spec: StudySpec, url: str, parent_id: str,
                register: bool = True) -> SweepResult:
    """Register the champion (once a trial completed) and close the parent run: FINISHED when the
    budget is spent, KILLED otherwise (a restart continues it)."""
    # Workers return normally once the grid/n_trials is used up or timeout_s has passed.
    finished = not budget_left(study, spec) or spec.timeout_s is not None
    registered = {}
    if register and study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        registered = register_study_champions(study, spec.study, spec.register_alias)
        summarise(study, spec, parent_id)
    sweep_runs.terminate(parent_id, "FINISHED" if finished else "KILLED")
    return SweepResult(spec.study, redact(url), parent_id, count_states(study), finished, registered)


def run_sweep(spec: StudySpec, spec_path: Path, storage: str = "", n_workers: int | None = None,
              register: bool = True) -> SweepResult:
    """Validate, open or continue the study, run its workers, register the champion."""
    url = storage_url(spec, storage)
    n_workers = n_workers or spec.n_workers
    data = study_data(spec)
    check_trials_fit(spec, data)
    configure_tracking()
    study = open_study(spec, url)
    finished_parent = study.user_attrs.get(PARENT_ATTR)
    if finished_parent and not budget_left(study, spec) and sweep_runs.is_finished(finished_parent):
        # A finished study run again (`dvc repro`): nothing to train, the parent keeps its times.
        registered = register_study_champions(study, spec.study, spec.register_alias) if register else {}
        return SweepResult(spec.study, redact(url), finished_parent, count_states(study), True, registered)
    parent_id, experiment_id = parent_run(spec, study, url, data)
    try:
        settle_stale_trials(study, spec)
        run_workers(spec_path, spec, url, parent_id, experiment_id, n_workers)
    except BaseException:
        sweep_runs.terminate(parent_id, "KILLED")
        raise
    return close_study(study, spec, url, parent_id, register)
