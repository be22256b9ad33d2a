"""Geometry of trained models read back from MLflow: every checkpoint of every model, then the
cross-model matrices at each model's last checkpoint; beside it, S0's sample-quality score of
every checkpoint and the KL each model's training run logged. Metrics go to one child run per
model (epoch as step), JSON files and figures to the analysis run, JSON files to an output folder.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric
from torch import nn

from vae_core.analysis.geometry_cache import GeometryCache, cache_key, points_digest
from vae_core.analysis.layer_geometry import LayerGeometry, cross_imbalance, layer_geometry
from vae_core.analysis.representations import (
    LayerStore,
    capture,
    decodes,
    layer_spec,
    prior_samples,
    temporary_store_folder,
)
from vae_core.analysis.sample_quality import DESCRIPTION, SCORE, frechet_distance, moments
from vae_core.config import ConfigError, require_choice, require_int
from vae_core.data import DatasetSplits
from vae_core.experiment import ExperimentConfig, load_data
from vae_core.plots.geometry import geometry_figures
from vae_core.tracking.models import EPOCH_TAG, load_model, run_checkpoints
from vae_core.tracking.queries import metric_history
from vae_core.tracking.store import configure_tracking, git_commit, project_root, take_outer_run_id

FD_METRIC = f"sample_quality.{SCORE}"
KL_METRIC = "val/kl"
CACHE_FOLDER = Path(".vae_state") / "geometry"  # under the project root, beside training's resume state


@dataclass
class GeometryConfig:
    models: list[str]  # run ids, logged-model ids or models:/NAME@ALIAS
    epochs: list[int] = field(default_factory=list)  # empty: every checkpoint
    n_points: int = 5000
    latent: str = "mean"
    layers: list[str] = field(default_factory=list)  # module paths; empty: S0's 11 probes
    k: int = 64
    dataset: str = ""  # empty: the one the first model was trained on
    dataset_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def validate(self) -> GeometryConfig:
        if not self.models:
            raise ConfigError("model: give at least one run id, logged-model id or models:/NAME@ALIAS")
        require_choice("latent", self.latent, ("mean", "sample"))
        require_int("n_points", self.n_points, minimum=10)
        require_int("k", self.k, minimum=4)
        return self


@dataclass
class ModelCheckpoints:
    label: str  # the latent size when the run records one, else the reference
    source_run_id: str | None
    uris: dict[int, str]  # epoch -> loadable model reference


def resolve(reference: str, epochs: list[int]) -> ModelCheckpoints:
    """A run's checkpoints (the requested epochs), or the single model a reference names."""
    client = MlflowClient()
    if reference.startswith(("models:/", "m-")):
        name = reference.removeprefix("models:/")
        if "@" in name or "/" in name:
            registered, _, version_or_alias = name.replace("@", "/", 1).partition("/")
            version = (client.get_model_version_by_alias(registered, version_or_alias) if "@" in name
                       else client.get_model_version(registered, version_or_alias))
            source = str(version.source or "").removeprefix("models:/")
            model_id = version.model_id or (source if source.startswith("m-") else None)
            run_id = version.run_id
        else:
            model_id, run_id = name, None
        logged = mlflow.get_logged_model(model_id) if model_id and model_id.startswith("m-") else None
        run_id = run_id or (logged.source_run_id if logged else None)
        epoch = int(logged.tags.get(EPOCH_TAG, 0)) if logged else 0
        uris = {epoch: reference}
    else:
        run_id = reference
        uris = {e: reference for e in run_checkpoints(reference)}
        if not uris:
            raise ConfigError(f"model: run {reference!r} has no logged checkpoints")
        if epochs:
            missing = sorted(set(epochs) - set(uris))
            if missing:
                raise ConfigError(f"epochs: run {reference} has no checkpoint at {missing}; "
                                  f"allowed values: {', '.join(map(str, sorted(uris)))}")
            uris = {e: uris[e] for e in epochs}
    params = client.get_run(run_id).data.params if run_id else {}
    return ModelCheckpoints(params.get("latent_size", reference), run_id, dict(sorted(uris.items())))


def evaluation_points(config: GeometryConfig, first: ModelCheckpoints) -> tuple[np.ndarray, str]:
    """The first n_points test points of the dataset the first model was trained on."""
    params = MlflowClient().get_run(first.source_run_id).data.params if first.source_run_id else {}
    dataset = config.dataset or params.get("dataset", "")
    if not dataset:
        raise ConfigError("dataset: the model has no training run to read it from; pass --dataset")
    options = config.dataset_options or {
        key.removeprefix("dataset_options."): None if value == "None" else yaml.safe_load(value)
        for key, value in params.items() if key.startswith("dataset_options.")}
    data_file = params.get("data_file", "") if not config.dataset else ""
    experiment = ExperimentConfig(
        dataset=dataset, dataset_options=options,
        data_file=data_file if data_file and Path(data_file).is_file() else "",
        seed=int(params.get("seed", config.seed)),
        val_fraction=float(params.get("val_fraction", 0.2)))
    splits: DatasetSplits = load_data(experiment)
    return splits.test[:config.n_points], dataset


