"""A sweep's refusals before anything goes to Slurm: its Optuna study must be a database server
every node reaches; the rest (tracking store, Slurm client, partition) is every launch's
(vae_core/launch/checks.py)."""

from __future__ import annotations

from vae_core.config import ConfigError
from vae_core.launch.checks import check_slurm_ready
from vae_core.tracking.store import redact


def check_shared_storage(url: str) -> None:
    """An Optuna storage every compute node reaches: a database server, not a file."""
    if url.startswith("sqlite"):
        raise ConfigError(f"storage: launcher slurm needs a study every compute node can reach, and "
                          f"{redact(url)!r} is a SQLite file on this machine; use PostgreSQL: storage: "
                          f"postgresql://user@db-host:5432/optuna (docs/scale-out.md)")


def check_slurm_launch(storage_url: str, tracking_uri: str, partition: str | None) -> None:
    """Every refusal, cheapest first: nothing is submitted unless all pass."""
    check_shared_storage(storage_url)
    check_slurm_ready(tracking_uri, partition)
