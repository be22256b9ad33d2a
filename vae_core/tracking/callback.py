"""The trainer's MLflow callback: batched per-epoch metrics, checkpoints as logged models, figures.

Idempotent across a resume: it reads what the run already holds and never logs a step twice.
"""

from __future__ import annotations

import time

from mlflow import MlflowClient
from mlflow.entities import Metric

from vae_core.plots.training import loss_curves_figure
from vae_core.tracking.models import log_checkpoint, logged_checkpoint_epochs
from vae_core.training.callbacks import Callback
from vae_core.training.trainer import Trainer

WATCHED_METRIC = "val/loss"


class MlflowCallback(Callback):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.client = MlflowClient()
        self.logged_epochs: set[int] = set()
        self.checkpoint_epochs: set[int] = set()

    def on_train_start(self, trainer: Trainer) -> None:
        history = self.client.get_metric_history(self.run_id, WATCHED_METRIC)
        self.logged_epochs = {m.step for m in history}
        self.checkpoint_epochs = logged_checkpoint_epochs(self.run_id)

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if epoch in self.logged_epochs:
            return
        now = int(time.time() * 1000)
        batch = [Metric(name, float(value), now, epoch) for name, value in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch, synchronous=True)
        self.logged_epochs.add(epoch)

    def on_checkpoint(self, trainer: Trainer, epoch: int) -> None:
        if epoch in self.checkpoint_epochs:
            return
        log_checkpoint(trainer.model, self.run_id, epoch)
        self.checkpoint_epochs.add(epoch)

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        if status == "failed":
            return
        history = self.client.get_metric_history(self.run_id, "train/loss")
        val = self.client.get_metric_history(self.run_id, WATCHED_METRIC)
        figure = loss_curves_figure(
            {"train": {m.step: m.value for m in history}, "val": {m.step: m.value for m in val}},
            title=f"run {self.run_id[:8]}")
        self.client.log_figure(self.run_id, figure, "figures/loss_curves.png")
