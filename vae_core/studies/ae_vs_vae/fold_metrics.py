"""S3's per-epoch reconstruction metrics (MSE, L1, BCE) added to the epoch's metrics dict.

Runs before the dict is logged (train_one's `metric_callbacks`), so the metrics land in the
fold's run with the trainer's own loss, recon and KL. Images are reconstructed from the mean
code (mu): a fixed number per epoch, the same for AE and VAE. The test split is measured once,
at the last epoch, with the trainer's own loss terms beside it.
"""

from __future__ import annotations

import numpy as np
import torch

from vae_core.analysis.reconstruction import reconstruction_metrics
from vae_core.training import Callback, Trainer

FIXED = ("mse", "l1", "bce")


@torch.no_grad()
def reconstruct(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """The likelihood's mean image decoded from each image's mean code, as float64."""
    was_training = model.training
    model.eval()
    parts = []
    for batch in x.split(batch_size):
        mu, _ = model.encode(batch)
        parts.append(model.likelihood.mean(model.decoder(mu)).double().cpu().numpy())
    model.train(was_training)
    return np.concatenate(parts)


def split_metrics(trainer: Trainer, x: torch.Tensor, split: str) -> dict[str, float]:
    """{split/mse, split/l1, split/bce}: per-sample sums averaged over the split."""
    measured = reconstruction_metrics(x.double().cpu().numpy(), reconstruct(trainer.model, x,
                                                                            trainer.config.batch_size))
    return {f"{split}/{name}": measured[f"recon_metrics.{name}"] for name in FIXED}


class ReconstructionMetrics(Callback):
    """Train and val MSE/L1/BCE every epoch; test loss terms and MSE/L1/BCE at the last."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        metrics.update(split_metrics(trainer, trainer.data.train, "train"))
        metrics.update(split_metrics(trainer, trainer.data.val, "val"))
        if epoch == trainer.config.epochs:
            metrics.update(trainer.evaluate(trainer.data.test, "test"))
            metrics.update(split_metrics(trainer, trainer.data.test, "test"))
