"""The trainer on real data: it learns, its evaluation is exact, it stops on bad numbers."""

from __future__ import annotations

import pytest
import torch

from vae_core.config import ConfigError, typed
from vae_core.data import load_dataset
from vae_core.experiment import ExperimentConfig
from vae_core.models import build_model, model_config
from vae_core.training import Callback, NonFiniteLossError, StopTraining, Trainer, TrainerConfig


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


class Recorder(Callback):
    def __init__(self) -> None:
        self.epochs, self.checkpoints, self.status = [], [], None

    def on_epoch_end(self, trainer, epoch, metrics):
        self.epochs.append((epoch, metrics))

    def on_checkpoint(self, trainer, epoch):
        self.checkpoints.append(epoch)

    def on_train_end(self, trainer, status):
        self.status = status


def test_trainer_learns_and_reports_every_epoch(digits):
    torch.manual_seed(0)
    model = build_model(model_config(dict(latent_size=4)), digits.sample_shape)
    recorder = Recorder()
    status = Trainer(model, digits, TrainerConfig(epochs=6, batch_size=64, save_interval=[0, 3, 6]),
                     [recorder]).fit()
    assert status == "finished" and recorder.status == "finished"
    assert [e for e, _ in recorder.epochs] == list(range(7)) and recorder.checkpoints == [0, 3, 6]
    first, last = recorder.epochs[0][1], recorder.epochs[-1][1]
    assert set(last) >= {"train/loss", "train/recon", "train/kl", "val/loss", "val/recon", "val/kl"}
    assert last["val/loss"] < 0.9 * first["val/loss"]
    assert last["val/loss"] == pytest.approx(last["val/recon"] + last["val/kl"], rel=1e-5)


def test_evaluation_equals_a_full_batch_computation(digits):
    torch.manual_seed(1)
    model = build_model(model_config(dict(family="ae", latent_size=3, likelihood="gaussian_fixed",
                                  sigma=0.5)), digits.sample_shape)
    trainer = Trainer(model, digits, TrainerConfig(batch_size=37))
    metrics = trainer.evaluate(digits.val, "val")
    model.eval()
    with torch.no_grad():
        mu, _ = model.encode(digits.val)
        direct = model.likelihood.nll(digits.val, model.decoder(mu)).mean()
    assert metrics["val/recon"] == pytest.approx(float(direct), rel=1e-5)
    assert metrics["val/kl"] == 0.0


def test_non_finite_loss_names_the_term(digits):
    bad = load_dataset("digits", seed=0)
    bad.train[0, 0, 0, 0] = float("nan")
    model = build_model(model_config(dict(latent_size=2)), bad.sample_shape)
    with pytest.raises(NonFiniteLossError, match="'recon' became nan at epoch 1"):
        Trainer(model, bad, TrainerConfig(epochs=1, batch_size=2000)).fit()


def test_a_callback_can_stop_training(digits):
    class StopAtTwo(Callback):
        def on_epoch_end(self, trainer, epoch, metrics):
            if epoch == 2:
                raise StopTraining

    model = build_model(model_config(dict(latent_size=2)), digits.sample_shape)
    recorder = Recorder()
    status = Trainer(model, digits, TrainerConfig(epochs=5), [recorder, StopAtTwo()]).fit()
    assert status == "stopped" and recorder.status == "stopped" and len(recorder.epochs) == 3


@pytest.mark.parametrize(("values", "message"), [
    ({"dataset": "imagenet"}, "^dataset: unknown value 'imagenet'; allowed values: digits"),
    ({"model": "gan"}, "^model: unknown value 'gan'; allowed values: ae, vae"),
    ({"latent_sizes": [2, 0]}, r"^latent_sizes: got \[2, 0\]: give one or more latent sizes >= 1"),
    ({"latent_sizes": "2,x"}, r"^latent_sizes.1: got 'x': Input should be a valid integer"),
    ({"epochs": -1}, "^epochs: got -1: Input should be greater than or equal to 0"),
    ({"beta": -0.5}, "^beta: got -0.5: Input should be greater than or equal to 0"),
    ({"lr": "fast"}, "^lr: got 'fast': Input should be a valid number"),
    ({"kl_schedule": "cosine"}, "^kl_schedule: unknown value 'cosine'; allowed values: 'constant' or"),
    ({"save_interval": {"evry": 2}}, "^save_interval: unknown key 'evry'; allowed keys: every, first, last"),
    ({"latent_size": 3}, r"^latent_size: not a key of a 'vae' training run; allowed keys:"),
    ({"dataset_options": {"colour": True}}, r"unknown key\(s\) colour; allowed keys: resize"),
])
def test_bad_configuration_names_key_and_allowed_values(values, message):
    with pytest.raises(ConfigError, match=message):
        typed(ExperimentConfig, values)


def test_default_save_interval_is_first_and_last_epoch():
    assert typed(ExperimentConfig, {"epochs": 7}).trainer.checkpoint_epochs() == [0, 7]


def test_checkpoint_rules_and_clipped_lists():
    every = typed(ExperimentConfig, {"epochs": 10, "save_interval": {"every": 4}})
    assert every.trainer.checkpoint_epochs() == [0, 4, 8, 10]
    rule = {"every": 3, "first": False, "last": False}
    bare = typed(ExperimentConfig, {"epochs": 10, "save_interval": rule})
    assert bare.trainer.checkpoint_epochs() == [3, 6, 9]
    clipped = typed(ExperimentConfig, {"epochs": 3, "save_interval": [0, 2, 4, 8]})
    with pytest.warns(UserWarning, match=r"save_interval: epoch\(s\) \[4, 8\] lie beyond epochs=3"):
        assert clipped.trainer.checkpoint_epochs() == [0, 2, 3]


def test_command_line_strings_and_yaml_values_give_the_same_config():
    text = typed(ExperimentConfig, {"latent_sizes": "2,4 8", "epochs": "3", "lr": "1e-3", "beta": "0.5",
                                    "dataset_options": "resize=16", "save_interval": "0,3"})
    yaml_values = typed(ExperimentConfig, {"latent_sizes": [2, 4, 8], "epochs": 3, "lr": 0.001, "beta": 0.5,
                                           "dataset_options": {"resize": 16}, "save_interval": [0, 3]})
    assert text == yaml_values
