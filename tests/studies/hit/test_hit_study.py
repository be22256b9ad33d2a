"""The tiny offline S2 study end to end: the classifier registered in MLflow, a 2 x 2 beta_y x
beta_z grid as an Optuna grid sweep (four child runs of one parent), every evaluation metric on
each model's own run, every report figure on the parent run and on disk; and a second pass that
trains, registers and evaluates nothing again."""

from __future__ import annotations

import math

import pytest
import yaml
from mlflow import MlflowClient

from vae_core.studies import run_stage
from vae_core.studies.hit.evaluate import EVAL_KEY_TAG
from vae_core.studies.hit.report import METRICS
from vae_core.sweep.runner import run_sweep
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.classifiers import load_classifier

BASE = {"dataset": "digits", "dataset_options": {"resize": 28}, "model": "hvae", "conv_channels": 4,
        "latent_size": 3, "likelihood": "bernoulli", "epochs": 1, "batch_size": 128, "lr": 3.0e-3,
        "save_interval": [1], "system_metrics": False,
        "test_each_epoch": True}
SETTINGS = {"iw_samples": 4, "n_samples": 100, "is_splits": 5, "probe_seeds": [0, 1], "seed": 0}
EVALUATION = ["eval/loss", "eval/recon", "eval/rate_z", "eval/rate_y", "eval/neg_elbo", "eval/rate_z_bpd",
              "eval/rate_y_bpd", "ll.iwae", "ll.elbo", "recon.psnr", "mi.z_label", "mi.h_label",
              *[f"probe.{latent}.{probe}" for latent in "zy"
                for probe in ("logreg_mean", "logreg_std", "svm_rbf", "svm_linear", "knn")],
              "clf.real_acc", "clf.recon_acc", "is.mean", "is.diversity", "is.sharpness", "fd_classifier"]


@pytest.fixture(scope="module")
def study(tmp_path_factory, tracking_uri):
    folder = tmp_path_factory.mktemp("hit")
    (folder / "MLproject").write_text("name: hit-test\n")
    sweep_file = folder / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump({
        "study": "hit_test", "base": BASE,
        "space": {"beta_y": {"grid": [0.1, 1.0]}, "beta_z": {"grid": [0.1, 1.0]}},
        "objectives": [{"metric": "val/neg_elbo", "direction": "minimize"}], "sampler": {"name": "grid"},
        "heartbeat_s": 1, "storage": f"sqlite:///{folder / 'optuna.db'}"}))
    params = folder / "params.yaml"
    params.write_text(yaml.safe_dump({
        "classifier": {"sweep_file": str(sweep_file), "epochs": 2},
        "evaluate": {"sweep_file": str(sweep_file), "settings": SETTINGS},
        "report": {"sweep_file": str(sweep_file), "dpi": 30}}))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        classifier = run_stage("hit", "classifier", params)
        sweep = run_sweep(load_study_spec(str(sweep_file), folder), sweep_file, n_workers=1)
        evaluation = run_stage("hit", "evaluate", params)
        report = run_stage("hit", "report", params)
        spec = load_study_spec(str(sweep_file), folder)
        again = [run_stage("hit", "classifier", params), run_stage("hit", "evaluate", params),
                 run_sweep(spec, sweep_file, n_workers=1)]
    return folder, classifier, sweep, evaluation, report, again


