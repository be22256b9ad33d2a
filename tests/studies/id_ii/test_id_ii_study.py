"""The whole S0 study (`dvc repro projects/id_ii/dvc.yaml`) on its tiny offline parameters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, subprocess_env

JSON_FILES = ("ids", "ids_gride", "imbalances_first_last", "imbalances_train",
              "imbalances_inter_dims", "geometry", "sample_quality", "kl")
FIGURES = ("id_profile", "ii_first_last", "ii_out_in_by_latent", "ii_consecutive",
           "ii_out_in_by_epoch", "ii_out_in_vs_quality", "kl_by_epoch")


@pytest.mark.slow
def test_offline_study_produces_every_file(tmp_path: Path) -> None:
    for name in ("vae_core", "projects"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "MLproject", tmp_path)
    study = tmp_path / "projects" / "id_ii"
    shutil.copy(study / "params_offline.yaml", study / "params.yaml")
    bin_dir = Path(sys.executable).parent
    env = subprocess_env(PYTHONPATH=str(tmp_path),
                         MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")
    subprocess.run([bin_dir / "dvc", "init", "--no-scm", "-q"], cwd=tmp_path, env=env, check=True)
    done = subprocess.run([bin_dir / "dvc", "repro", "projects/id_ii/dvc.yaml"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = tmp_path / "results" / "id_ii" / "digits"
    for name in JSON_FILES:
        assert (out / "geometry" / f"{name}.json").stat().st_size > 0
    for name in FIGURES:
        assert (out / "report" / "figures" / f"{name}.png").stat().st_size > 0
    ids = json.loads((out / "geometry" / "ids.json").read_text())
    assert set(ids) == {"2", "8"} and set(ids["8"]) == {"0", "1"} and len(ids["8"]["1"]) == 11
    inter = json.loads((out / "geometry" / "imbalances_inter_dims.json").read_text())
    assert set(inter) == {"2->2", "8->2", "8->8"} and len(inter["8->2"]) == 11
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert metrics["latent_8"]["epoch"] == 1
    quality = json.loads((out / "geometry" / "sample_quality.json").read_text())
    kl = json.loads((out / "geometry" / "kl.json").read_text())
    assert set(quality["8"]) == set(kl["8"]) == {"0", "1"}
    assert metrics["latent_8"]["fd_pixel"] == pytest.approx(quality["8"]["1"], abs=1e-6)
    assert metrics["latent_8"]["val_kl"] == pytest.approx(kl["8"]["1"], abs=1e-6)

