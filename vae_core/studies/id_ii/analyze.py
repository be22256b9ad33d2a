"""Geometry of trained models read back from MLflow: every checkpoint of every model, then the
cross-model matrices at each model's last checkpoint; beside it, S0's sample-quality score of
every checkpoint and the KL each model's training run logged. Metrics go to one child run per
model (epoch as step), JSON files and figures to the analysis run, JSON files to an output folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, PositiveInt, field_validator

from vae_core.analysis.layer_geometry import LayerGeometry, cross_imbalance
from vae_core.analysis.representations import temporary_store_folder
from vae_core.analysis.sample_quality import DESCRIPTION, SCORE, moments
from vae_core.config import ConfigError, IntList, Options, StrictModel, StrList
from vae_core.experiment import ExperimentConfig
from vae_core.experiment.train import finished_training
from vae_core.launch.fanout import check_launch
from vae_core.launch.settings import LaunchConfig
from vae_core.plots.geometry import geometry_figures
from vae_core.studies.base import StageContext
from vae_core.studies.id_ii.geometry_cache import GeometryCache, points_digest
from vae_core.studies.id_ii.geometry_units import (
    cache_folder,
    capture_checkpoint,
    checkpoint_geometry,
    compute_on_slurm,
    evaluation_points,
)
from vae_core.tracking import analysis_runs
from vae_core.tracking.checkpoints import checkpoints_of
from vae_core.tracking.history import metric_history
from vae_core.tracking.records import log_at_step
from vae_core.tracking.runs import logged_config
from vae_core.training.device import resolve_device

FD_METRIC = f"sample_quality.{SCORE}"
KL_METRIC = "val/kl"


class GeometryConfig(StrictModel):
    models: StrList = Field(default_factory=list)  # run ids, m-... ids or models:/NAME@ALIAS
    epochs: IntList = Field(default_factory=list)  # empty: every checkpoint
    n_points: int = Field(5000, ge=10)
    latent: Literal["mean", "sample"] = "mean"
    layers: StrList = Field(default_factory=list)  # module paths; empty: the architecture's probes
    k: int = Field(64, ge=4)
    dataset: str = ""  # empty: the one the first model was trained on
    dataset_options: Options = Field(default_factory=dict)
    seed: int = Field(0, ge=0)
    batch: PositiveInt = 256
    device: str = "auto"  # where checkpoints load and points run: auto, cpu, cuda, cuda:N, mps

    @field_validator("device")
    @classmethod
    def _device_here(cls, value: str) -> str:
        resolve_device(value)  # refused before any run when the machine lacks it
        return value


@dataclass
class ModelCheckpoints:
    label: str  # the latent size when the run records one, else the reference
    source_run_id: str | None
    uris: dict[int, str]  # epoch -> loadable model reference


def resolve(reference: str, epochs: list[int]) -> ModelCheckpoints:
    """A run's checkpoints (the requested epochs), or the single model a reference names; labelled
    by the latent size its training run declared."""
    run_id, uris = checkpoints_of(reference, epochs)
    trained = logged_config(run_id, ExperimentConfig)
    label = str(trained.model.latent_size) if trained else reference
    return ModelCheckpoints(label, run_id, uris)


def analyse_model(config: GeometryConfig, model: ModelCheckpoints, points: Any,
                  reference: tuple[np.ndarray, np.ndarray], run_id: str, cache: GeometryCache
                  ) -> tuple[dict[int, LayerGeometry], dict[int, float], dict[str, str]]:
    """Geometry of every checkpoint and, where the network decodes, fd_pixel of as many prior
    samples as points against the points' moments `reference`; logged to run_id by epoch.
    Checkpoints finished by an earlier run of the same analysis (or by an array task) are read
    from the cache."""
    digest = points_digest(points)
    results, scores, spec = {}, {}, {}
    for epoch, uri in model.uris.items():
        results[epoch], score, spec, cached = checkpoint_geometry(
            config, uri, epoch, epoch == max(model.uris), points, reference, cache, digest)
        metrics = results[epoch].metrics()
        if score is not None:
            scores[epoch] = metrics[FD_METRIC] = score
        log_at_step(run_id, metrics, epoch)
        print(f"geometry: model {model.label} epoch {epoch}{' (cached)' if cached else ''}: "
              f"ID {[round(v, 1) for v in results[epoch].ids.values()]}"
              + (f", {SCORE} {score:.4g}" if score is not None else ""), flush=True)
    return results, scores, spec


def cross_size_matrices(config: GeometryConfig, models: list[ModelCheckpoints],
                        finals: dict[str, LayerGeometry], points: Any) -> dict[str, list[list[float]]]:
    """Delta(layer i of model a -> layer j of model b) at the last checkpoints, for every pair
    with a's latent size >= b's (every ordered pair when the sizes are unknown)."""
    def size(m: ModelCheckpoints) -> float:
        return float(m.label) if str(m.label).isdigit() else float("nan")

    matrices = {}
    for target in models:
        sources = [m for m in models if not size(m) < size(target)]
        if not sources:
            continue
        epoch, uri = max(target.uris.items())
        with temporary_store_folder() as folder:
            _, store, _ = capture_checkpoint(config, uri, points, Path(folder))
            found = cross_imbalance({m.label: finals[m.label].nearest() for m in sources}, store,
                                    finals[target.label].neighbours, device=resolve_device(config.device))
            matrices.update({f"{label}->{target.label}": matrix.tolist() for label, matrix in found.items()})
    return matrices


def kl_histories(models: list[ModelCheckpoints]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """Each model's val/kl by epoch, as its training run logged it; and why a model has none."""
    runs = {m.label: m.source_run_id for m in models if m.source_run_id}
    history = metric_history(set(runs.values()), [KL_METRIC])
    kl = {label: {str(int(row.step)): float(row.value)
                  for row in history[history.run_id == run_id].itertuples()}
          for label, run_id in runs.items()}
    skipped = {m.label: "no training run to read it from" for m in models if not m.source_run_id}
    skipped.update({label: f"training run {runs[label]} logged no {KL_METRIC}"
                    for label, values in kl.items() if not values})
    return {label: values for label, values in kl.items() if values}, skipped


