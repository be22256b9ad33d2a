"""What the trainer tells the outside world; tracking backends implement these hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from vae_core.models.families import ModelOutput
    from vae_core.training.trainer import Trainer


class Callback:
    """No-op hooks. `on_epoch_end` may raise `StopTraining` (e.g. an Optuna pruner)."""

    def on_train_start(self, trainer: Trainer) -> None: ...

    def on_step_end(self, trainer: Trainer, step: int, batch: torch.Tensor, output: ModelOutput) -> None:
        """After each optimiser step (and `after_step`); `step` counts from 1 across epochs."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None: ...

    def on_checkpoint(self, trainer: Trainer, epoch: int) -> None: ...

    def on_train_end(self, trainer: Trainer, status: str) -> None: ...


class StopTraining(Exception):
    """Raised by a callback to end training early; the trainer ends with status 'stopped'."""