def _checkpoint(config: GeometryConfig, uri: str, epoch: int | None, points: Any, folder: Path
                ) -> tuple[nn.Module, LayerStore, dict[str, str]]:
    model = load_model(uri, epoch)
    spec = layer_spec(model, config.layers or None)
    return model, capture(model, points, spec, folder, latent=config.latent, seed=config.seed), spec


def _epoch_arg(uri: str, epoch: int) -> int | None:
    return None if uri.startswith(("models:/", "m-")) else epoch


def analyse_model(config: GeometryConfig, model: ModelCheckpoints, points: Any,
                  reference: tuple[np.ndarray, np.ndarray], client: MlflowClient, run_id: str
                  ) -> tuple[dict[int, LayerGeometry], dict[int, float], dict[str, str]]:
    """Geometry of every checkpoint and, where the network decodes, fd_pixel of as many prior
    samples as points against the points' moments `reference`; logged to run_id by epoch.
    Checkpoints finished by an earlier run of the same analysis are read from the cache."""
    cache = GeometryCache(project_root() / CACHE_FOLDER)
    settings = {"latent": config.latent, "layers": config.layers, "k": config.k, "seed": config.seed}
    digest = points_digest(points)
    results, scores, spec = {}, {}, {}
    for epoch, uri in model.uris.items():
        last = epoch == max(model.uris)  # neighbour lists serve the cross-size matrices only
        key = cache_key(uri, epoch, digest, settings)
        cached = cache.load(key, with_neighbours=last)
        if cached:
            results[epoch], score, spec = cached
        else:
            with temporary_store_folder() as folder:
                network, store, spec = _checkpoint(config, uri, _epoch_arg(uri, epoch), points, Path(folder))
                results[epoch] = layer_geometry(store, k=config.k)
            if not last:
                results[epoch].neighbours.clear()
            score = None
            if decodes(network):
                samples = prior_samples(network, points, len(points), config.seed).numpy()
                score = frechet_distance(*moments(samples), *reference)
            cache.save(key, results[epoch], score, spec)
        metrics = results[epoch].metrics()
        if score is not None:
            scores[epoch] = metrics[FD_METRIC] = score
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(name, value, now, epoch) for name, value in metrics.items()],
                         synchronous=True)
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
            _, store, _ = _checkpoint(config, uri, _epoch_arg(uri, epoch), points, Path(folder))
            found = cross_imbalance({m.label: finals[m.label].nearest() for m in sources}, store,
                                    finals[target.label].neighbours)
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


def run_geometry(config: GeometryConfig, out_dir: Path) -> dict[str, Any]:
    """Analyse every model; JSON files to out_dir and the MLflow run, figures to the run."""
    config.validate()
    configure_tracking()
    client = MlflowClient()
    models = [resolve(ref, config.epochs) for ref in config.models]
    for position, model in enumerate(models):  # two runs of one latent size stay apart
        if any(other.label == model.label for other in models[:position]):
            model.label = f"{model.label}:{config.models[position]}"
    points, dataset = evaluation_points(config, models[0])
    reference = moments(points.numpy())
    out_dir.mkdir(parents=True, exist_ok=True)
    outer = take_outer_run_id()
    experiment_id = None
    if not outer and models[0].source_run_id:
        experiment_id = client.get_run(models[0].source_run_id).info.experiment_id
    parent = mlflow.start_run(run_id=outer, experiment_id=None if outer else experiment_id,
                              run_name=None if outer else "geometry")
    try:
        mlflow.set_tags({"vae.kind": "analysis", "analysis": "geometry", "git_commit": git_commit(),
                         "latent_mode": config.latent, "dataset": dataset})
        # prefixed: under `mlflow run` the run already holds the entry point's own parameters
        mlflow.log_params({"geometry.models": ",".join(config.models)[:500],
                           "geometry.n_points": len(points), "geometry.latent": config.latent,
                           "geometry.k": config.k, "geometry.layers": ",".join(config.layers) or "S0"})
        results, quality, spec = {}, {}, {}
        for model in models:
            tags = {"vae.kind": "analysis", "analysis": "geometry", "latent_mode": config.latent,
                    "mlflow.parentRunId": parent.info.run_id,
                    "source_run_id": model.source_run_id or ""}
            child = client.create_run(parent.info.experiment_id, run_name=f"geometry-{model.label}",
                                      tags=tags)
            results[model.label], scores, spec = analyse_model(config, model, points, reference, client,
                                                               child.info.run_id)
            if scores:
                quality[model.label] = {str(epoch): value for epoch, value in scores.items()}
            client.set_terminated(child.info.run_id)
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
            mlflow.log_dict(table, f"geometry/{name}.json")
        for name, figure in geometry_figures(tables).items():
            mlflow.log_figure(figure, f"geometry/{name}.png")
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")
    return tables
