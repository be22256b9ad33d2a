"""Model references as a user writes them, parsed once: a run id, a logged-model id (m-...),
models:/NAME/VERSION, models:/NAME@ALIAS or models:/m-... Every failure is one line that
names the reference and what exists."""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from vae_core.config import ConfigError


@dataclass(frozen=True)
class ModelReference:
    text: str
    run_id: str | None = None  # a training run: all its checkpoints
    model_id: str | None = None  # one logged model (a checkpoint)
    registered: str | None = None  # a registered model's name, with version or alias
    version: str | None = None
    alias: str | None = None

    @property
    def movable(self) -> bool:
        """An alias can point elsewhere tomorrow: results keyed on it must not be cached."""
        return self.alias is not None


def parse_reference(text: str) -> ModelReference:
    """Split the text into its kind; nothing is looked up yet."""
    text = text.strip()
    if not text:
        raise ConfigError("model: empty reference; give a run id, m-<id>, models:/NAME/VERSION or "
                          "models:/NAME@ALIAS")
    if text.startswith("runs:/"):
        return ModelReference(text, run_id=text.removeprefix("runs:/").split("/")[0])
    body = text.removeprefix("models:/")
    if body.startswith("m-"):
        return ModelReference(text, model_id=body)
    if text.startswith("models:/"):
        if "@" in body:
            name, _, alias = body.partition("@")
            return ModelReference(text, registered=name, alias=alias)
        name, _, version = body.partition("/")
        if not version:
            raise ConfigError(f"model: {text!r} names no version or alias; write models:/{name}/1 "
                              f"or models:/{name}@champion")
        return ModelReference(text, registered=name, version=version)
    return ModelReference(text, run_id=text)


def _known_models(client: MlflowClient) -> str:
    names = [m.name for m in client.search_registered_models(max_results=20)]
    return ", ".join(names) if names else "none registered"


def resolve_registered(reference: ModelReference) -> tuple[str, str | None]:
    """(logged-model id, source run id) of a registered version or alias; one-line errors."""
    client = MlflowClient()
    try:
        if reference.alias is not None:
            version = client.get_model_version_by_alias(reference.registered, reference.alias)
        else:
            version = client.get_model_version(reference.registered, reference.version)
    except MlflowException:
        try:
            aliases = client.get_registered_model(reference.registered).aliases
            known = (f"its aliases: {', '.join(aliases) or 'none'}; versions: "
                     + ", ".join(v.version for v in client.search_model_versions(
                         f"name = '{reference.registered}'")))
        except MlflowException:
            known = f"registered models: {_known_models(client)}"
        raise ConfigError(f"model: {reference.text!r} does not exist; {known}") from None
    source = str(version.source or "").removeprefix("models:/")
    model_id = getattr(version, "model_id", None) or (source if source.startswith("m-") else None)
    if model_id is None:
        raise ConfigError(f"model: {reference.text!r} points at {version.source!r}, not a logged model")
    return model_id, version.run_id


def check_run(run_id: str) -> None:
    """Refuse a run id that the store does not hold, in one line."""
    try:
        MlflowClient().get_run(run_id)
    except MlflowException:
        raise ConfigError(f"model: {run_id!r} is neither a run id in this store, a logged-model id "
                          f"(m-...), nor models:/NAME/VERSION or models:/NAME@ALIAS") from None
