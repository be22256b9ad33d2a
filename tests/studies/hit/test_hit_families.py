"""The hvae / lvae families as the trainer and the sweep see them: the epoch reaches the model
(Gumbel temperature, rate warm-up), and bad declarations stop with one line before any run."""

from __future__ import annotations

import math

import mlflow
import pytest
import torch
import yaml

from vae_core.config import ConfigError, typed
from vae_core.data.splits import DatasetSplits
from vae_core.experiment import ExperimentConfig, check_models_fit
from vae_core.models import build_model
from vae_core.studies import run_stage
from vae_core.sweep.runner import run_sweep
from vae_core.sweep.spec import load_study_spec
from vae_core.training import Callback, Trainer, TrainerConfig


def _images(n: int, seed: int) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


class RecordSchedule(Callback):
    def __init__(self) -> None:
        self.seen: dict[int, tuple[float, float]] = {}

    def on_epoch_end(self, trainer, epoch, metrics) -> None:
        self.seen[epoch] = (trainer.model.temperature, trainer.model.kl_scale)


def test_the_trainer_tells_the_model_each_epoch():
    config = typed(ExperimentConfig, {"model": "lvae", "latent_kind": "categorical", "conv_channels": 2,
                                      "latent_sizes": [3]})
    assert config.model.rate_warmup  # the LVAE trains with the warm-up (methods.md S2)
    model = build_model(config.model_for(3), (1, 28, 28))
    data = DatasetSplits("toy", {}, _images(8, 0), _images(4, 1), _images(4, 2))
    record = RecordSchedule()
    epochs = 10
    Trainer(model, data, TrainerConfig(epochs=epochs, batch_size=8), callbacks=[record]).fit()
    for epoch in range(1, epochs + 1):
        temperature = max(math.exp(-0.007 * epoch), 0.4)
        warmup = min(1.0, epoch / 2)  # linear over the first fifth of 10 epochs
        assert record.seen[epoch] == pytest.approx((temperature, warmup)), epoch


@pytest.mark.parametrize(("values", "key"), [
    ({"model": "hvae", "latent_kind": "poisson"}, "latent_kind"),
    ({"model": "lvae", "conv_channels": 0}, "conv_channels"),
    ({"model": "hvae", "likelihood": "gaussian_learned"}, "likelihood"),
    ({"model": "hvae", "beta_y": -1.0}, "beta_y"),
    ({"model": "hvae", "arch": "conv32"}, "arch"),
])
def test_bad_declarations_are_one_line_naming_the_key(values, key):
    with pytest.raises(ConfigError) as error:
        typed(ExperimentConfig, values)
    message = str(error.value)
    assert message.startswith(f"{key}:") and "\n" not in message


def test_z_dims_and_image_size_are_refused_before_training():
    data = DatasetSplits("toy", {}, _images(4, 0), _images(4, 1), _images(4, 2))
    one_class = typed(ExperimentConfig, {"model": "hvae", "latent_kind": "categorical", "latent_sizes": [1]})
    with pytest.raises(ConfigError, match=r"^z_dims: .*1"):
        check_models_fit(one_class, data)
    small = DatasetSplits("toy", {}, torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8))
    with pytest.raises(ConfigError, match=r"^arch: .*resize"):
        check_models_fit(typed(ExperimentConfig, {"model": "hvae"}), small)


def test_a_grid_with_an_impossible_z_dims_starts_no_run(tmp_path, tracking_uri):
    (tmp_path / "MLproject").write_text("name: refusal\n")
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({
        "study": "hit_refused",
        "base": {"dataset": "digits", "dataset_options": {"resize": 28}, "model": "hvae",
                 "latent_kind": "categorical", "epochs": 1},
        "space": {"latent_size": {"grid": [4, 1]}}, "sampler": {"name": "grid"},
        "objectives": "val/neg_elbo", "storage": f"sqlite:///{tmp_path / 'optuna.db'}"}))
    with pytest.raises(ConfigError, match=r"^space.latent_size: value 1 cannot train: z_dims"):
        run_sweep(load_study_spec(str(path), tmp_path), path, n_workers=1)
    assert mlflow.get_experiment_by_name("hit_refused") is None


def test_the_hit_stages_refuse_a_grid_of_another_family(tmp_path, workdir):
    path = tmp_path / "vae.yaml"
    path.write_text(yaml.safe_dump({"study": "not_hit", "base": {"dataset": "digits", "model": "vae"},
                                    "space": {"beta": {"grid": [1.0]}}, "sampler": {"name": "grid"},
                                    "objectives": "val/neg_elbo"}))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"evaluate": {"sweep_file": str(path)}}))
    with pytest.raises(ConfigError, match=r"^sweep_file: .*'vae'.*hvae, lvae"):
        run_stage("hit", "evaluate", params)


@pytest.mark.parametrize("family", ["hvae", "lvae"])
def test_per_step_metrics_hold_both_rates_without_warnings(family):
    import warnings

    config = typed(ExperimentConfig, {"model": family, "conv_channels": 2})
    model = build_model(config.model_for(3), (1, 28, 28))
    output = model(_images(4, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metrics = model.step_metrics(output)
    assert metrics["step/rate_z"] == pytest.approx(float(output.rate_z))
    assert metrics["step/rate_y_bpd"] == pytest.approx(float(output.rate_y) / (784 * math.log(2)))


def test_a_slurm_evaluation_the_nodes_cannot_run_is_refused_before_any_work(tmp_path, workdir):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"evaluate": {"sweep_file": str(tmp_path / "absent.yaml"),
                                                   "launch": {"launcher": "slurm"}}}))
    with pytest.raises(ConfigError) as error:
        run_stage("hit", "evaluate", params)
    assert "\n" not in str(error.value) and "absent.yaml" not in str(error.value)  # launch checked first
