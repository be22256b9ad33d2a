"""`analyze --kind geometry` on models read back from MLflow: runs, aliases, user-named layers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from tests.conftest import ROOT, subprocess_env
from vae_core.analysis.geometry_runner import GeometryConfig, resolve, run_geometry
from vae_core.cli.__main__ import main
from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.tracking.models import run_checkpoints

MLP_LAYERS = ["input", "encoder.body", "latent", "decoder.body.1", "output"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> dict[int, str]:
    """Two small MLP VAEs, trained in a scratch folder (their artifacts and state files go there)."""
    config = ExperimentConfig.from_dict({
        "study": "geometry_runner_test", "dataset": "digits", "arch": "mlp", "latent_sizes": [2, 3],
        "epochs": 1, "batch_size": 256, "save_interval": [0, 1]})
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("geometry_runner"))
    try:
        return run_experiment(config).child_run_ids
    finally:
        os.chdir(here)


def test_run_geometry_logs_metrics_json_and_cross_matrices(workdir: Path, trained: dict[int, str]) -> None:
    config = GeometryConfig(models=[trained[2], trained[3]], n_points=120, layers=MLP_LAYERS, k=16)
    tables = run_geometry(config, workdir / "out")
    for name in ("ids", "ids_gride", "imbalances_first_last", "imbalances_train",
                 "imbalances_inter_dims", "geometry"):
        assert json.loads((workdir / "out" / f"{name}.json").read_text()) == tables[name]
    assert set(tables["ids"]) == {"2", "3"} and set(tables["ids"]["2"]) == {"0", "1"}
    assert len(tables["ids"]["3"]["1"]) == len(MLP_LAYERS)
    assert set(tables["imbalances_inter_dims"]) == {"2->2", "3->2", "3->3"}
    # a network compared with itself: each layer predicts itself perfectly (Delta = 2/N)
    self_matrix = tables["imbalances_inter_dims"]["3->3"]
    assert [self_matrix[i][i] for i in range(5)] == pytest.approx([2 / 120] * 5)
    first_last = tables["imbalances_first_last"]["3"]["1"]
    assert first_last["to_first"][-1] == pytest.approx(
        tables["imbalances_inter_dims"]["3->3"][4][0], abs=1e-6)
    client = MlflowClient()
    children = client.search_runs(
        [client.get_run(trained[3]).info.experiment_id],
        filter_string=f"tags.source_run_id = '{trained[3]}'", max_results=1)
    history = client.get_metric_history(children[0].info.run_id, "geometry.id.l02")
    assert sorted(m.step for m in history) == [0, 1]
    assert {m.step: m.value for m in history}[1] == pytest.approx(tables["ids"]["3"]["1"][2])


def test_analyze_cli_with_a_registered_alias(workdir: Path, trained: dict[int, str]) -> None:
    model_id = run_checkpoints(trained[2])[1]
    version = mlflow.register_model(f"models:/{model_id}", "geometry_test_vae")
    MlflowClient().set_registered_model_alias("geometry_test_vae", "best", version.version)
    code = main(["analyze", "--kind", "geometry", "--model", "models:/geometry_test_vae@best",
                 "--n-points", "100", "--layers", ",".join(MLP_LAYERS), "--k", "12",
                 "--latent", "sample", "--out-dir", "geo"])
    assert code == 0
    meta = json.loads((workdir / "geo" / "geometry.json").read_text())
    assert meta["latent"] == "sample" and meta["models"] == {"2": trained[2]}
    assert list(json.loads((workdir / "geo" / "ids.json").read_text())["2"]) == ["1"]
    by_version = resolve(f"models:/geometry_test_vae/{version.version}", [])
    assert (by_version.label, by_version.source_run_id, list(by_version.uris)) == ("2", trained[2], [1])


def test_bad_settings_stop_before_any_run(workdir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", "--kind", "channels", "--model", "x"]) == 2
    assert "kind: unknown value 'channels'; allowed values: geometry" in capsys.readouterr().err
    assert main(["analyze", "--model", "x", "--latent", "median"]) == 2
    assert "latent: unknown value 'median'" in capsys.readouterr().err


@pytest.mark.slow
def test_mlflow_run_analyze_entry_point(workdir: Path, trained: dict[int, str]) -> None:
    bin_dir = Path(sys.executable).parent
    env = subprocess_env(MLFLOW_TRACKING_URI=os.environ["MLFLOW_TRACKING_URI"])
    done = subprocess.run(
        [bin_dir / "mlflow", "run", str(ROOT), "-e", "analyze", "-P", f"model={trained[3]}",
         "-P", "n_points=80", "-P", "k=8", "-P", f"layers={','.join(MLP_LAYERS)}",
         "-P", f"out_dir={workdir / 'entry'}", "--env-manager", "local"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ids = json.loads((workdir / "entry" / "ids.json").read_text())
    assert list(ids) == ["3"] and sorted(ids["3"], key=int) == ["0", "1"]
