"""S3's report: per configuration the fold-averaged curves and its best fold's figures (logged on
the configuration's run and written under results/ae_vs_vae/figures/<name>/), the comparison
table (CSV and an MLflow table), the seed's findings checked as rows, and metrics.json for DVC.

It finds the train stage's runs from params.yaml's train section (no run ids in files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from pydantic import Field, NonNegativeInt, PositiveInt

from vae_core.analysis.findings import check_findings
from vae_core.analysis.sample_quality import SCORE
from vae_core.config import StrictModel
from vae_core.data import DatasetSplits
from vae_core.experiment import ExperimentConfig, load_data
from vae_core.plots.ae_vs_vae import metric_curves_figure
from vae_core.studies.ae_vs_vae.fold_metrics import FIXED
from vae_core.studies.ae_vs_vae.model_figures import fd_pixel, model_figures
from vae_core.studies.ae_vs_vae.train import BEST_FOLD_TAG, FOLD_TAG, trained_configurations
from vae_core.studies.base import StageContext
from vae_core.tracking import runs
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.history import final_metrics, metric_history
from vae_core.tracking.records import log_figure, log_table

CURVES = ("loss", "recon", "kl", *FIXED)


class ReportConfig(StrictModel):
    n_samples: PositiveInt = Field(1000, ge=2)  # samples decoded for fd_pixel
    seed: NonNegativeInt = 0


def fold_runs(configuration_run: str) -> dict[int, str]:
    return {int(r.data.tags[FOLD_TAG]): r.info.run_id for r in runs.child_runs(configuration_run)
            if FOLD_TAG in r.data.tags}


def curves_figure(folds: dict[int, str], family: str) -> plt.Figure:
    """Mean +- std over folds per epoch of every curve metric, train and val."""
    metrics = [m for m in CURVES if family != "ae" or m != "kl"]
    history = metric_history(folds.values(), [f"{split}/{m}" for split in ("train", "val") for m in metrics])
    history[["split", "name"]] = history.metric.str.split("/", n=1, expand=True)
    history["fold"] = history.run_id.map({run_id: fold for fold, run_id in folds.items()})
    table = history.pivot_table(index=["fold", "step", "split"], columns="name", values="value").reset_index()
    return metric_curves_figure(table.rename(columns={"step": "epoch"}), metrics)


def configuration_row(name: str, run_id: str, config: ExperimentConfig, fd: float) -> dict[str, Any]:
    model = config.model
    names = [f"folds.test_{m}.{s}" for m in ("loss", "recon", *FIXED) for s in ("mean", "std")]
    stats = final_metrics(run_id, names)
    return {"configuration": name, "dataset": config.data.dataset, "family": model.family,
            "latent_size": model.latent_size, "n_layers": model.n_layers,
            "beta": getattr(model, "beta", float("nan")), "prior_mean": str(getattr(model, "prior_mean", "")),
            "prior_var": str(getattr(model, "prior_var", "")),
            "test_recon": stats["folds.test_recon.mean"], "test_recon_std": stats["folds.test_recon.std"],
            **{k.removeprefix("folds.").replace(".", "_"): v for k, v in stats.items()
               if not k.startswith("folds.test_recon.")},
            SCORE: fd, "best_fold": int(runs.tags_of(run_id)[BEST_FOLD_TAG])}


def report_configuration(name: str, run_id: str, config: ExperimentConfig, data: DatasetSplits,
                         settings: ReportConfig, out: Path) -> dict[str, Any]:
    """Figures of one configuration (logged and written) and its row of the comparison table."""
    folds = fold_runs(run_id)
    best = int(runs.tags_of(run_id)[BEST_FOLD_TAG])
    model = load_model(folds[best])
    size = config.model.latent_size
    figures = {"curves": curves_figure(folds, config.model.family),
               **model_figures(model, data, size, settings.seed)}
    (out / name).mkdir(parents=True, exist_ok=True)
    for figure_name, figure in figures.items():
        figure.savefig(out / name / f"{figure_name}.png", dpi=100)
        log_figure(run_id, figure, f"figures/{figure_name}.png")
        plt.close(figure)
    fd = fd_pixel(model, data, size, min(settings.n_samples, max(len(data.test), 2)), settings.seed)
    return configuration_row(name, run_id, config, fd)


def findings(table: pd.DataFrame) -> pd.DataFrame:
    """The seed's findings per data set, on test_recon and fd_pixel (as frechet_distance)."""
    parts = []
    for dataset, rows in table.groupby("dataset", sort=False):
        checked = check_findings(rows.rename(columns={SCORE: "frechet_distance"}))
        parts.append(checked.assign(dataset=dataset, measure=f"test_recon (nats, per-sample sum); {SCORE}"))
    return pd.concat(parts, ignore_index=True)


def report(config: ReportConfig, context: StageContext) -> dict[str, Any]:
    trained = trained_configurations(context)
    out = context.out_dir
    figures_dir = out / "figures"
    data: dict[str, DatasetSplits] = {}
    rows = []
    with runs.stage_run(context.study, context.stage, "report", config) as report_run:
        for name, (run_id, declared) in trained.items():
            dataset = declared.data.dataset
            if dataset not in data:
                data[dataset] = load_data(declared.data, declared.trainer.seed)
            rows.append(report_configuration(name, run_id, declared, data[dataset], config, figures_dir))
        table = pd.DataFrame(rows)
        checked = findings(table)
        log_table(report_run, table, "tables/comparison.json")
        log_table(report_run, checked.astype({"holds": str}), "tables/findings.json")
    table.to_csv(out / "comparison.csv", index=False)
    checked.to_csv(out / "findings.csv", index=False)
    metrics = {row["configuration"]: {"test_recon_mean": round(row["test_recon"], 6),
                                      "test_recon_std": round(row["test_recon_std"], 6),
                                      SCORE: round(row[SCORE], 6)} for row in rows}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
