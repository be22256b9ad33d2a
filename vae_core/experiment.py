"""A declared training experiment: validated once, then trained and recorded in MLflow.

One parent run per command, one child run per latent size. Each run carries a key (a hash
of its configuration); the same command started again finds its unfinished runs by key and
resumes them from their last saved epoch.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import mlflow
import torch

from vae_core.config import ConfigError, reject_unknown_keys, require_int_list
from vae_core.data import DatasetSplits, load_dataset, load_prepared, validate_dataset_options
from vae_core.models import ModelSpec, build_model, validate_spec
from vae_core.tracking.callback import MlflowCallback
from vae_core.tracking.store import configure_tracking, git_commit, project_root, take_outer_run_id
from vae_core.training import Callback, Trainer, TrainerConfig
from vae_core.training.progress import ProgressCallback

RUN_KEY_TAG = "vae.run_key"
KIND_TAG = "vae.kind"


@dataclass
class ExperimentConfig:
    """Everything a training command declares (a params.yaml section or CLI flags)."""

    study: str = "default"
    dataset: str = "digits"
    dataset_options: dict[str, Any] = field(default_factory=dict)
    data_file: str = ""  # a prepared .npz (the DVC `prepare` stage) instead of loading by name
    val_fraction: float = 0.2
    model: str = "vae"
    arch: str = "mlp"
    n_layers: int = 2
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    beta: float = 1.0
    latent_sizes: list[int] = field(default_factory=lambda: [2])
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    save_interval: list[int] = field(default_factory=list)  # empty: first and last epoch

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ExperimentConfig:
        reject_unknown_keys("train", values, [f.name for f in fields(cls)])
        return cls(**values).validate()

    def validate(self) -> ExperimentConfig:
        self.dataset_options = validate_dataset_options(self.dataset, dict(self.dataset_options))
        require_int_list("latent_sizes", self.latent_sizes, minimum=1)
        if not self.save_interval:
            self.save_interval = sorted({0, self.epochs})
        self.trainer_config().validate()
        for size in self.latent_sizes:
            validate_spec(self.model_spec(size))
        return self

    def model_spec(self, latent_size: int) -> ModelSpec:
        return ModelSpec(family=self.model, arch=self.arch, latent_size=latent_size,
                         n_layers=self.n_layers, likelihood=self.likelihood, sigma=self.sigma,
                         beta=self.beta)

    def trainer_config(self) -> TrainerConfig:
        return TrainerConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                             weight_decay=self.weight_decay, seed=self.seed,
                             save_interval=list(self.save_interval))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_key(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:20]


def load_data(config: ExperimentConfig) -> DatasetSplits:
    if config.data_file:
        if not Path(config.data_file).is_file():
            raise ConfigError(f"data_file: {config.data_file} does not exist; make it with "
                              f"`dvc repro prepare` (or `python -m vae_core.cli prepare --out ...`), "
                              f"or set data_file to '' to load {config.dataset!r} by name")
        splits = load_prepared(Path(config.data_file))
        if splits.name != config.dataset:
            raise ConfigError(f"data_file: {config.data_file} holds {splits.name!r}, "
                              f"not the configured dataset {config.dataset!r}")
        return splits
    return load_dataset(config.dataset, seed=config.seed, val_fraction=config.val_fraction,
                        **config.dataset_options)


def check_models_fit(config: ExperimentConfig, data: DatasetSplits) -> None:
    """Build every network once (and run one forward pass) before any run exists."""
    for size in config.latent_sizes:
        model = build_model(config.model_spec(size), data.sample_shape)
        model.eval()
        with torch.no_grad():
            model(data.train[:2])


def _find_run(experiment_id: str, key: str) -> mlflow.entities.Run | None:
    """The newest unfinished run with this key (a killed run stays RUNNING)."""
    runs = mlflow.search_runs(
        [experiment_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{key}'",
        order_by=["attributes.start_time DESC"], output_format="list", max_results=20)
    for run in runs:
        if run.info.status != "FINISHED":
            return run
    return None


STATE_DIR_ENV = "VAE_STATE_DIR"  # set by the Slurm launcher: resume state on a shared filesystem


def state_path(run_id: str) -> Path:
    return Path(os.environ.get(STATE_DIR_ENV) or project_root() / ".vae_state") / f"{run_id}.pt"


def _tags(config: ExperimentConfig, data: DatasetSplits, kind: str, key: str) -> dict[str, str]:
    return {"study": config.study, "dataset": config.dataset, "model_family": config.model,
            "git_commit": git_commit(), "dataset_fingerprint": data.fingerprint(),
            KIND_TAG: kind, RUN_KEY_TAG: key}


def _flat_params(values: dict[str, Any]) -> dict[str, str]:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": str(v) for k, v in value.items()})
        else:
            flat[key] = str(value)
    return flat


def open_run(experiment_id: str, key: str, tags: dict[str, str], params: dict[str, Any],
             run_name: str, parent_run_id: str | None = None) -> tuple[str, bool]:
    """Make the run with this key active: the unfinished one again, or a new one.

    Returns (run_id, resumed). A new run gets the tags (with the key) and the params.
    """
    existing = _find_run(experiment_id, key)
    nested = parent_run_id is not None
    if existing is not None:
        return mlflow.start_run(run_id=existing.info.run_id, nested=nested).info.run_id, True
    tags = {**tags, RUN_KEY_TAG: key}
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = mlflow.start_run(experiment_id=experiment_id, nested=nested, run_name=run_name, tags=tags)
    mlflow.log_params(_flat_params(params))
    return run.info.run_id, False


def fit_in_run(trainer: Trainer, run_id: str) -> str:
    """Fit, end the active run (FAILED if training raised), drop the resume state once done."""
    status = "failed"
    try:
        status = trainer.fit()
    finally:
        mlflow.end_run("FINISHED" if status in ("finished", "stopped") else "FAILED")
    if status == "finished":
        state_path(run_id).unlink(missing_ok=True)
    return status


def train_one(config: ExperimentConfig, data: DatasetSplits, latent_size: int,
              parent_run_id: str | None, experiment_id: str,
              extra_callbacks: tuple[Callback, ...] = (), extra_tags: dict[str, str] | None = None,
              key_extra: dict[str, Any] | None = None) -> tuple[str, str]:
    """Train one latent size in its own run (resumed if an unfinished one has the same key).

    Returns (run_id, status) with status 'finished' or 'stopped'.
    """
    values = {**config.to_dict(), "latent_size": latent_size, **(key_extra or {})}
    values.pop("latent_sizes")
    key = run_key({**values, "fingerprint": data.fingerprint()})
    tags = {**_tags(config, data, "train", key), "latent_size": str(latent_size),
            **(extra_tags or {})}
    run_id, _ = open_run(experiment_id, key, tags, {**values, "data_dim": data.data_dim},
                         f"{config.study}-{config.model}-z{latent_size}", parent_run_id)
    torch.manual_seed(config.seed)
    model = build_model(config.model_spec(latent_size), data.sample_shape)
    trainer = Trainer(model, data, config.trainer_config(),
                      callbacks=[MlflowCallback(run_id), *extra_callbacks,
                                 ProgressCallback(f"z={latent_size}")],
                      state_path=state_path(run_id))
    return run_id, fit_in_run(trainer, run_id)


@dataclass
class TrainingResult:
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    child_run_ids: dict[int, str]


def run_experiment(config: ExperimentConfig) -> TrainingResult:
    """Validate, load data, check the networks fit, then train every latent size."""
    data = load_data(config)
    check_models_fit(config, data)
    uri = configure_tracking()
    parent_key = run_key({**config.to_dict(), "fingerprint": data.fingerprint()})
    outer = take_outer_run_id()  # under `mlflow run`: adopt its run as the parent
    if outer:
        experiment_id = mlflow.get_run(outer).info.experiment_id
        parent = mlflow.start_run(run_id=outer)
    else:
        experiment_id = mlflow.set_experiment(config.study).experiment_id
        existing = _find_run(experiment_id, parent_key)
        parent = mlflow.start_run(
            run_id=existing.info.run_id if existing else None, experiment_id=experiment_id,
            run_name=f"{config.study}-{config.dataset}-{config.model}")
    parent_id = parent.info.run_id
    mlflow.set_tags(_tags(config, data, "train_parent", parent_key))
    logged = mlflow.get_run(parent_id).data.params  # `mlflow run` logs its own -P values
    mlflow.log_params({k: v for k, v in _flat_params(config.to_dict()).items() if k not in logged})
    children = {}
    try:
        for size in config.latent_sizes:
            children[size], _ = train_one(config, data, size, parent_id, experiment_id)
    except BaseException:
        mlflow.end_run("FAILED")
        raise
    mlflow.end_run("FINISHED")
    return TrainingResult(uri, experiment_id, parent_id, children)
