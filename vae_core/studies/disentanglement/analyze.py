"""`analyze --kind disentanglement`: every ground-truth metric (MIG, DCI, SAP, modularity,
explicitness, FactorVAE, BetaVAE) of each model's last checkpoint, UDR across the models, and
one table and figure of the metrics against a swept parameter (beta by default) over seeds.

Each model is scored with the same seed, on fresh images rendered from the factor data set it
was trained on (rebuilt from its training config), its code being the encoder's mean. Metrics
go to the model's training run (at the checkpoint's epoch) and to one child run per model under
the analysis run; the table (JSON, CSV) and figure go to out_dir and the analysis run.

Cost: at disentanglement_lib's counts (10000 training / 5000 test codes) DCI's gradient-boosted
trees dominate, minutes per model on a CPU (n_jobs runs factors in threads); pass smaller
num_train/num_test for a quick look (the tests use a few hundred).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from vae_core.analysis.disentanglement import udr
from vae_core.analysis.disentanglement.codes import encode_means
from vae_core.analysis.disentanglement.scoring import ScoringConfig, score_network
from vae_core.analysis.disentanglement.udr import KL_THRESHOLD
from vae_core.config import ConfigError, Options, StrList
from vae_core.data.factors import FactorDataset, sample_factor_indices
from vae_core.experiment import DataConfig, ExperimentConfig
from vae_core.experiment.train import finished_training
from vae_core.plots.disentanglement import metrics_vs_param_figure
from vae_core.studies.base import StageContext
from vae_core.studies.disentanglement.models import AnalysedModel, resolve_model, shared_data
from vae_core.tracking import analysis_runs
from vae_core.tracking.records import log_at_step, log_table

UDR_POINTS = 1000  # disentanglement_lib's udr_sklearn num_data_points
KIND = "disentanglement"


class DisentanglementConfig(ScoringConfig):
    models: StrList = Field(default_factory=list)  # training run ids (or their checkpoints' ids)
    udr_points: int = Field(UDR_POINTS, ge=2)
    kl_threshold: float = Field(KL_THRESHOLD, ge=0.0)  # UDR: a dimension with more mean KL is active
    param: str = "beta"  # the swept training parameter the figure is drawn against
    dataset: str = ""  # empty: the factor data set the models were trained on
    dataset_options: Options = Field(default_factory=dict)


def udr_scores(config: DisentanglementConfig, models: list[AnalysedModel],
               dataset: FactorDataset) -> list[dict[str, float]]:
    """UDR of each model against the others, from the codes of one shared set of images."""
    rng = np.random.default_rng(config.seed)
    images = dataset.render(sample_factor_indices(dataset, config.udr_points, rng))
    encoded = [encode_means(m.network, images, config.encode_batch) for m in models]
    return udr([codes for codes, _ in encoded], [kl.mean(0) for _, kl in encoded],
               kl_threshold=config.kl_threshold)


def _resolve(config: DisentanglementConfig) -> tuple[list[AnalysedModel], DataConfig, FactorDataset]:
    if not config.models:
        raise ConfigError("models: give at least one training run id of a model trained on a factor "
                          "data set")
    models = [resolve_model(reference, config.param) for reference in config.models]
    override = (DataConfig(dataset=config.dataset, dataset_options=config.dataset_options)
                if config.dataset else None)
    return models, *shared_data(models, override)


def _write(table: pd.DataFrame, figure: Any, out_dir: Path, param: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "table.csv", index=False)
    (out_dir / "table.json").write_text(table.to_json(orient="records", indent=1) + "\n")
    figure.savefig(out_dir / f"metrics_vs_{param}.png", dpi=110)


def run_disentanglement(config: DisentanglementConfig, out_dir: Path) -> dict[str, Any]:
    """Score every model, UDR across them (two or more), log and write the table and figure."""
    models, data, dataset = _resolve(config)
    params = {**config.model_dump(exclude={"models", "dataset_options"}), "dataset": data.dataset,
              "models": ",".join(config.models)[:500]}
    experiment_id = analysis_runs.experiment_of(models[0].run_id, KIND)
    with analysis_runs.analysis_run(KIND, experiment_id, {"dataset": data.dataset}, params) as parent:
        rows = []
        for model in models:
            metrics = score_network(config, model.network, dataset)
            rows.append({"model": model.reference, "run_id": model.run_id, "epoch": model.epoch,
                         config.param: model.param, "seed": model.seed,
                         "latent_size": model.trained.model.latent_size, **metrics})
            print(f"{KIND}: {model.reference} ({config.param} {model.param:g}, seed {model.seed}): "
                  + ", ".join(f"{k.removeprefix(KIND + '.')} {v:.3f}" for k, v in metrics.items()),
                  flush=True)
        if len(models) > 1:
            for row, score in zip(rows, udr_scores(config, models, dataset)):
                row.update(score)
        for model, row in zip(models, rows):
            metrics = {k: v for k, v in row.items() if k.startswith(f"{KIND}.")}
            log_at_step(model.run_id, metrics, model.epoch)
            child = analysis_runs.start_child(parent, f"{KIND}-{model.reference}", {
                "vae.kind": "analysis", "analysis": KIND, "source_run_id": model.run_id})
            log_at_step(child, metrics, model.epoch)
            analysis_runs.end_child(child)
        table = pd.DataFrame(rows)
        metric_columns = [c for c in table if c.startswith(f"{KIND}.")]
        figure = metrics_vs_param_figure(table, param=config.param, metrics=metric_columns, seed="seed")
        _write(table, figure, out_dir, config.param)
        log_table(parent, table, f"{KIND}/table.json")
        analysis_runs.log_figures(parent, {f"metrics_vs_{config.param}": figure}, KIND)
    summary = {"models": {m.reference: m.run_id for m in models}, "dataset": data.dataset,
               "param": config.param, "metrics": metric_columns,
               "udr": "computed" if len(models) > 1 else "skipped: needs two or more models"}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {KIND: summary, "table": table.to_dict(orient="records")}


class AnalyzeStageConfig(DisentanglementConfig):
    """The analyze section of a study's params.yaml; empty models: the runs of the newest
    finished training of each section named in `trainings` (every latent size)."""

    kind: Literal["disentanglement"] = "disentanglement"
    trainings: StrList = Field(default_factory=lambda: ["train"])


def analyze(config: AnalyzeStageConfig, context: StageContext) -> dict[str, Any]:
    models = list(config.models)
    if not models:
        for section in config.trainings:  # one latent size trains in the parent run itself
            parent, children = finished_training(context.section(section, ExperimentConfig))
            models += children or [parent]
    settings = DisentanglementConfig.model_validate(
        {**config.model_dump(exclude={"kind", "trainings"}), "models": models})
    return run_disentanglement(settings, context.out_dir / KIND)[KIND]
