"""The model registry: a study's best models as versions of a registered model, with aliases.

Registration is idempotent: a logged model already registered under the name keeps its
version, and aliases are simply moved.
"""

from __future__ import annotations

import mlflow
import optuna
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from vae_core.tracking.models import run_checkpoints

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
    existing = [v for v in client.search_model_versions(f"name = '{name}'")
                if getattr(v, "model_id", None) == model_id]
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


def register_study_champions(study: optuna.Study, name: str, alias: str = "champion") -> dict[str, str]:
    """The best trial (one objective) or the Pareto set (two) as registered versions.

    Two objectives: every Pareto trial gets alias `pareto-<trial number>`; `alias` goes to the
    Pareto trial best in the first objective. Returns alias -> version.
    """
    from vae_core.sweep.bridge import RUN_ATTR

    best = [t for t in study.best_trials if t.user_attrs.get(RUN_ATTR)]
    if not best:
        return {}
    sign = 1 if study.directions[0] == optuna.study.StudyDirection.MINIMIZE else -1
    best.sort(key=lambda t: sign * t.values[0])
    registered: dict[str, str] = {}
    for rank, trial in enumerate(best):
        aliases = (alias,) if rank == 0 else ()
        if len(study.directions) > 1:
            aliases += (f"pareto-{trial.number}",)
        tags = {"optuna.study_name": name, "optuna.trial_number": str(trial.number),
                "optuna.values": ",".join(f"{v:.6g}" for v in trial.values)}
        version = register_run(name, trial.user_attrs[RUN_ATTR], aliases, tags)
        registered.update({a: version for a in aliases})
    client = MlflowClient()
    for old in client.get_registered_model(name).aliases:  # trials that left the Pareto front
        if old.startswith("pareto-") and old not in registered:
            client.delete_registered_model_alias(name, old)
    return registered
