"""The train stage any study uses: train the declared latent sizes into MLflow, then write the
final validation metrics as the stage's DVC metrics file (small, git-tracked, so `dvc exp show`
compares experiments). The next stage finds the runs in MLflow by the declaration's key."""

from __future__ import annotations

import json
from typing import Any

from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.studies.base import StageContext
from vae_core.tracking.history import final_metrics

SUMMARY = ("train/loss", "val/loss", "val/recon", "val/kl")
METRICS_FILE = "train_metrics.json"


def train(config: ExperimentConfig, context: StageContext) -> dict[str, Any]:
    """Train (here, or one Slurm array task per latent size: the section's `launch:`); without
    waiting for the array no metrics are written: the same command started again collects them."""
    result = run_experiment(config, stage=context.stage)
    if result.submitted:
        return {"parent_run_id": result.parent_run_id, "experiment_id": result.experiment_id,
                "submitted": True}
    summary = {f"latent_{size}": {name.replace("/", "_"): value
                                  for name, value in final_metrics(run_id, SUMMARY).items()}
               for size, run_id in result.child_run_ids.items()}
    context.out_dir.mkdir(parents=True, exist_ok=True)
    (context.out_dir / METRICS_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return {"parent_run_id": result.parent_run_id, "experiment_id": result.experiment_id,
            "runs": {str(k): v for k, v in result.child_run_ids.items()}}
