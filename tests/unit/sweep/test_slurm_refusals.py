"""`launcher: slurm` refuses, before any study, run or job exists, what compute nodes cannot
share (a SQLite study, a file tracking store) and a machine without the Slurm commands."""

from __future__ import annotations

import mlflow
import pytest

from tests.sweep_helpers import write_study
from vae_core.cli.__main__ import main

UNREACHABLE_PG = "postgresql://nobody@127.0.0.1:9/optuna"  # never contacted: refused first


@pytest.fixture
def slurm_study(workdir):
    return write_study(workdir, "refused", launcher="slurm")


def refusal(capsys, *args: str) -> str:
    assert main(["sweep", *args]) == 2
    return capsys.readouterr().err


def nothing_was_created(workdir) -> bool:
    return not list(workdir.glob(".optuna/*.db")) and mlflow.get_experiment_by_name("refused") is None


@pytest.mark.parametrize("storage", ["", "sqlite:///{workdir}/optuna.db"])
def test_a_sqlite_study_is_refused_with_postgresql_named(storage, slurm_study, workdir, capsys):
    args = ["--study", str(slurm_study)] + (["--storage", storage.format(workdir=workdir)] if storage else [])
    error = refusal(capsys, *args)
    assert "storage: launcher slurm needs a study every compute node can reach" in error
    assert "use PostgreSQL: storage: postgresql://" in error
    assert nothing_was_created(workdir)


@pytest.mark.parametrize("uri", ["sqlite:///{workdir}/mlflow.db", "file://{workdir}/mlruns",
                                 "{workdir}/mlruns"])
def test_a_file_tracking_store_is_refused_with_a_server_named(uri, slurm_study, workdir, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri.format(workdir=workdir))
    error = refusal(capsys, "--study", str(slurm_study), "--storage", UNREACHABLE_PG)
    assert "MLFLOW_TRACKING_URI: launcher slurm needs a tracking store every compute node can reach" in error
    assert "start an MLflow server" in error and "export MLFLOW_TRACKING_URI=http://" in error
    assert not list(workdir.glob("mlruns")) and not list(workdir.glob("*.db"))


def test_the_command_line_launcher_overrides_a_local_study_file(workdir, capsys):
    local = write_study(workdir, "refused", launcher="local")
    error = refusal(capsys, "--study", str(local), "--launcher", "slurm")
    assert "storage: launcher slurm" in error


def test_no_sbatch_on_path_is_refused(slurm_study, workdir, capsys, monkeypatch):
    bare = workdir / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))  # no Slurm client (nor anything else) on PATH
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    error = refusal(capsys, "--study", str(slurm_study), "--storage", UNREACHABLE_PG)
    assert "launcher: slurm needs the Slurm client commands on PATH; not found: sbatch, srun, squeue, " \
           "scancel, sinfo" in error
    assert "use launcher: local" in error
    (bare / "sbatch").write_text("#!/bin/sh\n")
    (bare / "sbatch").chmod(0o755)
    error = refusal(capsys, "--study", str(slurm_study), "--storage", UNREACHABLE_PG)
    assert "not found: srun, squeue, scancel, sinfo" in error
