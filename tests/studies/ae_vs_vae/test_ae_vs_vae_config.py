"""S3's declaration: bad input refused before any run, configurations expanded as declared."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import yaml

from vae_core.config import ConfigError, typed
from vae_core.data import load_dataset
from vae_core.studies import run_stage
from vae_core.studies.ae_vs_vae.configurations import TrainConfig, configurations

GOOD = {"folds": 2, "datasets": ["digits"], "defaults": {"epochs": 1},
        "experiments": [{"kind": "ae_vs_vae", "latent_size": 2, "n_layers": [1, 2]}]}


def _write(folder: Path, train: dict) -> Path:
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({"train": train, "report": {}}))
    return path


def _runs_in_study() -> int:
    experiment = mlflow.get_experiment_by_name("ae_vs_vae")
    return 0 if experiment is None else len(mlflow.search_runs([experiment.experiment_id]))


@pytest.mark.parametrize(("change", "pattern"), [
    ({"folds": 1}, r"folds.*folds >= 2"),
    ({"folds": 5000}, r"folds: 5000 folds is more than the {pool} training samples"),
    ({"experiments": [{"kind": "vq_vae"}]}, r"unknown experiment kind 'vq_vae'"),
    ({"experiments": [{"kind": "prior_vae", "prior_var": 0.0}]}, r"prior_var: must be > 0"),
    ({"experiments": [{"kind": "prior_vae", "prior_var": [1.0, -1.0]}]}, r"prior_var: must be > 0"),
    ({"experiments": [{"kind": "ae_vs_vae", "latent_size": 2, "n_layers": 2}]}, r"exactly one list"),
    ({"experiments": [{"kind": "beta_vae", "betas": []}]}, r"non-empty betas"),
    ({"dataset_defaults": {"mnist": {"epochs": 2}}}, r"dataset_defaults: 'mnist' is not in datasets"),
])
def test_bad_input_is_refused_before_any_run(workdir, change, pattern):
    splits = load_dataset("digits")
    pattern = pattern.replace("{pool}", str(len(splits.train) + len(splits.val)))
    before = _runs_in_study()
    with pytest.raises(ConfigError, match=pattern):
        run_stage("ae_vs_vae", "train", _write(workdir, {**GOOD, **change}))
    assert _runs_in_study() == before
    assert not (workdir / "results").exists()


def test_each_experiment_kind_expands_into_its_configurations_once():
    config = typed(TrainConfig, {**GOOD, "datasets": ["digits", "pca"], "experiments": [
        {"kind": "ae_vs_vae", "latent_size": [2, 3], "n_layers": 2},
        {"kind": "beta_vae", "latent_size": 2, "n_layers": 2, "betas": [1.0, 4.0],
         "overrides": {"epochs": 3}},
        {"kind": "prior_vae", "latent_size": 2, "n_layers": 1, "prior_mean": 1.0, "prior_var": 2.0},
    ]}, "train")
    found = configurations(config)
    expected = {f"{d}-{name}" for d in ("digits", "pca") for name in (
        "ae-z2-l2", "vae-z2-l2-b1", "ae-z3-l2", "vae-z3-l2-b1", "vae-z2-l2-b4",
        "prior_vae-z2-l1-b1-m1.0-v2.0")}
    assert set(found) == expected  # the beta = 1 VAE of the beta experiment is not trained twice
    beta4 = found["digits-vae-z2-l2-b4"]
    assert (beta4.model.family, beta4.model.beta, beta4.trainer.epochs) == ("vae", 4.0, 3)
    assert found["pca-ae-z3-l2"].model.latent_size == 3 and found["pca-ae-z3-l2"].latent_sizes == [3]
    prior = found["digits-prior_vae-z2-l1-b1-m1.0-v2.0"].model
    assert (prior.family, prior.prior_mean, prior.prior_var, prior.n_layers) == ("prior_vae", 1.0, 2.0, 1)
