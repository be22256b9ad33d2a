"""Shared fixtures: an isolated MLflow store per test session, and small data sets on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import mlflow_server, postgres, slurm_cluster  # noqa: F401 (one of each per session)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite store for the whole session (creating its tables takes seconds)."""
    import mlflow

    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    return uri


@pytest.fixture(autouse=True)
def _session_store_after_each_test(tracking_uri: str):
    """Tests that read another store (a copy of the repo, a server) point mlflow there; put it
    back, and drop any run or experiment left active, so the next test sees the session store."""
    import mlflow

    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        os.environ.pop(name, None)
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    mlflow.set_tracking_uri(tracking_uri)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tracking_uri: str) -> Path:
    """Run in a fresh folder (state files, artifacts) against the session's store."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    """The real command line, in a subprocess, with the project importable."""
    full_env = subprocess_env(PYTHONPATH=str(ROOT), **(env or {}))
    full_env.setdefault("MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI", ""))
    return subprocess.run([sys.executable, "-m", "vae_core.cli", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a command-line run: this venv first on PATH, and no MLflow run or
    experiment leaking in from the test process (mlflow sets some of these itself)."""
    leaked = {"MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID",
              "VAE_STATE_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    return {**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}", **extra}
