"""Checkpoints as MLflow logged models (tagged with their epoch), and loading them back by
run id, logged-model id or `models:/NAME@ALIAS`."""

from __future__ import annotations

import mlflow
import mlflow.pytorch
from torch import nn

from vae_core.config import ConfigError

CHECKPOINT_NAME = "checkpoint"
EPOCH_TAG = "epoch"


def _pip_requirements() -> list[str]:
    import torch

    return [f"torch=={torch.__version__.split('+')[0]}", f"mlflow=={mlflow.__version__}"]


def log_checkpoint(model: nn.Module, run_id: str, epoch: int) -> str:
    """Log the whole module (pickle) under the active run `run_id`; returns the model id."""
    active = mlflow.active_run()
    if active is None or active.info.run_id != run_id:
        raise RuntimeError(f"log_checkpoint needs run {run_id} to be the active MLflow run")
    info = mlflow.pytorch.log_model(
        model, name=CHECKPOINT_NAME, step=epoch, tags={EPOCH_TAG: str(epoch)},
        pip_requirements=_pip_requirements(), serialization_format="pickle")
    return info.model_id


def run_checkpoints(run_id: str) -> dict[int, str]:
    """Epoch -> logged-model id of every READY checkpoint of a run."""
    run = mlflow.get_run(run_id)
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{CHECKPOINT_NAME}'",
        output_format="list")
    return {int(m.tags[EPOCH_TAG]): m.model_id for m in models
            if EPOCH_TAG in m.tags and str(m.status).endswith("READY")}


def logged_checkpoint_epochs(run_id: str) -> set[int]:
    return set(run_checkpoints(run_id))


def resolve_model_uri(reference: str, epoch: int | None = None) -> str:
    """A loadable URI from a run id (its last checkpoint, or `epoch`), a logged-model id
    ('m-...'), or any models:/ or runs:/ URI."""
    if reference.startswith(("models:/", "runs:/")):
        return reference
    if reference.startswith("m-"):
        return f"models:/{reference}"
    checkpoints = run_checkpoints(reference)
    if not checkpoints:
        raise ConfigError(f"model: run {reference!r} has no logged checkpoints; train it with "
                          f"save_interval including an epoch, or pass a models:/ URI")
    if epoch is None:
        epoch = max(checkpoints)
    if epoch not in checkpoints:
        raise ConfigError(f"epoch: run {reference} has no checkpoint at epoch {epoch}; "
                          f"allowed values: {', '.join(map(str, sorted(checkpoints)))}")
    return f"models:/{checkpoints[epoch]}"


def load_model(reference: str, epoch: int | None = None) -> nn.Module:
    model = mlflow.pytorch.load_model(resolve_model_uri(reference, epoch), map_location="cpu")
    model.eval()
    return model
