"""S4's experiments: variance table, verification, streaming BIC, per-step MLflow logging, the CLI's
refusals, and the SUSY / CelebA readers."""

from __future__ import annotations

import gzip
import math

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient
from scipy.stats import multivariate_normal, norm
from sklearn.preprocessing import MinMaxScaler

from tests.conftest import run_cli
from vae_core.config import typed
from vae_core.data import DatasetMissingError, load_dataset
from vae_core.data.embedded import pca_log_likelihood
from vae_core.experiment import ExperimentConfig, load_data, train_one
from vae_core.models import build_model, model_config
from vae_core.models.linear_vae import LinearVAE
from vae_core.studies.elbo_entropies.streaming import StreamConfig, bic, run_stream, select_latent_sizes
from vae_core.studies.elbo_entropies.variance_table import estimator_spread
from vae_core.studies.elbo_entropies.verification import VerificationConfig, verify_linear_vae
from vae_core.training import Trainer, TrainerConfig


# -- the linear VAE -----------------------------------------------------------------------------
def test_linear_vae_closed_forms():
    torch.manual_seed(0)
    model = LinearVAE(4, 2, init_scale=0.5)
    with torch.no_grad():
        model.dec_log_var.fill_(math.log(0.3))
        model.enc_log_var.copy_(torch.tensor([-1.0, 0.4]))
    x = torch.randn(6, 4, dtype=torch.float32)
    # the closed-form ELBO is the expectation of the one-draw ELBO (Monte Carlo, 100k draws each)
    with torch.no_grad():
        draws = model.sampled_elbo(x.repeat(100000, 1)).view(100000, 6)
    error = (model.elbo(x).detach() - draws.mean(0)).abs()
    assert (error < 4 * draws.std(0) / math.sqrt(100000)).all()
    W, b = model.W.detach().numpy(), model.b.detach().numpy()
    exact = multivariate_normal(b, W @ W.T + 0.3 * np.eye(4)).logpdf(x.numpy())
    np.testing.assert_allclose(model.log_likelihood(x).detach().numpy(), exact, rtol=1e-4)
    entropies = (-4 * norm(scale=math.sqrt(0.3)).entropy()
                 + norm(scale=np.exp(0.5 * np.array([-1.0, 0.4]))).entropy().sum() - 2 * norm.entropy())
    assert float(model.entropy_sum()) == pytest.approx(entropies, rel=1e-5)


def test_converged_vae1_on_pca_meets_the_exact_log_likelihood():
    """Verification: ELBO, entropy sum and exact log-likelihood within 1% of each other."""
    data = load_dataset("pca", n=3000)
    model, table = verify_linear_vae(data, VerificationConfig(steps=100))
    last = table.iloc[-1]
    values = [last.elbo, last.entropy_sum, last.log_likelihood]
    assert max(values) - min(values) <= 0.01 * min(abs(v) for v in values)
    # the model's exact log-likelihood, independently from scipy, and the truth's value
    x = data.train.numpy()
    W, b = model.W.detach().numpy(), model.b.detach().numpy()
    sigma = float(model.dec_log_var.exp().sqrt())
    assert last.log_likelihood == pytest.approx(pca_log_likelihood(x, W, b, sigma).mean(), rel=1e-4)
    assert last.true_log_likelihood == pytest.approx(
        pca_log_likelihood(x, data.extras["W"], data.extras["b"], data.extras["sigma"]).mean())
    assert last.elbo <= last.log_likelihood + 1e-4  # a lower bound
    # both latents in use: encoder entropies 1/2 log(2 pi e tau^2) under 1 nat, by numpy
    tau2 = np.exp(model.enc_log_var.detach().numpy())
    assert last.active_latents == int((0.5 * np.log(2 * np.pi * np.e * tau2) < 1.0).sum()) == 2
    assert table.active_latents.iloc[0] == 0  # tau^2 = 1 at the start: every latent at the prior's 1.42


# -- the variance table -------------------------------------------------------------------------
def test_entropy_sum_spread_is_at_least_5x_smaller_than_the_sampled_elbo():
    data = load_dataset("pca", n=2000)
    torch.manual_seed(0)
    config = model_config(dict(family="gaussian_vae", vae_type="vae-1", n_layers=1, latent_size=2))
    model = build_model(config, data.sample_shape)
    settings = TrainerConfig(epochs=15, batch_size=100, lr=0.01, group_lr={"variances": 0.05})
    Trainer(model, data, settings).fit()
    table = estimator_spread(model, data.train, sample_sizes=(10, 100, 1000), repeats=10)
    std = table.pivot(index="n_samples", columns="estimator", values="std")
    assert (std.elbo >= 5 * std.entropy_sum).all(), std
    assert list(table.runs.unique()) == [10]
    # the spread shrinks like 1/sqrt(n): an independent check that the table samples n points
    assert std.elbo[10] / std.elbo[1000] == pytest.approx(10, rel=0.6)


# -- streaming ----------------------------------------------------------------------------------
def test_bic_formula():
    assert bic(-100.0, 2, 10, 256) == pytest.approx(21 * math.log(256) + 200.0)


