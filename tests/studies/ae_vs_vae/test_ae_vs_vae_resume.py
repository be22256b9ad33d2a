"""A killed S3 study started again resumes its configuration run and skips finished folds."""

from __future__ import annotations

import importlib

import pytest
import yaml
from mlflow import MlflowClient

from vae_core.studies import run_stage
from vae_core.studies.ae_vs_vae.train import FOLD_TAG

train_stage = importlib.import_module("vae_core.studies.ae_vs_vae.train")  # the module, not train()

TRAIN = {"folds": 3, "fold_seed": 1, "datasets": ["digits"],
         "defaults": {"epochs": 1, "batch_size": 256, "save_interval": {"first": False, "last": False}},
         "experiments": [{"kind": "prior_vae", "latent_size": 2, "n_layers": 1, "prior_mean": 0.5}]}


class Killed(Exception):
    """Stands for the process being killed while fold 1 trains."""


@pytest.mark.slow
def test_a_killed_study_resumes_without_redoing_a_finished_fold(workdir, monkeypatch):
    params = workdir / "params.yaml"
    params.write_text(yaml.safe_dump({"train": TRAIN}))
    real, trained_folds = train_stage.train_one, []

    def train_one(*args, **kwargs):
        fold = kwargs["extra_tags"][FOLD_TAG]
        if fold == "1" and not trained_folds.count("1"):
            trained_folds.append(fold)
            raise Killed
        trained_folds.append(fold)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_stage, "train_one", train_one)
    with pytest.raises(Killed):
        run_stage("ae_vs_vae", "train", params)
    assert trained_folds == ["0", "1"]
    trained = run_stage("ae_vs_vae", "train", params)
    assert trained_folds == ["0", "1", "1", "2"]  # fold 0 finished the first time: not trained again
    (run_id,) = trained.values()
    client = MlflowClient()
    run = client.get_run(run_id)
    children = client.search_runs([run.info.experiment_id], f"tags.`mlflow.parentRunId` = '{run_id}'")
    assert sorted(int(r.data.tags[FOLD_TAG]) for r in children) == [0, 1, 2]
    assert run.info.status == "FINISHED" and "folds.test_recon.mean" in run.data.metrics
