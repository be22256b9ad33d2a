"""One checkpoint's geometry (and sample quality), computed once into the geometry cache; and
S0's models as units of work: with `launch: slurm` each model's checkpoints are computed by one
Slurm array task into the cache on the shared state_dir, and the analysis then reads them back
and logs them as if computed in place (the cross-size matrices stay with the analysis)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from vae_core.analysis.layer_geometry import LayerGeometry, layer_geometry
from vae_core.analysis.representations import (
    LayerStore,
    capture,
    decodes,
    layer_spec,
    prior_samples,
    temporary_store_folder,
)
from vae_core.analysis.sample_quality import frechet_distance, moments
from vae_core.config import ConfigError
from vae_core.experiment import DataConfig, ExperimentConfig, load_data
from vae_core.launch.fanout import map_units
from vae_core.launch.settings import LaunchConfig, state_dir_path
from vae_core.studies.id_ii.geometry_cache import GeometryCache, cache_key, points_digest
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.runs import logged_config, run_key
from vae_core.tracking.store import project_root
from vae_core.training.device import resolve_device

if TYPE_CHECKING:
    from vae_core.studies.id_ii.analyze import GeometryConfig, ModelCheckpoints


def cache_folder(launch: LaunchConfig) -> Path:
    """Under the state folder (VAE_STATE_DIR, else launch.state_dir in the project root), where
    array tasks and the analysis both find it."""
    return state_dir_path(launch.state_dir, project_root()) / "geometry"


def evaluation_points(config: GeometryConfig, first: ModelCheckpoints) -> tuple[Any, str]:
    """The first n_points test points of the data set the first model was trained on."""
    trained = logged_config(first.source_run_id, ExperimentConfig)
    if not config.dataset and trained is None:
        raise ConfigError("dataset: the model has no training run to read it from; pass --dataset")
    if config.dataset:
        data = DataConfig(dataset=config.dataset, dataset_options=config.dataset_options)
    else:
        data = trained.data
        if data.data_file and not Path(data.data_file).is_file():
            data = data.model_copy(update={"data_file": ""})
    seed = trained.trainer.seed if trained else config.seed
    splits = load_data(data, seed)
    if config.n_points > len(splits.test):
        print(f"geometry: n_points {config.n_points} capped to the {len(splits.test)} test points "
              f"of {data.dataset}", flush=True)
    return splits.test[:config.n_points], data.dataset


def capture_checkpoint(config: GeometryConfig, uri: str, points: Any, folder: Path
                       ) -> tuple[nn.Module, LayerStore, dict[str, str]]:
    device = resolve_device(config.device)
    model = load_model(uri, device=str(device))
    spec = layer_spec(model, config.layers or None)
    store = capture(model, points.to(device), spec, folder, latent=config.latent, seed=config.seed)
    return model, store, spec


def checkpoint_key(config: GeometryConfig, uri: str, epoch: int, digest: str) -> str | None:
    settings = {"latent": config.latent, "layers": config.layers, "k": config.k, "seed": config.seed}
    return cache_key(uri, epoch, digest, settings)


def checkpoint_geometry(config: GeometryConfig, uri: str, epoch: int, last: bool, points: Any,
                        reference: tuple[np.ndarray, np.ndarray], cache: GeometryCache, digest: str
                        ) -> tuple[LayerGeometry, float | None, dict[str, str], bool]:
    """(geometry, fd_pixel or None, probed layers, read from the cache?) of one checkpoint; a
    computed one is saved to the cache. Neighbour lists are kept for the last checkpoint only
    (they serve the cross-size matrices)."""
    key = checkpoint_key(config, uri, epoch, digest)
    cached = cache.load(key, with_neighbours=last)
    if cached:
        return (*cached, True)
    with temporary_store_folder() as folder:
        network, store, spec = capture_checkpoint(config, uri, points, Path(folder))
        geometry = layer_geometry(store, k=config.k, device=resolve_device(config.device))
    if not last:
        geometry.neighbours.clear()
    score = None
    if decodes(network):
        samples = prior_samples(network, points, len(points), config.seed).numpy()
        score = frechet_distance(*moments(samples), *reference)
    cache.save(key, geometry, score, spec)
    return geometry, score, spec, False


class CacheModel:
    """One model's checkpoints into the cache, wherever it is called (a Slurm array task). The
    evaluation points are loaded again there, refused if they differ from the submitter's."""

    def __init__(self, config: GeometryConfig, first: ModelCheckpoints, digest: str, folder: Path) -> None:
        self.config, self.first, self.digest, self.folder = config, first, digest, folder

    def __call__(self, model: ModelCheckpoints) -> str:
        points, dataset = evaluation_points(self.config, self.first)
        if points_digest(points) != self.digest:
            raise ConfigError(f"dataset: the evaluation points of {dataset!r} differ on this node; put "
                              f"the data (data_file) on the filesystem every node shares")
        reference, cache = moments(points.numpy()), GeometryCache(self.folder)
        for epoch, uri in model.uris.items():
            checkpoint_geometry(self.config, uri, epoch, epoch == max(model.uris), points, reference, cache,
                                self.digest)
        return model.label

    def finished(self, model: ModelCheckpoints) -> str | None:
        """The model's label when the cache holds every checkpoint of it already."""
        cache = GeometryCache(self.folder)
        keys = {epoch: checkpoint_key(self.config, uri, epoch, self.digest)
                for epoch, uri in model.uris.items()}
        complete = all(cache.has(key, with_neighbours=epoch == max(keys)) for epoch, key in keys.items())
        return model.label if complete else None


def compute_on_slurm(config: GeometryConfig, models: list[ModelCheckpoints], points: Any,
                     launch: LaunchConfig, study: str) -> bool:
    """Every cacheable model's checkpoints computed by one array task each (those cached
    already skipped); False when the array was submitted without waiting."""
    digest = points_digest(points)
    cacheable = [m for m in models if all(checkpoint_key(config, u, e, digest) for e, u in m.uris.items())]
    unit = CacheModel(config, models[0], digest, cache_folder(launch))
    name = f"geometry-{study}-" + run_key({"models": [sorted(m.uris.items()) for m in cacheable],
                                           "config": config.model_dump(mode="json"), "points": digest})[:8]
    done = map_units(unit, cacheable, launch, name, [m.label for m in cacheable], unit.finished)
    return done is not None