def test_bic_picks_the_true_dimension_in_every_segment():
    config = StreamConfig()
    selection = select_latent_sizes(run_stream(config), config.eval_batches)
    assert selection.true_dim.tolist() == [6, 2, 4]
    assert selection.chosen_by_entropy_sum.tolist() == [6, 2, 4]
    assert selection.chosen_by_elbo.tolist() == [6, 2, 4]
    assert (selection.std_entropy_sum < selection.std_elbo).all()


# -- per-step MLflow logging --------------------------------------------------------------------
def test_per_step_metrics_reach_mlflow(workdir):
    config = typed(ExperimentConfig, {
        "model": "gaussian_vae", "dataset": "pca", "dataset_options": {"n": 500}, "vae_type": "vae-1",
        "n_layers": 1, "latent_sizes": [3], "epochs": 2, "batch_size": 100, "log_every_steps": 2,
        "kl_schedule": "linear", "kl_start": 0.0})
    data = load_data(config.data, config.trainer.seed)
    experiment_id = mlflow.set_experiment("s4-logging").experiment_id
    run_id, status = train_one(config, data, 3, None, experiment_id, run_name="tiny")
    assert status == "finished"
    client = MlflowClient()
    history = {m.step: m.value for m in client.get_metric_history(run_id, "step/elbo")}
    steps_per_epoch = math.ceil(data.train.shape[0] / 100)
    assert sorted(history) == list(range(2, 2 * steps_per_epoch + 1, 2))
    sums = {m.step: m.value for m in client.get_metric_history(run_id, "step/entropy_sum")}
    parts = {name: {m.step: m.value for m in client.get_metric_history(run_id, f"step/{name}")}
             for name in ("h_dec", "h_enc", "h_prior", "rel_gap", "beta", "active_latents")}
    for step in history:
        assert sums[step] == pytest.approx(-parts["h_dec"][step] + parts["h_enc"][step]
                                           - parts["h_prior"][step], rel=1e-5)
        assert parts["rel_gap"][step] == pytest.approx((history[step] - sums[step]) / abs(history[step]))
    total = 2 * steps_per_epoch  # beta used at step s is (s - 1) / (0.3 total)
    assert parts["beta"][2] == pytest.approx(min(1.0, 1 / (0.3 * total)))
    per_latent = [client.get_metric_history(run_id, f"step/h_enc_latent_{h}") for h in range(3)]
    last = max(history)
    entropies = [next(m.value for m in hist if m.step == last) for hist in per_latent]
    assert parts["active_latents"][last] == sum(e < 1.0 for e in entropies)
    assert sorted(m.step for m in client.get_metric_history(run_id, "val/elbo")) == [0, 1, 2]


# -- the command line refuses bad studies before any run ----------------------------------------
@pytest.mark.parametrize(("run", "key"), [
    ("{name: a, vae_type: vae-2}", "weight_constraint"),
    ("{name: a, vae_type: vae-1, weight_constraint: rescale}", "weight_constraint"),
    ("{name: a, vae_type: sigma_z, optimal_variances: true}", "optimal_variances"),
])
def test_cli_refuses_invalid_combinations_before_any_run(tmp_path, run, key):
    params = tmp_path / "params.yaml"
    params.write_text(f"train:\n  defaults: {{dataset: pca}}\n  runs:\n    - {{name: ok}}\n    - {run}\n")
    store = tmp_path / "store.db"
    result = run_cli("stage", "elbo_entropies", "train", "--params", str(params), "--out-dir",
                     str(tmp_path / "out"), cwd=tmp_path, env={"MLFLOW_TRACKING_URI": f"sqlite:///{store}"})
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {key}")
    assert not store.exists() and not (tmp_path / "out").exists()


# -- SUSY and CelebA ----------------------------------------------------------------------------
def test_susy_reads_the_uci_gzip_csv(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200).astype(float)
    features = rng.normal(size=(200, 18)) * rng.uniform(0.5, 5, 18) + rng.uniform(-3, 3, 18)
    (tmp_path / "susy").mkdir()
    with gzip.open(tmp_path / "susy" / "SUSY.csv.gz", "wt") as handle:
        pd.DataFrame(np.column_stack([labels, features])).to_csv(handle, header=False, index=False)
    splits = load_dataset("susy", seed=0, val_fraction=0.25, data_dir=tmp_path)
    assert splits.sample_shape == (18,)
    assert splits.test.shape[0] == 20 and splits.train.shape[0] + splits.val.shape[0] == 180
    scaler = MinMaxScaler().fit(features[:180])
    np.testing.assert_allclose(splits.test.numpy(), scaler.transform(features[180:]), atol=1e-6)
    pool = np.sort(np.concatenate([splits.train.numpy(), splits.val.numpy()]), axis=0)
    np.testing.assert_allclose(pool, np.sort(scaler.transform(features[:180]), axis=0), atol=1e-6)
    np.testing.assert_array_equal(splits.test_labels.numpy(), labels[180:])
    limited = load_dataset("susy", data_dir=tmp_path, limit=100)
    assert limited.train.shape[0] + limited.val.shape[0] + limited.test.shape[0] == 100


def test_missing_celeba_names_the_folder_and_files(tmp_path):
    with pytest.raises(DatasetMissingError) as error:
        load_dataset("celeba", data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / "celeba" / "celeba") in message
    assert "img_align_celeba" in message and "list_eval_partition.txt" in message
    assert "fetch_data -P dataset=celeba" in message
