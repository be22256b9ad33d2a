"""One trainer for every family: Adam, in-memory batches, per-epoch evaluation, resumable state.

It knows nothing about MLflow: tracking happens in callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vae_core.config import ConfigError
from vae_core.data.batching import IndexBatcher
from vae_core.data.splits import DatasetSplits
from vae_core.training.callbacks import Callback, StopTraining
from vae_core.training.config import TrainerConfig
from vae_core.training.device import accumulator_dtype, autocast, resolve_device, splits_on
from vae_core.training.state import load_state, save_state
from vae_core.training.term_sums import TermSums


def bits_per_dim(metrics: dict[str, float], prefix: str, sample_shape: tuple[int, ...]
                 ) -> dict[str, float]:
    """The negative ELBO in bits per data dimension, for image data (a (H, W) or (C, H, W) sample),
    the unit image-model papers report."""
    neg_elbo = metrics.get(f"{prefix}/neg_elbo")
    if neg_elbo is None or len(sample_shape) < 2:
        return {}
    return {f"{prefix}/bits_per_dim": neg_elbo / (math.prod(sample_shape) * math.log(2))}


def parameter_groups(model: nn.Module, config: TrainerConfig) -> list[dict[str, Any]]:
    """Adam groups: the model's named groups at their own rates (`group_lr`), the rest at `lr`."""
    named = model.parameter_groups() if hasattr(model, "parameter_groups") else {}
    unknown = sorted(set(config.group_lr) - set(named))
    if unknown:
        raise ConfigError(f"group_lr: {type(model).__name__} has no parameter group {unknown[0]!r}; "
                          f"allowed groups: {', '.join(named) or 'none'}")
    chosen = {id(p) for params in named.values() for p in params}
    groups = [{"params": [p for p in model.parameters() if id(p) not in chosen]}]
    groups += [{"params": params, "lr": config.group_lr.get(name, config.lr)}
               for name, params in named.items() if params]
    return groups


class Trainer:
    """Train `model` on `data`, calling callbacks each epoch; epoch 0 evaluates the untrained net."""

    def __init__(self, model: nn.Module, data: DatasetSplits, config: TrainerConfig,
                 callbacks: Sequence[Callback] = (), state_path: Path | None = None) -> None:
        from vae_core.training.schedules import CosineLRSchedule, LinearKLSchedule

        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.data = splits_on(data, self.device)  # moved once; batches are indexed there
        self.config = config
        self.forward = torch.compile(self.model) if config.compile else self.model
        self.scaler = torch.amp.GradScaler("cuda", enabled=config.precision == "16-mixed")
        self.sum_dtype = accumulator_dtype(self.device)
        self.checkpoint_epochs = set(config.checkpoint_epochs())
        self.callbacks = list(callbacks)
        if config.kl_schedule == "linear":  # last: per-step loggers record the scale a step used
            self.callbacks.append(LinearKLSchedule(config.kl_start, config.kl_warmup))
        if config.lr_schedule == "cosine":
            self.callbacks.append(CosineLRSchedule())
        self.state_path = state_path
        torch.manual_seed(config.seed)
        self.optimizer = torch.optim.Adam(parameter_groups(model, config), lr=config.lr,
                                          weight_decay=config.weight_decay)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.history: dict[int, dict[str, float]] = {}
        self.epoch = -1  # last completed epoch
        self.global_step = 0  # optimiser steps taken, across epochs

    # -- evaluation -------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, prefix: str) -> dict[str, float]:
        """Batch-size-weighted means of every loss term, with a fixed noise seed."""
        was_training = self.model.training
        self.model.eval()
        sums = TermSums(self.sum_dtype)
        with torch.random.fork_rng(device_type="mps" if self.device.type == "mps" else "cuda"):
            torch.manual_seed(self.config.seed + 1)
            for batch in x.split(self.config.batch_size):
                with autocast(self.device, self.config.precision):
                    output = self.model(batch)
                sums.add(output, batch.shape[0])
        self.model.train(was_training)
        metrics = sums.means(prefix)
        return {**metrics, **bits_per_dim(metrics, prefix, self.data.sample_shape)}

    # -- one epoch --------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict[str, float]:
        """One pass over the shuffled training set; loss terms are summed on the device and read
        once, at the end (no host sync per step). A model with `set_epoch(epoch, epochs)` (a
        Gumbel temperature, a rate warm-up) is told the epoch first."""
        if hasattr(self.model, "set_epoch"):
            self.model.set_epoch(epoch, self.config.epochs)
        self.model.train()
        sums = TermSums(self.sum_dtype)
        output = None
        for batch in IndexBatcher(self.data.train, self.config.batch_size, True, self.generator):
            with autocast(self.device, self.config.precision):
                output = self.forward(batch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(output.loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if hasattr(self.model, "after_step"):
                self.model.after_step()
            self.global_step += 1
            for callback in self.callbacks:
                callback.on_step_end(self, self.global_step, batch, output)
            sums.add(output, batch.shape[0], watch=True)
        sums.check_finite(epoch)
        metrics = sums.means("train")
        metrics.update(bits_per_dim(metrics, "train", self.data.sample_shape))
        metrics.update({f"model/{k}": v for k, v in (output.logs if output else {}).items()})
        return metrics

    # -- state ------------------------------------------------------------------------------
    def state_dict(self, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "metrics": metrics, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(), "config": self.config.model_dump(),
            "global_step": self.global_step,
        }

    def restore(self) -> dict[str, float] | None:
        """Load the last saved state; returns that epoch's metrics, or None for a fresh start."""
        state = load_state(self.state_path) if self.state_path else None
        if state is None:
            return None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch = state["epoch"]
        self.global_step = state.get("global_step", 0)
        return state["metrics"]

    # -- the loop ---------------------------------------------------------------------------
    def _finish_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.history[epoch] = metrics
        for callback in self.callbacks:
            callback.on_epoch_end(self, epoch, metrics)
        if epoch in self.checkpoint_epochs:
            for callback in self.callbacks:
                callback.on_checkpoint(self, epoch)

    def fit(self) -> str:
        """Run to `epochs`; returns 'finished' or 'stopped' (a callback raised StopTraining)."""
        resumed_metrics = self.restore()
        for callback in self.callbacks:
            callback.on_train_start(self)
        status = "failed"
        try:
            if resumed_metrics is not None:
                # The state is saved before the epoch's events: replay them (callbacks skip
                # what they already recorded) so nothing is lost and nothing logged twice.
                self._finish_epoch(self.epoch, resumed_metrics)
            for epoch in range(self.epoch + 1, self.config.epochs + 1):
                metrics = {} if epoch == 0 else self.train_epoch(epoch)
                if epoch == 0:
                    metrics.update(self.evaluate(self.data.train, "train"))
                metrics.update(self.evaluate(self.data.val, "val"))
                if self.config.test_each_epoch:
                    metrics.update(self.evaluate(self.data.test, "test"))
                self.epoch = epoch
                if self.state_path:
                    save_state(self.state_path, self.state_dict(metrics))
                self._finish_epoch(epoch, metrics)
            status = "finished"
        except StopTraining:
            status = "stopped"
        finally:
            for callback in self.callbacks:
                callback.on_train_end(self, status)
        return status
