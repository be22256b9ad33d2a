"""Refusals before anything goes to Slurm (a sweep's workers or a stage's units): a tracking
store compute nodes cannot share, a missing Slurm client, a partition the cluster does not
have. Each names the fix."""

from __future__ import annotations

import shutil
import subprocess

from vae_core.config import ConfigError
from vae_core.tracking.store import redact

SLURM_COMMANDS = ("sbatch", "srun", "squeue", "scancel", "sinfo")
SHARED_TRACKING_SCHEMES = ("http://", "https://", "databricks", "postgresql", "mysql", "mssql")


def check_shared_tracking(uri: str) -> None:
    """A tracking URI every compute node reaches: an MLflow server (or its database)."""
    if not uri.startswith(SHARED_TRACKING_SCHEMES):
        raise ConfigError(f"MLFLOW_TRACKING_URI: launcher slurm needs a tracking store every compute node "
                          f"can reach, and {redact(uri)!r} is a file store on this machine; start an MLflow "
                          f"server (mlflow server --backend-store-uri postgresql+psycopg2://... "
                          f"--serve-artifacts) and export MLFLOW_TRACKING_URI=http://tracking-host:5000 "
                          f"(docs/scale-out.md)")


def check_slurm_commands() -> None:
    missing = [name for name in SLURM_COMMANDS if shutil.which(name) is None]
    if missing:
        raise ConfigError(f"launcher: slurm needs the Slurm client commands on PATH; not found: "
                          f"{', '.join(missing)}; run from a login node of the cluster (or load its "
                          f"module), or use launcher: local")


def cluster_partitions() -> list[str]:
    """The partitions `sinfo` lists (the default one marked '*' there, unmarked here)."""
    try:
        done = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"launcher: slurm: `sinfo` did not answer ({error}); is slurmctld reachable "
                          f"(SLURM_CONF)?") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no output"])[0]
        raise ConfigError(f"launcher: slurm: `sinfo` failed: {first}; is slurmctld reachable (SLURM_CONF)?")
    return [name.rstrip("*") for name in done.stdout.split()]


def check_partition(partition: str | None) -> None:
    known = cluster_partitions()
    if partition is not None and partition not in known:
        raise ConfigError(f"slurm.partition: the cluster has no partition {partition!r}; allowed values: "
                          f"{', '.join(known) or '(none: sinfo lists no partition)'}")


def check_slurm_ready(tracking_uri: str, partition: str | None) -> None:
    """Every refusal a Slurm launch shares, cheapest first: nothing is submitted unless all pass."""
    check_shared_tracking(tracking_uri)
    check_slurm_commands()
    check_partition(partition)
