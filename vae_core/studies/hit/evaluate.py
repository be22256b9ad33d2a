"""Stage `evaluate`: every finished grid point's model scored on the test set (metrics.py),
logged to that model's own run at its checkpoint's epoch, and the grid's table written for DVC.

`evaluate_point` takes only picklable arguments (a run id, plain settings, a registry
reference); with `launch: {launcher: slurm}` each grid point is one task of a Slurm job array
(vae_core/launch: map_units). A point whose run already carries this evaluation (same settings
and classifier) is read back, not recomputed or resubmitted.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from pydantic import Field

from vae_core.config import ConfigError, StrictModel
from vae_core.experiment import ExperimentConfig, load_data
from vae_core.launch.fanout import check_launch, map_units
from vae_core.launch.settings import LaunchConfig
from vae_core.studies.base import StageContext
from vae_core.studies.hit.grid import classifier_name, grid_spec, sweep_parent_and_points
from vae_core.studies.hit.metrics import EvaluationSettings, evaluate_model
from vae_core.tracking import runs
from vae_core.tracking.checkpoints import load_model, run_checkpoints
from vae_core.tracking.classifiers import load_classifier
from vae_core.tracking.history import latest_metrics
from vae_core.tracking.records import log_at_step
from vae_core.tracking.store import configure_tracking

EVAL_KEY_TAG = "hit.evaluation_key"
HEADLINE = ("beta_y", "beta_z", "eval/rate_z", "eval/rate_y", "eval/neg_elbo", "ll.iwae", "recon.psnr",
            "mi.z_label", "probe.z.logreg_mean", "probe.y.logreg_mean", "clf.recon_acc", "is.mean",
            "fd_classifier")  # the DVC metrics file's numbers per grid point
METRIC_PREFIXES = ("eval/", "ll.", "recon.", "mi.", "probe.", "clf.", "is.", "fd_", "model.", "data.")


class EvaluateStageConfig(StrictModel):
    sweep_file: str = "projects/hit/sweep.yaml"
    classifier_alias: str = "current"
    settings: EvaluationSettings = Field(default_factory=EvaluationSettings)
    launch: LaunchConfig = Field(default_factory=LaunchConfig)  # slurm: one array task per grid point


def evaluation_key(settings: EvaluationSettings, classifier_reference: str) -> str:
    return runs.run_key({"settings": settings.model_dump(), "classifier": classifier_reference})


def logged_evaluation(run_id: str, key: str) -> dict[str, float] | None:
    """The evaluation run `run_id` already holds under `key`; None when it has none."""
    if runs.tags_of(run_id).get(EVAL_KEY_TAG) != key:
        return None
    return {k: v for k, v in latest_metrics(run_id).items() if k.startswith(METRIC_PREFIXES)}


def evaluate_point(run_id: str, settings: dict[str, Any], classifier_reference: str) -> dict[str, float]:
    """Score the last checkpoint of model run `run_id` and log the numbers to it (idempotent).
    Runs in a fresh process too (a job of its own): it points mlflow at the project's store."""
    configure_tracking()
    typed_settings = EvaluationSettings.model_validate(settings)
    key = evaluation_key(typed_settings, classifier_reference)
    logged = logged_evaluation(run_id, key)
    if logged is not None:
        return logged
    trained = runs.read_config(run_id, ExperimentConfig)
    data = load_data(trained.data, trained.trainer.seed)
    if data.test_labels is None:
        raise ConfigError(f"dataset: {trained.data.dataset!r} has no labels; the evaluation needs them")
    x, labels = data.test, data.test_labels
    if typed_settings.test_limit:
        x, labels = x[:typed_settings.test_limit], labels[:typed_settings.test_limit]
    checkpoints = run_checkpoints(run_id)
    if not checkpoints:
        raise ConfigError(f"sweep_file: grid run {run_id} logged no checkpoint; keep the last epoch in "
                          "the study file's save_interval")
    epoch = max(checkpoints)
    metrics = evaluate_model(load_model(run_id, epoch), load_classifier(classifier_reference), x, labels,
                             typed_settings)
    log_at_step(run_id, metrics, epoch)
    runs.set_tag(run_id, EVAL_KEY_TAG, key)
    return metrics


class EvaluatePoint:
    """evaluate_point as a picklable unit of `map_units` (a grid point's run id in, metrics out)."""

    def __init__(self, settings: EvaluationSettings, classifier_reference: str) -> None:
        self.settings, self.reference = settings.model_dump(), classifier_reference
        self.key = evaluation_key(settings, classifier_reference)

    def __call__(self, run_id: str) -> dict[str, float]:
        return evaluate_point(run_id, self.settings, self.reference)

    def finished(self, run_id: str) -> dict[str, float] | None:
        return logged_evaluation(run_id, self.key)


def evaluate(config: EvaluateStageConfig, context: StageContext) -> dict[str, Any]:
    check_launch(config.launch)
    spec = grid_spec(config.sweep_file)
    reference = f"models:/{classifier_name(spec)}@{config.classifier_alias}"
    load_classifier(reference)  # refused here, before any model is scored, when it is not registered
    _, points = sweep_parent_and_points(spec)
    unit = EvaluatePoint(config.settings, reference)
    name = f"hit-evaluate-{spec.study}-{unit.key[:8]}"
    results = map_units(unit, [p.run_id for p in points], config.launch, name,
                        [f"trial{p.trial}" for p in points], unit.finished)
    if results is None:  # submitted to Slurm without waiting: the same command collects them later
        return {"classifier": reference, "points": len(points), "submitted": True}
    rows = [{"run_id": p.run_id, "trial": p.trial, "beta_y": p.beta_y, "beta_z": p.beta_z, **metrics}
            for p, metrics in zip(points, results, strict=True)]
    table = pd.DataFrame(rows)
    context.out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(context.out_dir / "evaluation.csv", index=False)
    metrics = {f"trial{row['trial']}": {k.replace("/", "_"): row[k] for k in HEADLINE if k in row}
               for row in rows}
    (context.out_dir / "evaluate.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return {"classifier": reference, "points": len(rows), "metrics": metrics}
