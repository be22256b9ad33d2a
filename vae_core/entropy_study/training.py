"""S4 training: optimiser groups with a separate variance learning rate, the weight constraint after
each step, KL annealing and per-step entropy metrics, all as small additions to the shared Trainer."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import mlflow
import torch
from mlflow import MlflowClient
from mlflow.entities import Metric

from vae_core.analysis.entropies import active_latents, relative_gap
from vae_core.data import DatasetSplits, load_dataset
from vae_core.entropy_study.config import ANNEALING_FRACTION, EntropyRunConfig
from vae_core.experiment import KIND_TAG, fit_in_run, open_run, run_key, state_path
from vae_core.models import build_model
from vae_core.models.families import ModelOutput
from vae_core.models.gaussian_vae import GaussianVAE
from vae_core.tracking.callback import MlflowCallback
from vae_core.tracking.store import git_commit
from vae_core.training import Callback, Trainer, TrainerConfig

LOG_BATCH_LIMIT = 1000  # MLflow's most metrics per log_batch call


class EntropyTrainer(Trainer):
    """The shared Trainer with two Adam groups (network, variances) and the weight constraint."""

    def __init__(self, model: GaussianVAE, data: DatasetSplits, config: TrainerConfig,
                 variance_lr: float = 0.0, callbacks: Sequence[Callback] = (),
                 state_path: Path | None = None) -> None:
        super().__init__(model, data, config, callbacks, state_path)
        variances = model.variance_parameters()
        chosen = {id(p) for p in variances}
        groups = [{"params": [p for p in model.parameters() if id(p) not in chosen]}]
        if variances:
            groups.append({"params": variances, "lr": variance_lr or config.lr})
        self.optimizer = torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay)

    def steps_per_epoch(self) -> int:
        return math.ceil(self.data.train.shape[0] / self.config.batch_size)

    def after_step(self) -> None:
        self.model.apply_weight_constraint()


class KLAnnealing(Callback):
    """beta rises linearly from `start` to 1 over the first 30% of all optimiser steps."""

    def __init__(self, start: float) -> None:
        self.start = start

    def weight(self, step: int, total: int) -> float:
        ramp = max(1.0, ANNEALING_FRACTION * total)
        return self.start + (1.0 - self.start) * min(1.0, step / ramp)

    def _set(self, trainer: EntropyTrainer) -> None:
        total = trainer.config.epochs * trainer.steps_per_epoch()
        trainer.model.kl_weight = self.weight(trainer.global_step, total)

    def on_train_start(self, trainer: EntropyTrainer) -> None:
        self._set(trainer)

    def on_step_end(self, trainer: EntropyTrainer, step: int, batch: torch.Tensor,
                    output: ModelOutput) -> None:
        self._set(trainer)


def step_metrics(output: ModelOutput, kl_weight: float) -> dict[str, float]:
    """The per-step S4 metrics of one training batch (namespaced 'step/')."""
    elbo, total = float(output.elbo.detach()), float(output.entropy_sum.detach())
    per_latent = output.enc_entropy_per_latent.detach()
    metrics = {"step/elbo": elbo, "step/entropy_sum": total, "step/h_dec": float(output.h_dec),
               "step/h_enc": float(output.h_enc), "step/h_prior": float(output.h_prior),
               "step/rel_gap": relative_gap(elbo, total, elbo), "step/beta": kl_weight,
               "step/active_latents": float(active_latents(per_latent))}
    metrics.update({f"step/h_enc_latent_{h}": float(v) for h, v in enumerate(per_latent)})
    return metrics


class StepMetricsCallback(Callback):
    """Buffers per-step metrics every `every` steps and sends them to MLflow once per epoch."""

    def __init__(self, run_id: str, every: int) -> None:
        self.run_id = run_id
        self.every = every
        self.client = MlflowClient()
        self.buffer: list[Metric] = []
        self.last_logged = 0

    def on_train_start(self, trainer: Trainer) -> None:
        history = self.client.get_metric_history(self.run_id, "step/elbo")
        self.last_logged = max((m.step for m in history), default=0)

    def on_step_end(self, trainer: Trainer, step: int, batch: torch.Tensor, output: ModelOutput) -> None:
        if step % self.every or step <= self.last_logged:
            return
        now = int(time.time() * 1000)
        self.buffer += [Metric(k, v, now, step)
                        for k, v in step_metrics(output, trainer.model.kl_weight).items()]

    def flush(self) -> None:
        for start in range(0, len(self.buffer), LOG_BATCH_LIMIT):
            self.client.log_batch(self.run_id, metrics=self.buffer[start:start + LOG_BATCH_LIMIT],
                                  synchronous=True)
        if self.buffer:
            self.last_logged = max(m.step for m in self.buffer)
        self.buffer = []

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        self.flush()

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        self.flush()


def load_run_data(config: EntropyRunConfig) -> DatasetSplits:
    return load_dataset(config.dataset, seed=config.seed, val_fraction=config.val_fraction,
                        **config.dataset_options)


def train_entropy_run(config: EntropyRunConfig, data: DatasetSplits, experiment_id: str,
                      parent_run_id: str | None = None) -> tuple[str, str]:
    """Train one Gaussian VAE in its own MLflow run (resumed by key); returns (run_id, status)."""
    key = run_key({**config.to_dict(), "fingerprint": data.fingerprint(), "kind": "entropies"})
    tags = {"study": config.study, "dataset": config.dataset, "model_family": "gaussian_vae",
            "vae_type": config.vae_type, "git_commit": git_commit(),
            "dataset_fingerprint": data.fingerprint(), KIND_TAG: "entropies_train"}
    run_id, resumed = open_run(experiment_id, key, tags,
                               {**config.to_dict(), "data_dim": data.data_dim}, config.name,
                               parent_run_id)
    torch.manual_seed(config.seed)
    model = build_model(config.model_spec(), data.sample_shape)
    callbacks: list[Callback] = [MlflowCallback(run_id), StepMetricsCallback(run_id, config.log_every)]
    if config.kl_annealing:
        callbacks.append(KLAnnealing(config.beta_start))  # after the logger: it logs the used beta
    trainer = EntropyTrainer(model, data, config.trainer_config(), config.variance_lr, callbacks,
                             state_path(run_id))
    if not resumed:
        mlflow.log_param("steps_per_epoch", trainer.steps_per_epoch())
    return run_id, fit_in_run(trainer, run_id)
