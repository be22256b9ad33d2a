"""Checkpoints as MLflow logged models, self-describing (nanoGPT style): the weights, the
family's typed config, the data shape and the epoch in one torch file, with the epoch as the
logged model's step. Loading rebuilds the network through the model registry, so a checkpoint
survives moving or renaming the classes that made it (nothing is pickled)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import torch
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus
from torch import nn

from vae_core.config import ConfigError
from vae_core.models import build_model, model_config
from vae_core.tracking.references import check_run, parse_reference, resolve_registered

CHECKPOINT_NAME = "checkpoint"
CHECKPOINT_FILE = "checkpoint.pt"
EPOCH_TAG = "epoch"
FORMAT = "vae_core.checkpoint/1"


def checkpoint_dict(model: nn.Module, epoch: int) -> dict[str, Any]:
    """Everything needed to rebuild `model`: tensors and plain values only (weights_only loads)."""
    return {"format": FORMAT, "model_config": model.config.model_dump(),
            "sample_shape": list(model.sample_shape), "epoch": int(epoch),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def rebuild(checkpoint: dict[str, Any], source: str = "checkpoint") -> nn.Module:
    """The network a checkpoint dict describes, with its weights, in eval mode."""
    missing = {"model_config", "sample_shape", "state_dict"} - set(checkpoint)
    if missing:
        raise ConfigError(f"model: {source} lacks {', '.join(sorted(missing))}; a checkpoint is a dict "
                          f"with model_config, sample_shape and state_dict")
    model = build_model(model_config(checkpoint["model_config"]), tuple(checkpoint["sample_shape"]))
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise ConfigError(f"model: the weights of {source} do not fit its config: {error}") from None
    return model.eval()


def log_checkpoint(model: nn.Module, run_id: str, epoch: int) -> str:
    """Log one checkpoint of run `run_id` as a logged model (step = epoch); returns its id."""
    client = MlflowClient()
    run = client.get_run(run_id)
    logged = mlflow.initialize_logged_model(
        name=CHECKPOINT_NAME, source_run_id=run_id, experiment_id=run.info.experiment_id,
        tags={EPOCH_TAG: str(epoch), "vae.format": FORMAT, "model_family": model.config.family},
        params={k: str(v) for k, v in model.config.model_dump().items()})
    with tempfile.TemporaryDirectory() as folder:
        torch.save(checkpoint_dict(model, epoch), Path(folder) / CHECKPOINT_FILE)
        client.log_model_artifacts(logged.model_id, folder)
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=epoch)])
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged.model_id


def run_checkpoints(run_id: str) -> dict[int, str]:
    """Epoch -> logged-model id of every READY checkpoint of a run."""
    run = MlflowClient().get_run(run_id)
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{CHECKPOINT_NAME}'", output_format="list")
    return {int(m.tags[EPOCH_TAG]): m.model_id for m in models
            if EPOCH_TAG in m.tags and str(m.status).endswith("READY")}


def resolve_model_id(reference: str, epoch: int | None = None) -> str:
    """The logged-model id a reference means: a run's checkpoint at `epoch` (default: its last),
    a logged model, or a registered version or alias."""
    parsed = parse_reference(reference)
    if parsed.model_id:
        return parsed.model_id
    if parsed.registered:
        return resolve_registered(parsed)[0]
    check_run(parsed.run_id)
    checkpoints = run_checkpoints(parsed.run_id)
    if not checkpoints:
        raise ConfigError(f"model: run {parsed.run_id!r} has no logged checkpoints; train it with "
                          f"save_interval including an epoch, or pass a models:/ URI")
    epoch = max(checkpoints) if epoch is None else epoch
    if epoch not in checkpoints:
        raise ConfigError(f"epoch: run {parsed.run_id} has no checkpoint at epoch {epoch}; "
                          f"allowed values: {', '.join(map(str, sorted(checkpoints)))}")
    return checkpoints[epoch]


def load_model(reference: str, epoch: int | None = None, device: str = "cpu") -> nn.Module:
    """Load a checkpoint onto `device` by run id (+ epoch), m-... id, or models:/ reference."""
    model_id = resolve_model_id(reference, epoch)
    try:
        logged = mlflow.get_logged_model(model_id)
    except mlflow.exceptions.MlflowException:
        raise ConfigError(f"model: no logged model {model_id!r} in this store") from None
    if logged.tags.get("vae.format") != FORMAT:  # logged before checkpoints were self-describing
        from mlflow import pytorch as mlflow_pytorch

        return mlflow_pytorch.load_model(f"models:/{model_id}", map_location=device).eval()
    with tempfile.TemporaryDirectory() as folder:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{logged.artifact_location.rstrip('/')}/{CHECKPOINT_FILE}", dst_path=folder)
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    return rebuild(checkpoint, reference).to(device)


def checkpoints_of(reference: str, epochs: list[int]) -> tuple[str | None, dict[int, str]]:
    """(source run id, epoch -> loadable reference): a run's checkpoints (the requested epochs,
    default all), or the single logged model a model reference names (at its epoch tag)."""
    parsed = parse_reference(reference)
    if parsed.run_id:
        check_run(parsed.run_id)
        found = run_checkpoints(parsed.run_id)
        if not found:
            raise ConfigError(f"model: run {reference!r} has no logged checkpoints")
        missing = sorted(set(epochs) - set(found))
        if missing:
            raise ConfigError(f"epochs: run {reference} has no checkpoint at {missing}; "
                              f"allowed values: {', '.join(map(str, sorted(found)))}")
        return parsed.run_id, {e: f"models:/{found[e]}" for e in sorted(epochs or found)}
    model_id = resolve_model_id(reference)
    try:
        logged = mlflow.get_logged_model(model_id)
    except mlflow.exceptions.MlflowException:
        raise ConfigError(f"model: no logged model {model_id!r} in this store") from None
    return logged.source_run_id, {int(logged.tags.get(EPOCH_TAG, 0)): reference}
