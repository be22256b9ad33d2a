"""Stage `report`: the library's S2 figures over every evaluated grid point (each metric over the
(R(z), R(y|z)) plane and against the total rate, coloured by (log beta_z, log beta_y), with the
frontier; probe accuracy against I_q(z; L) under Fano's bound), logged to the sweep's parent run
and written to out_dir for `dvc plots` with the grid's table."""

from __future__ import annotations

import json
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pydantic import Field

from vae_core.config import ConfigError, StrictModel, StrList
from vae_core.plots.hit import fano_figure, rate_plane_figure, total_rate_figure
from vae_core.studies.base import StageContext
from vae_core.studies.hit.evaluate import EVAL_KEY_TAG, METRIC_PREFIXES
from vae_core.studies.hit.grid import grid_spec, sweep_parent_and_points
from vae_core.tracking import runs
from vae_core.tracking.analysis_runs import log_figures
from vae_core.tracking.history import latest_metrics
from vae_core.tracking.records import log_table

# metric -> whether higher is better (the frontier's direction)
METRICS = {
    "eval/neg_elbo": False, "ll.iwae": True, "recon.psnr": True, "mi.z_label": True,
    "probe.z.logreg_mean": True, "probe.z.svm_rbf": True, "probe.z.svm_linear": True, "probe.z.knn": True,
    "probe.y.logreg_mean": True, "probe.y.svm_rbf": True, "probe.y.svm_linear": True, "probe.y.knn": True,
    "clf.recon_acc": True, "is.mean": True, "is.diversity": True, "is.sharpness": True,
    "fd_classifier": False,
}
FIGURE_FOLDER = "figures"


class ReportStageConfig(StrictModel):
    sweep_file: str = "projects/hit/sweep.yaml"
    metrics: StrList = Field(default_factory=lambda: list(METRICS))
    fano_probe: str = "probe.z.logreg_mean"  # the accuracy drawn under Fano's bound
    dpi: int = Field(100, ge=20)


def grid_table(sweep_file: str) -> tuple[str, pd.DataFrame]:
    """(the sweep's parent run, one row per evaluated grid point with rate_z and rate_y)."""
    parent, points = sweep_parent_and_points(grid_spec(sweep_file))
    rows = []
    for point in points:
        if EVAL_KEY_TAG not in runs.tags_of(point.run_id):
            continue
        metrics = {k: v for k, v in latest_metrics(point.run_id).items() if k.startswith(METRIC_PREFIXES)}
        rows.append({"run_id": point.run_id, "trial": point.trial, "beta_y": point.beta_y,
                     "beta_z": point.beta_z, "rate_z": metrics["eval/rate_z"],
                     "rate_y": metrics["eval/rate_y"], **metrics})
    if not rows:
        raise ConfigError(f"sweep_file: no grid point of {sweep_file} is evaluated; run the evaluate "
                          "stage first")
    return parent, pd.DataFrame(rows).sort_values("trial").reset_index(drop=True)


def figures(table: pd.DataFrame, config: ReportStageConfig) -> dict[str, plt.Figure]:
    unknown = [m for m in [*config.metrics, config.fano_probe] if m not in METRICS]
    if unknown:
        raise ConfigError(f"metrics: unknown metric {unknown[0]!r}; allowed values: {', '.join(METRICS)}")
    drawn = {}
    for metric in config.metrics:
        name = metric.replace("/", "_").replace(".", "_")
        drawn[f"plane_{name}"] = rate_plane_figure(table, metric, METRICS[metric])
        drawn[f"total_rate_{name}"] = total_rate_figure(table, metric, METRICS[metric])
    drawn["fano"] = fano_figure(table, config.fano_probe, "mi.z_label", float(table["mi.h_label"].iloc[0]),
                                int(table["data.n_classes"].iloc[0]))
    return drawn


def report(config: ReportStageConfig, context: StageContext) -> dict[str, Any]:
    parent, table = grid_table(config.sweep_file)
    drawn = figures(table, config)
    folder = context.out_dir / "report"
    (folder / FIGURE_FOLDER).mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "grid.csv", index=False)
    for name, figure in drawn.items():
        figure.savefig(folder / FIGURE_FOLDER / f"{name}.png", dpi=config.dpi)
    log_figures(parent, drawn, "report")
    log_table(parent, table, "report/grid.json")
    for figure in drawn.values():
        plt.close(figure)
    summary = {"parent_run_id": parent, "points": len(table), "figures": sorted(drawn)}
    (folder / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
