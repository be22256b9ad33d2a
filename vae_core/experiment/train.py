"""A declared training experiment, trained and recorded: one parent run per command, one
child run per latent size, each resumed from its last epoch when an unfinished run with the
same key exists. MLflow is reached only through `vae_core.tracking`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from vae_core.config import ConfigError
from vae_core.data import DatasetSplits, load_dataset, load_prepared
from vae_core.experiment.config import DataConfig, ExperimentConfig
from vae_core.launch.fanout import check_launch, map_units
from vae_core.launch.settings import STATE_DIR_ENV, scoped_state_dir
from vae_core.launch.task import slurm_job_id
from vae_core.models import build_model
from vae_core.plots.training import loss_curves_figure
from vae_core.tracking import runs
from vae_core.tracking.callback import MlflowCallback, StepMetricsCallback
from vae_core.tracking.datasets import log_dataset_input
from vae_core.tracking.history import series
from vae_core.tracking.records import log_figure
from vae_core.tracking.store import project_root
from vae_core.tracking.summaries import log_parent_summary
from vae_core.training import Callback, Trainer
from vae_core.training.device import resolve_device
from vae_core.training.progress import ProgressCallback
from vae_core.training.trainer import parameter_groups


class LossCurvesFigure(Callback):
    """When training ends, the run's train and val loss curves as figures/loss_curves.png."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        if status == "failed":
            return
        curves = {"train": series(self.run_id, "train/loss").to_dict(),
                  "val": series(self.run_id, "val/loss").to_dict()}
        log_figure(self.run_id, loss_curves_figure(curves, title=f"run {self.run_id[:8]}"),
                   "figures/loss_curves.png")


SLURM_JOB_TAG = "slurm.job_id"  # the array task that trained a run


def load_data(config: DataConfig, seed: int) -> DatasetSplits:
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
    return load_dataset(config.dataset, seed=seed, val_fraction=config.val_fraction,
                        **config.dataset_options)


def check_models_fit(config: ExperimentConfig, data: DatasetSplits) -> None:
    """Build every network once (one forward pass, its optimiser groups) before any run exists."""
    for size in config.latent_sizes:
        model = build_model(config.model_for(size), data.sample_shape)
        parameter_groups(model, config.trainer)
        model.eval()
        with torch.no_grad():
            model(data.train[:2])


def state_path(run_id: str) -> Path:
    """The resume state of a run: under VAE_STATE_DIR (a shared filesystem on a cluster) or
    .vae_state/ in the project root."""
    folder = os.environ.get(STATE_DIR_ENV) or str(project_root() / ".vae_state")
    return Path(folder) / f"{run_id}.pt"


def data_source(config: DataConfig) -> str:
    return config.data_file or f"vae_core.data registry: {config.dataset}"


def run_tags(config: ExperimentConfig, data: DatasetSplits, kind: str) -> dict[str, str]:
    return {runs.STUDY_TAG: config.study, "dataset": config.data.dataset,
            "model_family": config.model.family, "dataset_fingerprint": data.fingerprint(),
            runs.KIND_TAG: kind}


