"""The model registry: a study's best models as versions of a registered model, with aliases.

Registration is idempotent: a logged model already registered under the name keeps its
version, and aliases are simply moved.
"""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from vae_core.tracking.checkpoints import run_checkpoints

SOURCE_TAG = "vae.source"


def register_logged_model(name: str, model_id: str, aliases: tuple[str, ...] = (),
                          tags: dict[str, str] | None = None) -> str:
    """Register logged model `model_id` under `name` (once); point `aliases` at it; the version."""
    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if "RESOURCE_ALREADY_EXISTS" not in str(error.error_code):
            raise
    # search results may leave model_id empty: the version's source names the logged model too
    existing = [v for v in client.search_model_versions(f"name = '{name}'")
                if getattr(v, "model_id", None) == model_id or v.source == f"models:/{model_id}"]
    if existing:
        version = existing[0].version
    else:
        logged = mlflow.get_logged_model(model_id)
        version = client.create_model_version(name, f"models:/{model_id}", run_id=logged.source_run_id,
                                              tags=tags, model_id=model_id).version
    for alias in aliases:
        client.set_registered_model_alias(name, alias, str(version))
    return str(version)


def register_run(name: str, run_id: str, aliases: tuple[str, ...] = (),
                 tags: dict[str, str] | None = None) -> str:
    """Register a run's last checkpoint."""
    checkpoints = run_checkpoints(run_id)
    if not checkpoints:
        raise ValueError(f"run {run_id} has no logged checkpoint to register")
    return register_logged_model(name, checkpoints[max(checkpoints)], aliases, tags)


def drop_aliases_except(name: str, prefix: str, keep: set[str]) -> None:
    """Delete the aliases of `name` that start with `prefix` and are not in `keep`."""
    client = MlflowClient()
    for alias in client.get_registered_model(name).aliases:
        if alias.startswith(prefix) and alias not in keep:
            client.delete_registered_model_alias(name, alias)
