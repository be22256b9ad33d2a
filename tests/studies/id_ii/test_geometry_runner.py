"""`analyze --kind geometry` on models read back from MLflow: runs, aliases, user-named layers;
its sample-quality and KL tables, and the report drawn from them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import ROOT, subprocess_env
from vae_core.analysis.sample_quality import frechet_distance, moments
from vae_core.cli.__main__ import main
from vae_core.config import typed
from vae_core.experiment import ExperimentConfig, load_data, run_experiment
from vae_core.models import build_model, model_config
from vae_core.studies.base import StageContext
from vae_core.studies.id_ii.analyze import GeometryConfig, resolve, run_geometry
from vae_core.studies.id_ii.report import ReportConfig, report
from vae_core.tracking.checkpoints import load_model, log_checkpoint, run_checkpoints

MLP_LAYERS = ["input", "encoder.body", "latent", "decoder.body.1", "output"]
TRAINING = {"study": "geometry_runner_test", "dataset": "digits", "arch": "mlp", "latent_sizes": [2, 3],
            "epochs": 1, "batch_size": 256, "save_interval": [0, 1]}
N_POINTS = 120


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> dict[int, str]:
    """Two small MLP VAEs, trained in a scratch folder (their artifacts and state files go there)."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("geometry_runner"))
    try:
        return run_experiment(typed(ExperimentConfig, TRAINING)).child_run_ids
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, trained: dict[int, str]) -> tuple[dict, Path]:
    """One analysis of both models (tables and their folder), in a scratch folder."""
    folder = tmp_path_factory.mktemp("geometry_analysis")
    here = os.getcwd()
    os.chdir(folder)
    try:
        config = GeometryConfig(models=[trained[2], trained[3]], n_points=N_POINTS, layers=MLP_LAYERS, k=16)
        return run_geometry(config, folder / "out"), folder / "out"
    finally:
        os.chdir(here)


def _child_run(client: MlflowClient, source_run_id: str) -> str:
    children = client.search_runs(
        [client.get_run(source_run_id).info.experiment_id],
        filter_string=f"tags.source_run_id = '{source_run_id}' and tags.analysis = 'geometry'",
        max_results=1)
    return children[0].info.run_id


def test_run_geometry_logs_metrics_json_and_cross_matrices(analysed: tuple[dict, Path],
                                                           trained: dict[int, str]) -> None:
    tables, out = analysed
    for name in ("ids", "ids_gride", "imbalances_first_last", "imbalances_train",
                 "imbalances_inter_dims", "geometry"):
        assert json.loads((out / f"{name}.json").read_text()) == tables[name]
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
    history = client.get_metric_history(_child_run(client, trained[3]), "geometry.id.l02")
    assert sorted(m.step for m in history) == [0, 1]
    assert {m.step: m.value for m in history}[1] == pytest.approx(tables["ids"]["3"]["1"][2])


