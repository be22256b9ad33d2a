"""`test_each_epoch`: the test split's terms every epoch, equal to evaluating it by hand."""

from __future__ import annotations

import pytest
import torch

from vae_core.data.splits import DatasetSplits
from vae_core.models import build_model, model_config
from vae_core.training import Callback, Trainer, TrainerConfig


class Keep(Callback):
    def __init__(self) -> None:
        self.metrics: dict[int, dict[str, float]] = {}

    def on_epoch_end(self, trainer, epoch, metrics) -> None:
        self.metrics[epoch] = dict(metrics)


@pytest.mark.parametrize("on", [True, False])
def test_the_test_split_is_evaluated_each_epoch_only_when_asked(on):
    g = torch.Generator().manual_seed(0)
    data = DatasetSplits("toy", {}, torch.rand(16, 6, generator=g), torch.rand(8, 6, generator=g),
                         torch.rand(8, 6, generator=g))
    model = build_model(model_config({"family": "ae", "latent_size": 2}), (6,))  # deterministic: exact
    keep = Keep()
    Trainer(model, data, TrainerConfig(epochs=2, batch_size=8, test_each_epoch=on), callbacks=[keep]).fit()
    assert all(("test/loss" in m) == on for m in keep.metrics.values())
    if on:
        with torch.no_grad():
            by_hand = float(model.eval()(data.test).loss)  # one batch: the batch mean is the mean
        assert keep.metrics[2]["test/loss"] == pytest.approx(by_hand, rel=1e-6)