def _tables(results: dict[str, dict[int, LayerGeometry]]) -> dict[str, dict]:
    """The seed's layout: one JSON document per quantity, {model: {epoch: values per layer}}."""
    def per(attribute: str) -> dict:
        return {label: {str(e): list(getattr(g, attribute).values()) for e, g in epochs.items()}
                for label, epochs in results.items()}

    return {
        "ids": per("ids"),
        "ids_gride": {label: {str(e): g.gride for e, g in epochs.items()}
                      for label, epochs in results.items()},
        "imbalances_first_last": {label: {str(e): {"to_first": list(g.to_first.values()),
                                                   "to_last": list(g.to_last.values())}
                                          for e, g in epochs.items()}
                                  for label, epochs in results.items()},
        "imbalances_train": {label: {str(e): {"forward": list(g.forward.values()),
                                              "backward": list(g.backward.values())}
                                     for e, g in epochs.items()}
                             for label, epochs in results.items()},
    }


def _label_models(config: GeometryConfig) -> list[ModelCheckpoints]:
    """Every model's checkpoints, labelled by latent size (two runs of one size stay apart)."""
    if not config.models:
        raise ConfigError("models: give at least one run id, logged-model id or models:/NAME@ALIAS")
    models = [resolve(ref, config.epochs) for ref in config.models]
    for position, model in enumerate(models):
        if any(other.label == model.label for other in models[:position]):
            model.label = f"{model.label}:{config.models[position]}"
    return models


def run_geometry(config: GeometryConfig, out_dir: Path, study: str = "geometry",
                 launch: LaunchConfig | None = None) -> dict[str, Any] | None:
    """Analyse every model; JSON files to out_dir and the MLflow run, figures beside them. With
    launch slurm the checkpoints are computed by one array task per model first (None: the
    array was submitted without waiting; the same command started again collects it)."""
    launch = launch or LaunchConfig()
    check_launch(launch)
    models = _label_models(config)
    points, dataset = evaluation_points(config, models[0])
    if launch.launcher == "slurm" and not compute_on_slurm(config, models, points, launch, study):
        return None
    cache = GeometryCache(cache_folder(launch))
    reference = moments(points.numpy())
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {"models": ",".join(config.models)[:500], "n_points": len(points), "latent": config.latent,
              "k": config.k, "layers": ",".join(config.layers) or "default"}
    experiment_id = analysis_runs.experiment_of(models[0].source_run_id, study)
    with analysis_runs.analysis_run("geometry", experiment_id, {"latent_mode": config.latent,
                                                                 "dataset": dataset}, params) as parent:
        results, quality, spec = {}, {}, {}
        for model in models:
            child = analysis_runs.start_child(parent, f"geometry-{model.label}", {
                "vae.kind": "analysis", "analysis": "geometry", "latent_mode": config.latent,
                "source_run_id": model.source_run_id or ""})
            results[model.label], scores, spec = analyse_model(config, model, points, reference, child, cache)
            if scores:
                quality[model.label] = {str(epoch): value for epoch, value in scores.items()}
            analysis_runs.end_child(child)
        tables = _tables(results)
        tables["sample_quality"] = quality
        tables["kl"], kl_skipped = kl_histories(models)
        finals = {label: epochs[max(epochs)] for label, epochs in results.items()}
        if len(models) > 1:
            tables["imbalances_inter_dims"] = cross_size_matrices(config, models, finals, points)
        tables["geometry"] = {"layers": spec, "latent": config.latent, "n_points": len(points),
                              "k": config.k, "dataset": dataset,
                              "models": {m.label: m.source_run_id for m in models},
                              "sample_quality": {
                                  "score": SCORE, "description": DESCRIPTION, "n_samples": len(points),
                                  "seed": config.seed,
                                  "skipped": {label: "no encode() and decoder to sample through"
                                              for label in results if label not in quality}},
                              "kl": {"metric": KL_METRIC, "skipped": kl_skipped}}
        for name, table in tables.items():
            (out_dir / f"{name}.json").write_text(json.dumps(table, indent=1) + "\n")
        analysis_runs.log_tables(parent, tables, "geometry")
        figures = geometry_figures(tables)
        analysis_runs.log_figures(parent, figures, "geometry")
        for name, figure in figures.items():
            figure.savefig(out_dir / f"{name}.png", dpi=110)
    return tables


class AnalyzeStageConfig(GeometryConfig):
    """The analyze section of projects/id_ii/params.yaml; the models are the train stage's runs,
    analysed here or one Slurm array task per model (`launch:`)."""

    kind: Literal["geometry"] = "geometry"
    launch: LaunchConfig = Field(default_factory=LaunchConfig)


def analyze(config: AnalyzeStageConfig, context: StageContext) -> dict[str, Any]:
    check_launch(config.launch)
    declared = context.section(f"train_{context.item}" if context.item else "train", ExperimentConfig)
    _, children = finished_training(declared)
    settings = config.model_dump(exclude={"kind", "launch"})
    geometry = GeometryConfig.model_validate({**settings, "models": settings["models"] or children})
    tables = run_geometry(geometry, context.out_dir / "geometry", declared.study, config.launch)
    if tables is None:
        return {"submitted": True}
    return {"out_dir": str(context.out_dir / "geometry"), "models": tables["geometry"]["models"]}
