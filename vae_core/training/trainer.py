"""One trainer for every family: Adam, in-memory batches, per-epoch evaluation, resumable state.

It knows nothing about MLflow: tracking happens in callbacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vae_core.config import ConfigError, require_float, require_int, require_int_list
from vae_core.data.batching import IndexBatcher
from vae_core.data.splits import DatasetSplits
from vae_core.models.families import AutoEncoder
from vae_core.training.callbacks import Callback, StopTraining
from vae_core.training.state import load_state, save_state


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite; the message names the term and the epoch."""


@dataclass
class TrainerConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    save_interval: list[int] = field(default_factory=list)  # epochs to checkpoint; 0 = untrained

    def validate(self) -> TrainerConfig:
        require_int("epochs", self.epochs, minimum=0)
        require_int("batch_size", self.batch_size, minimum=1)
        require_float("lr", self.lr, minimum=0.0, strict=True)
        require_float("weight_decay", self.weight_decay, minimum=0.0)
        require_int("seed", self.seed, minimum=0)
        if self.save_interval:
            require_int_list("save_interval", self.save_interval, minimum=0)
            beyond = [e for e in self.save_interval if e > self.epochs]
            if beyond:
                raise ConfigError(
                    f"save_interval: epoch(s) {beyond} lie beyond epochs={self.epochs}; "
                    f"allowed values are 0..{self.epochs}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_finite(terms: dict[str, torch.Tensor], epoch: int) -> None:
    # the total last, so the message names the term that went bad first
    for name, value in sorted(terms.items(), key=lambda item: item[0] == "loss"):
        if not torch.isfinite(value).all():
            raise NonFiniteLossError(
                f"loss term {name!r} became {float(value)} at epoch {epoch}; lower the learning "
                f"rate, check the data range for the likelihood, or clip sigma")


class Trainer:
    """Train `model` on `data`, calling callbacks each epoch; epoch 0 evaluates the untrained net."""

    def __init__(self, model: AutoEncoder, data: DatasetSplits, config: TrainerConfig,
                 callbacks: Sequence[Callback] = (), state_path: Path | None = None) -> None:
        self.model = model
        self.data = data
        self.config = config.validate()
        self.callbacks = list(callbacks)
        self.state_path = state_path
        torch.manual_seed(config.seed)
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr,
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
        sums: dict[str, float] = {}
        with torch.random.fork_rng():
            torch.manual_seed(self.config.seed + 1)
            for batch in x.split(self.config.batch_size):
                output = self.model(batch)
                for name, value in output.terms().items():
                    sums[name] = sums.get(name, 0.0) + float(value) * batch.shape[0]
        self.model.train(was_training)
        return {f"{prefix}/{name}": total / x.shape[0] for name, total in sums.items()}

    # -- one epoch --------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> dict[str, float]:
        self.model.train()
        sums: dict[str, float] = {}
        n = 0
        logs: dict[str, float] = {}
        for batch in IndexBatcher(self.data.train, self.config.batch_size, True, self.generator):
            output = self.model(batch)
            terms = output.terms()
            _check_finite(terms, epoch)
            self.optimizer.zero_grad(set_to_none=True)
            output.loss.backward()
            self.optimizer.step()
            self.after_step()
            self.global_step += 1
            for callback in self.callbacks:
                callback.on_step_end(self, self.global_step, batch, output)
            for name, value in terms.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach()) * batch.shape[0]
            n += batch.shape[0]
            logs = output.logs
        metrics = {f"train/{name}": total / n for name, total in sums.items()}
        metrics.update({f"model/{k}": v for k, v in logs.items()})
        return metrics

    def after_step(self) -> None:
        """Hook for constraints applied after each optimiser step (e.g. column rescaling)."""

    # -- state ------------------------------------------------------------------------------
    def state_dict(self, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "epoch": self.epoch, "metrics": metrics, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(), "config": self.config.to_dict(),
            "global_step": self.global_step,
            "spec": getattr(self.model, "spec", None) and self.model.spec.to_dict(),
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
        if epoch in self.config.save_interval:
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
