"""Stage `evaluate`: every finished grid point's model scored on the test set (metrics.py),
logged to that model's own run at its checkpoint's epoch, and the grid's table written for DVC.

`evaluate_point` takes only picklable arguments (a run id, plain settings, a registry
reference) so the points can go out as separate jobs (e.g. a Slurm array). A point whose run
already carries this evaluation (same settings and classifier) is read back, not recomputed.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from pydantic import Field

from vae_core.config import ConfigError, StrictModel
from vae_core.experiment import ExperimentConfig, load_data
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


def _logged_evaluation(run_id: str) -> dict[str, float]:
    metrics = latest_metrics(run_id)
    return {k: v for k, v in metrics.items() if k.startswith(METRIC_PREFIXES)}


def evaluate_point(run_id: str, settings: dict[str, Any], classifier_reference: str) -> dict[str, float]:
    """Score the last checkpoint of model run `run_id` and log the numbers to it (idempotent).
    Runs in a fresh process too (a job of its own): it points mlflow at the project's store."""
    configure_tracking()
    typed_settings = EvaluationSettings.model_validate(settings)
    key = runs.run_key({"settings": typed_settings.model_dump(), "classifier": classifier_reference})
    if runs.tags_of(run_id).get(EVAL_KEY_TAG) == key:
        return _logged_evaluation(run_id)
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


def evaluate(config: EvaluateStageConfig, context: StageContext) -> dict[str, Any]:
    spec = grid_spec(config.sweep_file)
    reference = f"models:/{classifier_name(spec)}@{config.classifier_alias}"
    load_classifier(reference)  # refused here, before any model is scored, when it is not registered
    _, points = sweep_parent_and_points(spec)
    rows = []
    for point in points:
        metrics = evaluate_point(point.run_id, config.settings.model_dump(), reference)
        rows.append({"run_id": point.run_id, "trial": point.trial, "beta_y": point.beta_y,
                     "beta_z": point.beta_z, **metrics})
        print(f"hit evaluate: trial {point.trial} (beta_y {point.beta_y:g}, beta_z {point.beta_z:g}) done",
              flush=True)
    table = pd.DataFrame(rows)
    context.out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(context.out_dir / "evaluation.csv", index=False)
    metrics = {f"trial{row['trial']}": {k.replace("/", "_"): row[k] for k in HEADLINE if k in row}
               for row in rows}
    (context.out_dir / "evaluate.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return {"classifier": reference, "points": len(rows), "metrics": metrics}
