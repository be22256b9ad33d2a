"""The cosine learning-rate schedule: each step's rate against the closed form, every group at
its own initial rate, 0 at the end, and a resumed run continuing the same curve."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vae_core.data import load_dataset
from vae_core.models import build_model, model_config
from vae_core.training import Callback, Trainer, TrainerConfig


class RateRecorder(Callback):
    """The rate of every group just before each optimiser step (set after the previous one)."""

    def __init__(self) -> None:
        self.rates: list[list[float]] = []

    def on_train_start(self, trainer):
        self.rates.append([g["lr"] for g in trainer.optimizer.param_groups])

    def on_step_end(self, trainer, step, batch, output):
        self.rates.append([g["lr"] for g in trainer.optimizer.param_groups])


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def _network(digits):
    """S4's Gaussian VAE: it has a `variances` parameter group for its own rate."""
    config = model_config(dict(family="gaussian_vae", latent_size=2, vae_type="vae-1"))
    return build_model(config, digits.sample_shape)


def test_every_group_follows_the_cosine_from_its_own_rate_to_zero(digits):
    recorder = RateRecorder()
    config = TrainerConfig(epochs=3, batch_size=256, lr=0.004, group_lr={"variances": 0.02},
                           lr_schedule="cosine")
    trainer = Trainer(_network(digits), digits, config, [recorder])
    trainer.fit()
    total = 3 * math.ceil(digits.train.shape[0] / 256)
    assert trainer.global_step == total
    # the recorder runs before the schedule's step-end callback: entry k + 1 is the rate step k used
    expected = [[base * 0.5 * (1 + math.cos(math.pi * k / total)) for base in (0.004, 0.02)]
                for k in range(total)]
    np.testing.assert_allclose(recorder.rates[1:], expected, rtol=1e-12)
    assert [g["lr"] for g in trainer.optimizer.param_groups] == pytest.approx([0.0, 0.0], abs=1e-15)


def test_constant_schedule_leaves_the_rate_alone(digits):
    trainer = Trainer(_network(digits), digits, TrainerConfig(epochs=1, batch_size=256, lr=0.003))
    trainer.fit()
    assert {g["lr"] for g in trainer.optimizer.param_groups} == {0.003}


def test_a_resumed_run_continues_the_curve(digits, tmp_path):
    config = TrainerConfig(epochs=4, batch_size=256, lr=0.004, lr_schedule="cosine", seed=3)

    class StopAfterTwo(Callback):
        def on_epoch_end(self, trainer, epoch, metrics):
            if epoch == 2:
                raise KeyboardInterrupt

    torch.manual_seed(0)
    whole = Trainer(_network(digits), digits, config)
    whole.fit()
    torch.manual_seed(0)
    state = tmp_path / "state.pt"
    with pytest.raises(KeyboardInterrupt):
        Trainer(_network(digits), digits, config, [StopAfterTwo()], state_path=state).fit()
    torch.manual_seed(0)
    resumed = Trainer(_network(digits), digits, config, state_path=state)
    resumed.fit()
    assert resumed.history[4] == pytest.approx(whole.history[4], rel=1e-6)
    for a, b in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        assert torch.allclose(a, b)
