"""The disentanglement study end to end: two small beta-VAEs trained on shapes3d by its train
stage (params_offline.yaml), scored through `analyze --kind disentanglement`; every metric on
both training runs, equal to the library's functions called directly on the reloaded networks;
UDR from the same shared images; the analyze stage finding the runs itself; the refusals.
About a minute on a quiet machine, several on a loaded one: marked slow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import ROOT
from vae_core.analysis.disentanglement import all_metrics, udr
from vae_core.cli.__main__ import main
from vae_core.config import ConfigError
from vae_core.data.factors import sample_factor_indices
from vae_core.data.shapes3d import Shapes3D
from vae_core.studies import run_stage
from vae_core.studies.disentanglement.analyze import DisentanglementConfig, run_disentanglement
from vae_core.tracking.checkpoints import load_model

pytestmark = pytest.mark.slow

GRID = {"floor_hues": 3, "wall_hues": 3, "object_hues": 3, "scales": 3, "shapes": 2, "orientations": 3}
OFFLINE = ROOT / "projects" / "disentanglement" / "params_offline.yaml"  # train_b1, train_b4: 16 x 16
COUNTS = {"num_train": 120, "num_test": 60, "batch_size": 8, "num_variance_estimate": 120,
          "udr_points": 80, "seed": 3}
METRICS = ("mig", "dci_disentanglement", "dci_completeness", "dci_informativeness_train",
           "dci_informativeness_test", "sap", "modularity", "explicitness_train", "explicitness_test",
           "factor_vae_eval", "factor_vae_train", "factor_vae_active_dims", "beta_vae_eval",
           "beta_vae_train")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str) -> dict[float, str]:
    """beta -> the training run of a 4-latent MLP VAE on 16 x 16 shapes3d (one epoch), trained by
    the study's train stage from its offline params."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("disentanglement_training"))
    try:
        runs = {beta: run_stage("disentanglement", "train", OFFLINE, item=f"b{beta}")["runs"]["4"]
                for beta in (1, 4)}
    finally:
        os.chdir(here)
    return {float(beta): run_id for beta, run_id in runs.items()}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, trained: dict[float, str]) -> Path:
    out = tmp_path_factory.mktemp("disentanglement_analysis") / "out"
    args = [f"--{k.replace('_', '-')}={v}" for k, v in COUNTS.items()]
    assert main(["analyze", "--kind", "disentanglement", "--model", ",".join(trained.values()),
                 "--out-dir", str(out), *args]) == 0
    return out


def test_every_metric_and_udr_land_on_both_training_runs(analysed: Path, trained: dict[float, str]) -> None:
    client = MlflowClient()
    for run_id in trained.values():
        logged = client.get_run(run_id).data.metrics
        for name in (*METRICS, "udr"):
            assert f"disentanglement.{name}" in logged, name
        assert client.get_metric_history(run_id, "disentanglement.mig")[0].step == 1  # the checkpoint's epoch
    children = mlflow.search_runs(search_all_experiments=True,
                                  filter_string="tags.analysis = 'disentanglement'")
    assert set(trained.values()) <= set(children["tags.source_run_id"].dropna())


def test_logged_values_are_the_library_on_the_reloaded_networks(analysed: Path,
                                                                 trained: dict[float, str]) -> None:
    """Independent of the analysis' plumbing: the data set built by hand, codes from encode()."""
    dataset = Shapes3D(image_size=16, **GRID)
    table = pd.read_csv(analysed / "table.csv")
    networks = {beta: load_model(run_id) for beta, run_id in trained.items()}

    def represent(network: torch.nn.Module):
        return lambda images: network.encode(torch.from_numpy(images))[0].detach().double().numpy()

    for beta, network in list(networks.items())[1:]:  # one model: the wiring is the same for each
        expected = all_metrics(represent(network), dataset, np.random.default_rng(COUNTS["seed"]),
                               **{k: COUNTS[k] for k in ("num_train", "num_test", "batch_size",
                                                         "num_variance_estimate")})
        row = table[table.beta == beta].iloc[0]
        assert row.seed == int(beta) and row.run_id == trained[beta]
        for name, value in expected.items():
            assert row[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    images = dataset.render(sample_factor_indices(dataset, COUNTS["udr_points"],
                                                  np.random.default_rng(COUNTS["seed"])))
    codes, kls = [], []
    for network in networks.values():
        mu, logvar = network.encode(torch.from_numpy(images))
        posterior = torch.distributions.Normal(mu.double(), (0.5 * logvar.double()).exp())
        kls.append(torch.distributions.kl_divergence(posterior, torch.distributions.Normal(0.0, 1.0))
                   .mean(0).detach().numpy())
        codes.append(mu.detach().double().numpy())
    logged = table.sort_values("beta")["disentanglement.udr"].tolist()  # both orders: beta 1, 4
    assert logged == pytest.approx([m["disentanglement.udr"] for m in udr(codes, kls)], abs=1e-9)


def test_table_and_figure_are_written(analysed: Path, trained: dict[float, str]) -> None:
    table = pd.read_csv(analysed / "table.csv")
    assert sorted(table.beta) == [1.0, 4.0] and len(table) == 2
    assert json.loads((analysed / "table.json").read_text())[0].keys() == set(table.columns)
    assert (analysed / "metrics_vs_beta.png").stat().st_size > 10_000
    summary = json.loads((analysed / "summary.json").read_text())
    assert summary["udr"] == "computed" and summary["dataset"] == "shapes3d"


def test_a_param_the_training_did_not_set_is_refused_before_any_run(tmp_path: Path,
                                                                    trained: dict[float, str]) -> None:
    before = len(mlflow.search_runs(search_all_experiments=True))
    refusal = "^param: model .* has no number 'gamma' .*; allowed values: .*beta"
    with pytest.raises(ConfigError, match=refusal):
        run_disentanglement(DisentanglementConfig(models=[trained[1.0]], param="gamma"), tmp_path / "o")
    assert len(mlflow.search_runs(search_all_experiments=True)) == before
    assert not (tmp_path / "o").exists()


def test_the_analyze_stage_finds_the_trained_sections(tmp_path: Path, trained: dict[float, str]) -> None:
    summary = run_stage("disentanglement", "analyze", OFFLINE, out_dir=tmp_path)
    assert set(summary["models"].values()) == set(trained.values())
    assert summary["udr"] == "computed"
    table = pd.read_csv(tmp_path / "disentanglement" / "table.csv")
    assert sorted(table.beta) == [1.0, 4.0] and table["disentanglement.udr"].notna().all()
