"""A data set's image classifier (S2's evaluation yardstick) as an MLflow logged model, registered
in the model registry, and loaded back from it: a self-describing torch file (channels, classes,
width, weights) like the VAE checkpoints, so nothing is pickled."""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import torch
from mlflow import MlflowClient
from mlflow.entities import LoggedModelOutput, LoggedModelStatus

from vae_core.config import ConfigError
from vae_core.models.classifier import ImageClassifier
from vae_core.tracking.checkpoints import resolve_model_id
from vae_core.tracking.registry import register_logged_model

CLASSIFIER_NAME = "classifier"
CLASSIFIER_FILE = "classifier.pt"
FORMAT = "vae_core.classifier/1"


def log_classifier(model: ImageClassifier, run_id: str, tags: dict[str, str]) -> str:
    """Log the classifier as a logged model of run `run_id`; returns its id."""
    client = MlflowClient()
    first = model.body[0]
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    record = {"format": FORMAT, "channels": first.in_channels, "n_classes": model.n_classes,
              "width": first.out_channels, "state_dict": weights}
    logged = mlflow.initialize_logged_model(
        name=CLASSIFIER_NAME, source_run_id=run_id, experiment_id=client.get_run(run_id).info.experiment_id,
        tags={"vae.format": FORMAT, **tags})
    with tempfile.TemporaryDirectory() as folder:
        torch.save(record, Path(folder) / CLASSIFIER_FILE)
        client.log_model_artifacts(logged.model_id, folder)
    client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged.model_id


def register_classifier(model: ImageClassifier, run_id: str, name: str, alias: str,
                        tags: dict[str, str]) -> str:
    """Log and register the classifier as a version of `name` with `alias`; returns the version."""
    return register_logged_model(name, log_classifier(model, run_id, tags), (alias,), tags)


def load_classifier(reference: str, device: str = "cpu") -> ImageClassifier:
    """The classifier a models:/NAME@ALIAS (or /VERSION, or m-...) reference names, in eval mode."""
    model_id = resolve_model_id(reference)
    logged = mlflow.get_logged_model(model_id)
    if logged.tags.get("vae.format") != FORMAT:
        raise ConfigError(f"classifier: {reference} is not an image classifier ({FORMAT}); register one "
                          f"with the study's classifier stage")
    with tempfile.TemporaryDirectory() as folder:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{logged.artifact_location.rstrip('/')}/{CLASSIFIER_FILE}", dst_path=folder)
        record = torch.load(path, map_location=device, weights_only=True)
    model = ImageClassifier(record["channels"], record["n_classes"], record["width"])
    model.load_state_dict(record["state_dict"])
    return model.to(device).eval()


def registered_key(name: str, alias: str, tag: str) -> str | None:
    """Tag `tag` of the version `name@alias` points at; None when there is no such version."""
    try:
        version = MlflowClient().get_model_version_by_alias(name, alias)
    except mlflow.exceptions.MlflowException:
        return None
    return version.tags.get(tag)
