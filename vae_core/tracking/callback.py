"""The trainer's MLflow callbacks: batched per-epoch metrics, checkpoints as logged models, and
per-step metrics every n steps sent once per epoch.

Idempotent across a resume: each reads what the run already holds and never logs a step twice.
"""

from __future__ import annotations

import time

import torch
from mlflow import MlflowClient
from mlflow.entities import Metric

from vae_core.models.families import ModelOutput
from vae_core.tracking.checkpoints import log_checkpoint, run_checkpoints
from vae_core.tracking.history import logged_steps
from vae_core.training.callbacks import Callback
from vae_core.training.trainer import Trainer

WATCHED_METRIC = "val/loss"
LOG_BATCH_LIMIT = 1000  # MLflow's most metrics per log_batch call


def log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), LOG_BATCH_LIMIT):
        client.log_batch(run_id, metrics=metrics[start:start + LOG_BATCH_LIMIT], synchronous=True)


class MlflowCallback(Callback):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.client = MlflowClient()
        self.logged_epochs: set[int] = set()
        self.checkpoint_epochs: set[int] = set()

    def on_train_start(self, trainer: Trainer) -> None:
        self.logged_epochs = logged_steps(self.run_id, WATCHED_METRIC)
        self.checkpoint_epochs = set(run_checkpoints(self.run_id))

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if epoch in self.logged_epochs:
            return
        now = int(time.time() * 1000)
        log_metrics(self.client, self.run_id, [Metric(k, float(v), now, epoch) for k, v in metrics.items()])
        self.logged_epochs.add(epoch)

    def on_checkpoint(self, trainer: Trainer, epoch: int) -> None:
        if epoch in self.checkpoint_epochs:
            return
        log_checkpoint(trainer.model, self.run_id, epoch)
        self.checkpoint_epochs.add(epoch)


class StepMetricsCallback(Callback):
    """The model's `step_metrics` every `log_every_steps` optimiser steps, buffered and sent once
    per epoch (one batched call, not one per step)."""

    def __init__(self, run_id: str, every: int) -> None:
        self.run_id = run_id
        self.every = every
        self.client = MlflowClient()
        self.buffer: list[Metric] = []
        self.last_logged = 0

    def on_train_start(self, trainer: Trainer) -> None:
        steps = logged_steps(self.run_id, "step/loss") | logged_steps(self.run_id, "step/elbo")
        self.last_logged = max(steps, default=0)

    def on_step_end(self, trainer: Trainer, step: int, batch: torch.Tensor, output: ModelOutput) -> None:
        if step % self.every or step <= self.last_logged:
            return
        now = int(time.time() * 1000)
        self.buffer += [Metric(k, v, now, step) for k, v in trainer.model.step_metrics(output).items()]

    def flush(self) -> None:
        log_metrics(self.client, self.run_id, self.buffer)
        if self.buffer:
            self.last_logged = max(m.step for m in self.buffer)
        self.buffer = []

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        self.flush()

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        self.flush()