@pytest.mark.slow
def test_two_by_two_grid_gives_four_finished_child_runs_with_every_metric(study):
    folder, _, sweep, evaluation, _, _ = study
    client = MlflowClient()
    parent = client.get_run(sweep.parent_run_id)
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.`mlflow.parentRunId` = '{sweep.parent_run_id}'")
    assert len(children) == 4 and {r.info.status for r in children} == {"FINISHED"}
    betas = {(float(r.data.params["beta_y"]), float(r.data.params["beta_z"])) for r in children}
    assert betas == {(0.1, 0.1), (0.1, 1.0), (1.0, 0.1), (1.0, 1.0)}
    for run in children:
        logged = run.data.metrics
        assert EVAL_KEY_TAG in run.data.tags
        missing = [m for m in EVALUATION if m not in logged]
        assert not missing, missing
        assert all(math.isfinite(logged[m]) for m in EVALUATION)
        for split in ("train", "val", "test"):  # both rates per epoch, nats and bits per dimension
            for rate in ("rate_z", "rate_y"):
                bits = logged[f"{split}/{rate}"] / (784 * math.log(2))
                assert logged[f"{split}/{rate}_bpd"] == pytest.approx(bits)
        assert logged["ll.iwae"] >= logged["ll.elbo"] - 1e-6  # the S-sample bound is tighter on average
        assert 0.0 <= logged["mi.z_label"] <= logged["mi.h_label"] + 0.05
        assert logged["is.mean"] == pytest.approx(logged["is.diversity"] * logged["is.sharpness"], rel=0.05)
    assert evaluation["points"] == 4


@pytest.mark.slow
def test_every_figure_is_on_the_parent_run_and_on_disk(study):
    folder, _, sweep, _, report, _ = study
    names = {f"{kind}_{m.replace('/', '_').replace('.', '_')}" for m in METRICS
             for kind in ("plane", "total_rate")} | {"fano"}
    assert set(report["figures"]) == names
    on_disk = {p.stem for p in (folder / "results" / "hit" / "report" / "figures").glob("*.png")}
    assert on_disk == names
    logged = {a.path.split("/")[-1].removesuffix(".png")
              for a in MlflowClient().list_artifacts(sweep.parent_run_id, "report")}
    assert names <= logged
    assert (folder / "results" / "hit" / "report" / "grid.csv").read_text().count("\n") == 5


@pytest.mark.slow
def test_the_classifier_comes_from_the_registry_and_a_second_pass_redoes_nothing(study):
    _, classifier, sweep, evaluation, _, (classifier_again, evaluation_again, sweep_again) = study
    assert classifier["classifier"] == "models:/hit_test-classifier@current"
    assert load_classifier(classifier["classifier"]).n_classes == 10
    versions = MlflowClient().search_model_versions("name = 'hit_test-classifier'")
    assert len(versions) == 1 and classifier_again["run_id"] == "(registered before)"
    assert evaluation_again == evaluation
    assert sweep_again.parent_run_id == sweep.parent_run_id and sweep_again.trials == {"COMPLETE": 4}
    parent = MlflowClient().get_run(sweep.parent_run_id)
    assert len(MlflowClient().search_runs([parent.info.experiment_id],
                                          f"tags.`mlflow.parentRunId` = '{sweep.parent_run_id}'")) == 4


@pytest.mark.slow
def test_logged_rates_psnr_and_classifier_accuracy_match_independent_computations(study):
    import numpy as np
    import torch
    from torch.distributions import Normal, kl_divergence

    from vae_core.data import load_dataset
    from vae_core.tracking.checkpoints import load_model

    _, classifier, sweep, _, _, _ = study
    parent = MlflowClient().get_run(sweep.parent_run_id)
    run = MlflowClient().search_runs([parent.info.experiment_id],
                                     f"tags.`mlflow.parentRunId` = '{sweep.parent_run_id}'")[0]
    logged = run.data.metrics
    x = load_dataset("digits", seed=0, resize=28).test
    model = load_model(run.info.run_id)
    with torch.no_grad():
        mu, std = model.q_z(model.bottom_up(x)[0])
        rate_z = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(1).mean()
        images = model.reconstruct(x).numpy().astype(np.float64)
    mse = ((x.numpy().astype(np.float64) - images) ** 2).reshape(len(x), -1).mean(1)
    assert logged["eval/rate_z"] == pytest.approx(float(rate_z), rel=1e-4)
    assert logged["recon.psnr"] == pytest.approx(float(np.mean(10 * np.log10(1.0 / mse))), rel=1e-6)
    assert logged["clf.real_acc"] == pytest.approx(classifier["test_accuracy"])  # the stage's own number