def compute_record(device: str) -> dict[str, str | int]:
    """Where this run computes: the device `device` resolved to, torch's threads, and the GPUs
    this process may see (a sweep worker gets its own)."""
    record: dict[str, str | int] = {"resolved_device": str(resolve_device(device)),
                                    "torch_threads": torch.get_num_threads(),
                                    "torch_interop_threads": torch.get_num_interop_threads()}
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        record["cuda_visible_devices"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return record


def single_size(config: ExperimentConfig, latent_size: int) -> ExperimentConfig:
    return config.model_copy(update={"latent_sizes": [latent_size], "model": config.model_for(latent_size)})


def child_key(config: ExperimentConfig, data: DatasetSplits, latent_size: int,
              key_extra: dict[str, Any] | None = None) -> str:
    """The run key of one latent size's run: its declaration, the data, and what the caller adds."""
    return runs.run_key({**single_size(config, latent_size).flat(), "fingerprint": data.fingerprint(),
                         **(key_extra or {})})


def train_one(config: ExperimentConfig, data: DatasetSplits, latent_size: int,
              parent_run_id: str | None, experiment_id: str,
              extra_callbacks: tuple[Callback, ...] = (), extra_tags: dict[str, str] | None = None,
              key_extra: dict[str, Any] | None = None, run_name: str = "",
              metric_callbacks: tuple[Callback, ...] = ()) -> tuple[str, str]:
    """Train one latent size in its own run (resumed if an unfinished one has the same key).

    `metric_callbacks` run before the epoch's metrics are logged, so what they add to the
    metrics dict is logged with them.

    Returns (run_id, status) with status 'finished', 'stopped' or 'failed'.
    """
    single = single_size(config, latent_size)
    key = child_key(config, data, latent_size, key_extra)
    tags = {**run_tags(config, data, "train"), "latent_size": str(latent_size), **(extra_tags or {})}
    name = run_name or f"{config.study}-{config.model.family}-z{latent_size}"
    run_id, resumed = runs.open_run(experiment_id, key, tags, name, parent_run_id,
                                    system_metrics=config.trainer.system_metrics)
    if not resumed:
        runs.log_config(run_id, single)
        runs.log_params({"latent_size": latent_size, "data_dim": data.data_dim,
                         "steps_per_epoch": math.ceil(data.train.shape[0] / config.trainer.batch_size),
                         **compute_record(config.trainer.device)})
        log_dataset_input(config.data.dataset, data.fingerprint(), data_source(config.data))
    torch.manual_seed(config.trainer.seed)
    model = build_model(single.model, data.sample_shape)
    step_logger = ([StepMetricsCallback(run_id, config.trainer.log_every_steps)]
                   if config.trainer.log_every_steps else [])
    callbacks: list[Callback] = [*metric_callbacks, MlflowCallback(run_id), *step_logger, *extra_callbacks,
                                 ProgressCallback(f"z={latent_size}"), LossCurvesFigure(run_id)]
    trainer = Trainer(model, data, config.trainer, callbacks=callbacks, state_path=state_path(run_id))
    status = "failed"
    try:
        status = trainer.fit()
    finally:
        runs.end_run(status in ("finished", "stopped"))
    if status == "finished":
        state_path(run_id).unlink(missing_ok=True)
    return run_id, status


@dataclass
class TrainingResult:
    experiment_id: str
    parent_run_id: str
    child_run_ids: dict[int, str]
    submitted: bool = False  # sent to Slurm without waiting: no children collected yet


class TrainLatentSize:
    """One latent size trained in its child run under the parent, wherever it is called (here,
    or in a Slurm array task, which tags the run with its job id). The data set is not pickled
    into the job: the task loads it again, refused if its fingerprint differs (a data_file the
    nodes do not share)."""

    def __init__(self, config: ExperimentConfig, parent_run_id: str, experiment_id: str,
                 data: DatasetSplits) -> None:
        self.config, self.parent_run_id, self.experiment_id = config, parent_run_id, experiment_id
        self.data: DatasetSplits | None = data
        self.fingerprint = data.fingerprint()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "data": None}

    def __call__(self, latent_size: int) -> str:
        if self.data is None:
            self.data = load_data(self.config.data, self.config.trainer.seed)
            if self.data.fingerprint() != self.fingerprint:
                raise ConfigError(f"data_file: {self.config.data.data_file or self.config.data.dataset} "
                                  f"differs on this node ({self.data.fingerprint()} != {self.fingerprint}); "
                                  f"put it on the filesystem every node shares")
        job = slurm_job_id()
        run_id, _ = train_one(self.config, self.data, latent_size, self.parent_run_id, self.experiment_id,
                              extra_tags={SLURM_JOB_TAG: job} if job else None)
        return run_id

    def finished(self, latent_size: int) -> str | None:
        """The child run this latent size finished under the parent already (a resumed parent)."""
        key = child_key(self.config, self.data, latent_size)
        found = runs.find_runs(self.experiment_id, {runs.RUN_KEY_TAG: key,
                                                    "mlflow.parentRunId": self.parent_run_id},
                               finished_only=True, max_results=1)
        return found[0].info.run_id if found else None


def parent_key(config: ExperimentConfig, data: DatasetSplits) -> str:
    # "role" keeps a one-size parent's key apart from its only child's
    return runs.run_key({**config.flat(), "fingerprint": data.fingerprint(), "role": "parent"})


def run_experiment(config: ExperimentConfig, stage: str = "train") -> TrainingResult:
    """Refuse a launch that cannot work, load data, check the networks fit (before any run), then
    train every latent size not finished yet under the parent run: here, or one Slurm array
    task each (config.launch). Without waiting, the parent is left SCHEDULED and the same
    command started again collects the children."""
    check_launch(config.launch)
    data = load_data(config.data, config.trainer.seed)
    check_models_fit(config, data)
    key = parent_key(config, data)
    tags = {**run_tags(config, data, "train_parent"), runs.STAGE_TAG: stage,
            runs.CONFIG_KEY_TAG: runs.run_key(config.flat())}
    parent_id, experiment_id = runs.open_parent(
        config.study, key, tags, f"{config.study}-{config.data.dataset}-{config.model.family}")
    runs.log_config(parent_id, config)
    unit = TrainLatentSize(config, parent_id, experiment_id, data)
    status = "FAILED"
    try:
        with scoped_state_dir(config.launch.state_dir, project_root()):
            trained = map_units(unit, config.latent_sizes, config.launch,
                                f"train-{config.study}-{parent_id[:8]}",
                                [f"z{size}" for size in config.latent_sizes], unit.finished)
        if trained is None:  # resumed (by key) when the command is started again
            status = "SCHEDULED"
            return TrainingResult(experiment_id, parent_id, {}, submitted=True)
        children = dict(zip(config.latent_sizes, trained))
        log_parent_summary(parent_id, {f"z{size}": run for size, run in children.items()}, describe(config))
        status = "FINISHED"
    finally:
        runs.end_run_as(status)
    return TrainingResult(experiment_id, parent_id, children)


def describe(config: ExperimentConfig) -> str:
    """The parent run's description in the UI."""
    sizes = ", ".join(str(s) for s in config.latent_sizes)
    return (f"Training of study `{config.study}`: {config.model.family} ({config.model.arch}, "
            f"{config.model.likelihood}) on {config.data.dataset}, latent sizes {sizes}, "
            f"{config.trainer.epochs} epochs; one child run per latent size. Metrics here: each "
            f"child's final validation values (`z<size>/val/...`) and the best child's "
            f"(`best/val/...`, lowest val/neg_elbo: beta-free).")


def finished_training(config: ExperimentConfig, stage: str = "train") -> tuple[str, list[str]]:
    """(parent run id, child run ids) of the newest finished training of exactly this declaration."""
    parent = runs.latest_stage_run(config.study, stage, config_key=runs.run_key(config.flat()))
    return parent.info.run_id, [r.info.run_id for r in runs.child_runs(parent.info.run_id)]
