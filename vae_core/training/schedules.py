"""Schedules the trainer applies through callbacks: the KL scale rising to 1 (annealing,
warm-up). A family reads `model.kl_scale` in its loss weight."""

from __future__ import annotations

import math

from vae_core.training.callbacks import Callback
from vae_core.training.trainer import Trainer


def linear_ramp(step: int, total_steps: int, start: float, fraction: float) -> float:
    """start -> 1 linearly over the first `fraction` of all steps, then 1."""
    ramp = max(1.0, fraction * total_steps)
    return start + (1.0 - start) * min(1.0, step / ramp)


class LinearKLSchedule(Callback):
    """Sets `model.kl_scale` before the first step and after every step (resumes by step count)."""

    def __init__(self, start: float, fraction: float) -> None:
        self.start = start
        self.fraction = fraction

    def _set(self, trainer: Trainer) -> None:
        steps = trainer.config.epochs * math.ceil(trainer.data.train.shape[0] / trainer.config.batch_size)
        trainer.model.kl_scale = linear_ramp(trainer.global_step, steps, self.start, self.fraction)

    def on_train_start(self, trainer: Trainer) -> None:
        self._set(trainer)

    def on_step_end(self, trainer: Trainer, step, batch, output) -> None:
        self._set(trainer)
