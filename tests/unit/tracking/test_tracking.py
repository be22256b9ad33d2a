"""A training run recorded in MLflow and read back: params, tags, per-epoch metrics, checkpoints."""

from __future__ import annotations

import mlflow
import pytest
import torch

from vae_core.config import ConfigError, typed
from vae_core.data import load_dataset
from vae_core.experiment import ExperimentConfig, run_experiment
from vae_core.tracking.checkpoints import load_model, run_checkpoints
from vae_core.training import Trainer, TrainerConfig


@pytest.fixture(scope="module")
def trained(tracking_uri, tmp_path_factory):
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("train"))
    try:
        config = typed(ExperimentConfig, {
            "study": "tracking-test", "latent_sizes": [2, 3], "epochs": 3,
            "save_interval": [0, 3], "batch_size": 64})
        result = run_experiment(config)
    finally:
        os.chdir(cwd)
    return config, result


def test_runs_are_queryable_with_search_runs(trained):
    config, result = trained
    runs = mlflow.search_runs([result.experiment_id])
    children = runs[runs["tags.mlflow.parentRunId"] == result.parent_run_id]
    assert sorted(children["tags.latent_size"].astype(int)) == [2, 3]
    assert set(children["status"]) == {"FINISHED"}
    data = load_dataset("digits", seed=0)
    for _, row in children.iterrows():
        assert row["tags.study"] == "tracking-test" and row["tags.dataset"] == "digits"
        assert row["tags.model_family"] == "vae" and row["tags.git_commit"]
        assert row["tags.dataset_fingerprint"] == data.fingerprint()
        assert row["params.epochs"] == "3" and row["params.lr"] == "0.001"
        assert row["metrics.val/loss"] == pytest.approx(
            row["metrics.val/recon"] + row["metrics.val/kl"], rel=1e-5)


def test_every_epoch_logged_once_with_its_step(trained):
    _, result = trained
    client = mlflow.MlflowClient()
    for run_id in result.child_run_ids.values():
        for name in ("train/loss", "train/recon", "train/kl", "val/loss", "val/recon", "val/kl"):
            steps = sorted(m.step for m in client.get_metric_history(run_id, name))
            assert steps == [0, 1, 2, 3], name
        artifacts = [a.path for a in client.list_artifacts(run_id, "figures")]
        assert "figures/loss_curves.png" in artifacts


def test_checkpoints_are_logged_models_that_reproduce_the_logged_metric(trained):
    _, result = trained
    run_id = result.child_run_ids[3]
    assert sorted(run_checkpoints(run_id)) == [0, 3]
    data = load_dataset("digits", seed=0)
    model = load_model(run_id)  # the last checkpoint, epoch 3
    recomputed = Trainer(model, data, TrainerConfig(batch_size=64, seed=0)).evaluate(data.val, "val")
    history = mlflow.MlflowClient().get_metric_history(run_id, "val/loss")
    logged = {m.step: m.value for m in history}[3]
    assert recomputed["val/loss"] == pytest.approx(logged, rel=1e-5)
    untrained = load_model(run_id, epoch=0)
    assert not torch.equal(untrained.decoder.body[0].weight, model.decoder.body[0].weight)
    missing = "^epoch: run .* has no checkpoint at epoch 2; allowed values: 0, 3"
    with pytest.raises(ConfigError, match=missing):
        load_model(run_id, epoch=2)


def test_architecture_that_does_not_fit_fails_before_any_run(tracking_uri, workdir):
    before = len(mlflow.search_runs(search_all_experiments=True))
    config = typed(ExperimentConfig, {"study": "never", "arch": "conv32", "epochs": 1})
    with pytest.raises(ConfigError, match=r"^arch: 'conv32' needs images of shape \(C, 32, 32\)"):
        run_experiment(config)
    assert len(mlflow.search_runs(search_all_experiments=True)) == before
    assert mlflow.get_experiment_by_name("never") is None


def test_missing_prepared_file_is_named_before_any_run(tracking_uri, workdir):
    before = len(mlflow.search_runs(search_all_experiments=True))
    config = typed(ExperimentConfig, {"data_file": "data/prepared/none.npz", "epochs": 1})
    with pytest.raises(ConfigError, match="^data_file: data/prepared/none.npz does not exist"):
        run_experiment(config)
    assert len(mlflow.search_runs(search_all_experiments=True)) == before


def test_the_parent_shows_each_childs_final_metrics_and_a_description(trained):
    config, result = trained
    client = mlflow.MlflowClient()
    parent = client.get_run(result.parent_run_id).data
    finals = {size: client.get_run(run_id).data.metrics for size, run_id in result.child_run_ids.items()}
    for size, metrics in finals.items():
        assert parent.metrics[f"z{size}/val/neg_elbo"] == pytest.approx(metrics["val/neg_elbo"])
    best = min(finals, key=lambda size: finals[size]["val/neg_elbo"])
    assert parent.metrics["best/val/neg_elbo"] == pytest.approx(finals[best]["val/neg_elbo"])
    assert parent.tags["vae.best_child"].startswith(f"z{best} ")
    assert "one child run per latent size" in parent.tags["mlflow.note.content"]
