"""The MLflow bridge: each Optuna trial trains in its own child run of the study's parent run.

Written here instead of Optuna's deprecated MLflowCallback: the child run is the trainer's
own run (params, per-epoch metrics, checkpoints), tagged with the trial's number and state.
A trial that retries a killed one (same parameters) resumes that trial's run from its last
saved epoch, because the run key names the original trial. With disentanglement scoring, a
finished trial's network is scored and the scores logged to its run before the run closes and
Optuna reads the objective values from it.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

from vae_core.data import DatasetSplits
from vae_core.experiment import train_one
from vae_core.launch.task import slurm_job_id
from vae_core.sweep.disentanglement import ScoreAfterTraining, is_scored
from vae_core.sweep.search import suggest
from vae_core.sweep.spec import StudySpec
from vae_core.tracking import sweep_runs
from vae_core.training import Callback, StopTraining

STUDY_TAG = "optuna.study_name"
TRIAL_TAG = "optuna.trial_number"
STATE_TAG = "optuna.trial_state"
RETRY_TAG = "optuna.retry_of"
RUN_ATTR = "mlflow_run_id"
SKIPPED_ATTR = "skipped"
SLURM_ATTR = "slurm_job_id"


class TrialCallback(Callback):
    """Links the trial to its run as soon as it starts; with one objective, reports the
    watched metric each epoch and stops training when the pruner says so (Optuna cannot
    report intermediate values of multi-objective trials)."""

    def __init__(self, trial: optuna.Trial, metric: str, report: bool) -> None:
        self.trial = trial
        self.metric = metric
        self.report = report

    def on_train_start(self, trainer) -> None:
        run_id = sweep_runs.active_run_id()
        if run_id is not None:
            self.trial.set_user_attr(RUN_ATTR, run_id)

    def on_epoch_end(self, trainer, epoch: int, metrics: dict[str, float]) -> None:
        if not self.report or self.metric not in metrics:
            return
        if epoch in self.trial.study._storage.get_trial(self.trial._trial_id).intermediate_values:
            return
        self.trial.report(metrics[self.metric], epoch)
        if self.trial.should_prune():
            raise StopTraining(f"pruned at epoch {epoch}")


def original_trial(trial: optuna.Trial) -> int:
    """The number of the first trial in a retry chain (itself when not a retry)."""
    # RetryHeartbeatStaleTrialCallback.retried_trial_number reads this attribute.
    retried = trial.study._storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")
    return trial.number if retried is None else retried


def grid_point_taken(trial: optuna.Trial) -> bool:
    """True when parallel workers over-asked: this trial's grid point is already another's.

    Optuna's GridSampler hands out grid ids by trial number, then re-issues unfinished ones
    to keep workers busy; such a duplicate is skipped so every grid point runs once.
    """
    storage = trial.study._storage
    me = storage.get_trial(trial._trial_id)
    grid_id = me.system_attrs.get("grid_id")
    if grid_id is None or "failed_trial" in me.system_attrs:
        return False
    busy = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    return any(t.system_attrs.get("grid_id") == grid_id and t.number < me.number and t.state in busy
               for t in storage.get_all_trials(trial.study._study_id, deepcopy=False))


def make_objective(spec: StudySpec, data: DatasetSplits, parent_run_id: str, experiment_id: str):
    """The function each worker hands to study.optimize."""
    metrics = [o.metric for o in spec.objectives]

    def objective(trial: optuna.Trial) -> Any:
        params = suggest(trial, spec)
        if spec.sampler == "grid" and grid_point_taken(trial):
            trial.set_user_attr(SKIPPED_ATTR, "grid point already run by another trial")
            trial.study.stop()
            raise optuna.TrialPruned("duplicate grid point")
        if slurm_job_id():  # which Slurm task ran it, for sweep-status
            trial.set_user_attr(SLURM_ATTR, slurm_job_id())
        config = spec.trial_config(params)
        origin = original_trial(trial)
        tags = {STUDY_TAG: spec.study, TRIAL_TAG: str(trial.number), STATE_TAG: "RUNNING"}
        if origin != trial.number:
            tags[RETRY_TAG] = str(origin)
        report = len(spec.objectives) == 1 and not is_scored(metrics[0])  # per-epoch values only
        callbacks: tuple[Callback, ...] = (TrialCallback(trial, spec.prune_metric, report=report),)
        if spec.disentanglement is not None:
            callbacks += (ScoreAfterTraining(spec.disentanglement, config),)
        run_id, status = None, "failed"
        try:
            run_id, status = train_one(config, data, config.latent_sizes[0], parent_run_id, experiment_id,
                                       extra_callbacks=callbacks, extra_tags=tags,
                                       key_extra={"optuna_study": spec.study, "optuna_trial": origin})
        finally:
            run_id = run_id or trial.user_attrs.get(RUN_ATTR)
            if run_id:
                state = {"finished": "COMPLETE", "stopped": "PRUNED"}.get(status, "FAIL")
                sweep_runs.set_tags(run_id, {STATE_TAG: state, TRIAL_TAG: str(trial.number)})
        trial.set_user_attr(RUN_ATTR, run_id)
        if status == "stopped":
            raise optuna.TrialPruned()
        values = sweep_runs.final_values(run_id, metrics)
        return values[0] if len(values) == 1 else tuple(values)

    return objective
