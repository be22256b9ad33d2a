"""The tiny offline S3 study, run through run_stage: every child run, metric, table and figure,
and fold statistics equal to numpy's over the child runs' metrics read back from MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from vae_core.studies import run_stage
from vae_core.studies.ae_vs_vae.train import BEST_FOLD_TAG, CONFIGURATION_TAG, FOLD_TAG

FOLDS, EPOCHS = 2, 1
TRAIN = {"folds": FOLDS, "fold_seed": 3, "datasets": ["digits"],
         "defaults": {"epochs": EPOCHS, "batch_size": 128, "save_interval": {"first": False}},
         "experiments": [{"kind": "ae_vs_vae", "latent_size": [2], "n_layers": 1},
                         {"kind": "beta_vae", "latent_size": 2, "n_layers": 1, "betas": [4.0]},
                         {"kind": "prior_vae", "latent_size": 2, "n_layers": 1, "prior_var": 2.0}]}
NAMES = ["digits-ae-z2-l1", "digits-vae-z2-l1-b1", "digits-vae-z2-l1-b4",
         "digits-prior_vae-z2-l1-b1-m0.0-v2.0"]
PER_EPOCH = ["val/loss", "val/recon", "val/mse", "val/l1", "val/bce", "train/mse", "train/l1", "train/bce"]
TEST = ["test/loss", "test/recon", "test/kl", "test/mse", "test/l1", "test/bce"]


@pytest.fixture(scope="module")
def study(tmp_path_factory, tracking_uri):
    folder = tmp_path_factory.mktemp("s3")
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({"train": TRAIN, "report": {"n_samples": 200, "seed": 1}}))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        trained = run_stage("ae_vs_vae", "train", params)
        metrics = run_stage("ae_vs_vae", "report", params)
    return folder / "results" / "ae_vs_vae", trained, metrics


def _children(client: MlflowClient, run_id: str) -> list:
    run = client.get_run(run_id)
    return client.search_runs([run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run_id}'")


@pytest.mark.slow
def test_every_configuration_has_one_finished_run_per_fold_with_every_metric(study):
    _, trained, _ = study
    client = MlflowClient()
    assert list(trained) == NAMES
    for name, run_id in trained.items():
        assert client.get_run(run_id).data.tags[CONFIGURATION_TAG] == name
        folds = {int(r.data.tags[FOLD_TAG]): r for r in _children(client, run_id)}
        assert sorted(folds) == list(range(FOLDS))
        for run in folds.values():
            assert run.info.status == "FINISHED"
            for metric in PER_EPOCH + ([] if "-ae-" in name else ["val/kl"]):
                steps = [m.step for m in client.get_metric_history(run.info.run_id, metric)]
                assert sorted(steps) == list(range(EPOCHS + 1)), (name, metric)
            assert set(TEST) <= set(run.data.metrics)


@pytest.mark.slow
def test_fold_statistics_equal_numpy_over_the_child_runs(study):
    _, trained, _ = study
    client = MlflowClient()
    for run_id in trained.values():
        children = sorted(_children(client, run_id), key=lambda r: int(r.data.tags[FOLD_TAG]))
        logged = client.get_run(run_id).data.metrics
        for metric in ["val/loss", *TEST]:
            values = np.array([r.data.metrics[metric] for r in children])
            column = metric.replace("/", "_")
            assert logged[f"folds.{column}.mean"] == pytest.approx(values.mean(), rel=1e-9)
            assert logged[f"folds.{column}.std"] == pytest.approx(values.std(ddof=1), rel=1e-9, abs=1e-12)
        val_loss = [r.data.metrics["val/loss"] for r in children]
        best = int(np.argmin(val_loss))
        assert client.get_run(run_id).data.tags[BEST_FOLD_TAG] == str(best)
        assert [r.data.tags.get(BEST_FOLD_TAG) for r in children].count("true") == 1
        assert children[best].data.tags.get(BEST_FOLD_TAG) == "true"


@pytest.mark.slow
def test_ae_and_vae_of_one_configuration_see_the_same_folds(study):
    _, trained, _ = study
    client = MlflowClient()

    def fingerprints(name: str) -> list[str]:
        runs = sorted(_children(client, trained[name]), key=lambda r: int(r.data.tags[FOLD_TAG]))
        return [r.data.tags["dataset_fingerprint"] for r in runs]

    ae, vae = fingerprints("digits-ae-z2-l1"), fingerprints("digits-vae-z2-l1-b1")
    assert ae == vae and len(set(ae)) == FOLDS  # the same rows per fold, different folds differ


@pytest.mark.slow
def test_report_writes_the_table_findings_metrics_and_every_figure(study):
    out, trained, metrics = study
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.configuration) == NAMES
    client = MlflowClient()
    for row in table.itertuples():
        logged = client.get_run(trained[row.configuration]).data.metrics
        assert row.test_recon == pytest.approx(logged["folds.test_recon.mean"], rel=1e-6)
        assert np.isfinite(row.fd_pixel) and row.fd_pixel > 0
        expected = {"curves", "prior_grid", "traversal", "reconstructions", "latent_scatter",
                    "latent_histograms"}  # D_z = 2: with the scatter and the histograms
        assert {p.stem for p in (out / "figures" / row.configuration).glob("*.png")} == expected
        artifacts = {Path(a.path).stem for a in client.list_artifacts(trained[row.configuration], "figures")}
        assert expected <= artifacts
    findings = pd.read_csv(out / "findings.csv")
    assert len(findings) == 4 and set(findings.dataset) == {"digits"}
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert set(metrics) == set(NAMES)
    assert json.loads((out / "train_metrics.json").read_text()).keys() == set(NAMES)
