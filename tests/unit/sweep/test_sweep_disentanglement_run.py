"""Tiny sweeps on shapes3d whose objective is a disentanglement metric: each trial's run holds
every score at its last checkpoint's epoch, Optuna's value is the logged score (recomputed here
from the reloaded network), and the champion and parent summary are the best by it."""

from __future__ import annotations

import math
import os

import numpy as np
import optuna
import pytest
import torch
from mlflow import MlflowClient

from tests.sweep_helpers import write_study
from vae_core.analysis.disentanglement import mig, sample_codes
from vae_core.analysis.disentanglement.scoring import PER_MODEL_METRICS
from vae_core.data.factor_sets import factor_dataset
from vae_core.sweep.report import write_report
from vae_core.sweep.runner import run_sweep, storage_url
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.checkpoints import load_model, run_checkpoints
from vae_core.tracking.history import metric_history
from vae_core.tracking.queries import registered_versions, study_runs

OPTIONS = {"n": 200, "image_size": 16, "floor_hues": 2, "wall_hues": 3, "object_hues": 2, "scales": 3,
           "shapes": 2, "orientations": 2}
BASE = {"dataset": "shapes3d", "dataset_options": OPTIONS, "arch": "mlp", "epochs": 1,
        "batch_size": 50, "lr": 3.0e-3, "save_interval": [1], "latent_size": 3}
SCORING = {"num_train": 60, "num_test": 30, "batch_size": 8, "num_variance_estimate": 60, "seed": 2,
           "num_bins": 10}
MIG = {"metric": "disentanglement.mig", "direction": "maximize"}


def sweep(folder, name: str, objectives: list[dict]):
    before = os.getcwd()
    os.chdir(folder)
    try:
        path = write_study(folder, name, base=dict(BASE), space={"beta": {"grid": [1.0, 8.0]}},
                           objectives=objectives, disentanglement=dict(SCORING))
        spec = load_study_spec(str(path), folder)
        result = run_sweep(spec, path, n_workers=1)
        return spec, result, optuna.load_study(study_name=name, storage=storage_url(spec)), folder
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def mig_sweep(tmp_path_factory, tracking_uri):
    return sweep(tmp_path_factory.mktemp("dis"), "dis_mig", [MIG])


def encoder_means(network: torch.nn.Module):
    def represent(images: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return network.eval().encode(torch.from_numpy(images))[0].double().numpy()
    return represent


def test_each_trial_run_holds_every_score_and_optuna_has_its_mig(mig_sweep) -> None:
    _, result, study, _ = mig_sweep
    assert result.finished and result.trials == {"COMPLETE": 2}
    dataset = factor_dataset("shapes3d", OPTIONS)
    for trial in study.trials:
        run_id = trial.user_attrs["mlflow_run_id"]
        logged = MlflowClient().get_run(run_id).data.metrics
        assert set(PER_MODEL_METRICS) <= set(logged)
        history = metric_history([run_id], ["disentanglement.mig"])
        assert list(history.step) == [1]  # the last checkpoint's epoch
        assert trial.value == logged["disentanglement.mig"]
        # the score of the trial's final network, recomputed: MIG of the first draw of the seed
        assert sorted(run_checkpoints(run_id)) == [1]
        network = load_model(run_id)
        codes, factors = sample_codes(encoder_means(network), dataset, 60, np.random.default_rng(2))
        assert math.isclose(trial.value, mig(codes, factors, num_bins=10)["disentanglement.mig"],
                            rel_tol=1e-9, abs_tol=1e-12)
        assert trial.intermediate_values == {}  # nothing per epoch: the objective is not per epoch


def test_the_champion_and_the_parents_best_are_the_highest_mig(mig_sweep) -> None:
    _, result, _, _ = mig_sweep
    runs = study_runs("dis_mig")
    assert sorted(runs.trial) == [0, 1] and set(runs.trial_state) == {"COMPLETE"}
    best = runs.loc[runs["disentanglement.mig"].idxmax()]
    versions = registered_versions("dis_mig")
    champion = versions[versions.aliases.apply(lambda a: "champion" in a)]
    assert list(champion.run_id) == [best.run_id]
    parent = MlflowClient().get_run(result.parent_run_id).data
    assert parent.metrics["best/disentanglement.mig"] == runs["disentanglement.mig"].max()
    assert parent.metrics["best/val/neg_elbo"] == best["val/neg_elbo"]
    for _, row in runs.iterrows():
        assert parent.metrics[f"trial{row.trial}/disentanglement.sap"] == row["disentanglement.sap"]
    assert parent.tags["vae.best_child"] == f"trial{best.trial} (highest disentanglement.mig)"


def test_the_report_draws_the_scored_objective(mig_sweep, tmp_path, monkeypatch) -> None:
    spec, _, study, folder = mig_sweep
    monkeypatch.chdir(folder)  # the study's default storage lives there
    written = write_report(spec, storage_url(spec), tmp_path / "report")
    assert {"trials.csv", "history.png"} <= set(written)
    table = (tmp_path / "report" / "trials.csv").read_text()
    assert len(table.strip().splitlines()) == 1 + len(study.trials)


def test_two_objectives_take_the_elbo_and_the_score_from_each_run(tmp_path, tracking_uri) -> None:
    _, result, study, _ = sweep(tmp_path, "dis_two", [{"metric": "val/neg_elbo"}, MIG])
    assert result.trials == {"COMPLETE": 2}
    for trial in study.trials:
        logged = MlflowClient().get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
        assert trial.values == [logged["val/neg_elbo"], logged["disentanglement.mig"]]
    front = {t.number for t in study.best_trials}
    assert {a for a in result.registered if a.startswith("pareto-")} == {f"pareto-{n}" for n in front}
