"""The default study's report: final metrics for `dvc metrics`, curves for `dvc plots`, a figure.

It reads the train stage's declaration from params.yaml, finds that training in MLflow by its
key, and reads each child run's history back: no run ids are handed over in files.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from vae_core.config import StrictModel, StrList
from vae_core.experiment import ExperimentConfig
from vae_core.experiment.train import finished_training
from vae_core.plots.training import loss_curves_figure
from vae_core.studies.base import StageContext
from vae_core.tracking.history import final_metrics, metric_history
from vae_core.tracking.runs import read_config


class ReportConfig(StrictModel):
    metrics: StrList = Field(default_factory=lambda: ["train/loss", "val/loss", "val/recon", "val/kl"])
    curve: str = "val/loss"  # the metric drawn per latent size in loss_curves.csv / .png


def report(config: ReportConfig, context: StageContext) -> dict[str, Any]:
    declared = context.section("train", ExperimentConfig)
    _, children = finished_training(declared)
    sizes = {run_id: read_config(run_id, ExperimentConfig).model.latent_size for run_id in children}
    metrics = {f"latent_{sizes[run_id]}": {name.replace("/", "_"): value
                                           for name, value in final_metrics(run_id, config.metrics).items()}
               for run_id in children}
    history = metric_history(children, [config.curve])
    history["latent_size"] = history.run_id.map(sizes)
    curves = history.pivot(index="step", columns="latent_size", values="value")
    curves.columns = [f"z{c}" for c in curves.columns]
    curves = curves.rename_axis("epoch").reset_index()
    out = context.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    curves.to_csv(out / "loss_curves.csv", index=False)
    figure = loss_curves_figure({c: curves.set_index("epoch")[c].dropna().to_dict() for c in curves.columns
                                 if c != "epoch"}, title=f"{config.curve} by latent size")
    figure.savefig(out / "loss_curves.png", dpi=120)
    return metrics