def test_sample_quality_and_kl_of_every_checkpoint(analysed: tuple[dict, Path],
                                                   trained: dict[int, str]) -> None:
    tables, out = analysed
    for name in ("sample_quality", "kl"):
        assert json.loads((out / f"{name}.json").read_text()) == tables[name]
    assert tables["geometry"]["sample_quality"]["skipped"] == {}
    assert tables["geometry"]["kl"] == {"metric": "val/kl", "skipped": {}}
    declared = typed(ExperimentConfig, TRAINING)
    points = load_data(declared.data, declared.trainer.seed).test[:N_POINTS].numpy()
    client = MlflowClient()
    for size, run_id in trained.items():
        label = str(size)
        kl_history = client.get_metric_history(run_id, "val/kl")
        assert tables["kl"][label] == {str(m.step): m.value for m in kl_history}
        assert sorted(tables["kl"][label], key=int) == ["0", "1"]
        assert set(tables["sample_quality"][label]) == {"0", "1"}
        for epoch in (0, 1):  # the same seeded prior draws, decoded here in one pass
            model = load_model(run_id, epoch)
            z = torch.randn(N_POINTS, size, generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                samples = torch.sigmoid(model.decoder(z)).numpy()  # the Bernoulli mean
            expected = frechet_distance(*moments(samples), *moments(points))
            assert tables["sample_quality"][label][str(epoch)] == pytest.approx(expected, rel=1e-5)
        logged = client.get_metric_history(_child_run(client, run_id), "sample_quality.fd_pixel")
        assert {str(m.step): m.value for m in logged} == pytest.approx(tables["sample_quality"][label])


def test_report_adds_quality_and_kl_and_reads_older_folders(analysed: tuple[dict, Path],
                                                            workdir: Path) -> None:
    tables, out = analysed
    shutil.copytree(out, workdir / "geometry")
    report(ReportConfig(), StageContext("id_ii", "report", Path("params.yaml"), workdir))
    metrics = json.loads((workdir / "report" / "metrics.json").read_text())
    for label in ("2", "3"):
        assert metrics[f"latent_{label}"]["fd_pixel"] == pytest.approx(
            tables["sample_quality"][label]["1"], abs=1e-6)
        assert metrics[f"latent_{label}"]["val_kl"] == pytest.approx(tables["kl"][label]["1"], abs=1e-6)
    figures = {path.stem for path in (workdir / "report" / "figures").glob("*.png")}
    assert {"ii_out_in_vs_quality", "kl_by_epoch", "ii_out_in_by_latent"} <= figures
    shutil.copytree(out, workdir / "older" / "geometry",
                    ignore=shutil.ignore_patterns("sample_quality.json", "kl.json"))
    report(ReportConfig(), StageContext("id_ii", "report", Path("params.yaml"), workdir / "older"))
    metrics = json.loads((workdir / "older" / "report" / "metrics.json").read_text())
    assert "fd_pixel" not in metrics["latent_2"] and "val_kl" not in metrics["latent_2"]
    figures = {path.stem for path in (workdir / "older" / "report" / "figures").glob("*.png")}
    assert figures == {"id_profile", "ii_first_last", "ii_out_in_by_latent", "ii_consecutive",
                       "ii_out_in_by_epoch"}


def test_a_network_without_decoder_or_training_history_is_skipped(workdir: Path) -> None:
    model = build_model(model_config({"family": "linear_vae", "latent_size": 4}), (1, 8, 8))
    with mlflow.start_run() as run:
        model_id = log_checkpoint(model, run.info.run_id, 0)
    config = GeometryConfig(models=[f"models:/{model_id}"], n_points=60, layers=["input", "output"], k=8,
                            dataset="digits")
    tables = run_geometry(config, workdir / "out")
    label = f"models:/{model_id}"
    assert list(tables["ids"]) == [label]
    assert tables["sample_quality"] == {} and tables["kl"] == {}
    assert tables["geometry"]["sample_quality"]["skipped"] == {
        label: "no encode() and decoder to sample through"}
    assert tables["geometry"]["kl"]["skipped"] == {
        label: f"training run {run.info.run_id} logged no val/kl"}


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
    assert main(["analyze", "--kind", "nope", "--model", "x"]) == 2
    assert "kind: unknown value 'nope'; allowed values: geometry" in capsys.readouterr().err
    assert main(["analyze", "--model", "x", "--latent", "median"]) == 2
    assert "latent: unknown value 'median'" in capsys.readouterr().err
    for bad in ("nonsense123", "models:/nope@x", "models:/nope/3", "m-0000"):
        assert main(["analyze", "--model", bad]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and bad in error, error


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


def test_an_interrupted_analysis_resumes_from_the_cache(workdir: Path, trained: dict[int, str],
                                                        analysed: tuple[dict, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after two of the four checkpoints, the same command computes only the other two
    and writes the uninterrupted analysis's tables; a changed setting computes all again."""
    import importlib

    geometry_runner = importlib.import_module("vae_core.studies.id_ii.geometry_units")

    real, calls, kill = geometry_runner.layer_geometry, [], [True]

    def interrupted(store: object, k: int, device: object = None) -> object:
        calls.append(k)
        if kill[0] and len(calls) == 3:
            raise KeyboardInterrupt
        return real(store, k=k, device=device)

    monkeypatch.setattr(geometry_runner, "layer_geometry", interrupted)
    config = GeometryConfig(models=[trained[2], trained[3]], n_points=N_POINTS, layers=MLP_LAYERS, k=16)
    with pytest.raises(KeyboardInterrupt):
        run_geometry(config, workdir / "out")
    kill[0] = False
    calls.clear()
    tables = run_geometry(config, workdir / "out")
    assert len(calls) == 2
    expected, _ = analysed
    assert tables == expected
    calls.clear()
    config = config.model_copy(update={"k": 12})
    assert run_geometry(config, workdir / "out_k12")["geometry"]["k"] == 12
    assert calls == [12] * 4


def test_analyze_an_mlp_without_naming_layers(workdir: Path, trained: dict[int, str]) -> None:
    """The MLP's default probes: input, its hidden activation on each side, latent, output."""
    code = main(["analyze", "--kind", "geometry", "--model", trained[3], "--n-points", "100",
                 "--k", "12", "--out-dir", "geo_default"])
    assert code == 0
    meta = json.loads((workdir / "geo_default" / "geometry.json").read_text())
    assert list(meta["layers"].values()) == ["input", "encoder.body.1", "latent", "decoder.body.1",
                                             "output"]
