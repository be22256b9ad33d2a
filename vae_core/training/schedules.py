"""Schedules the trainer applies through callbacks: the KL scale rising to 1 (annealing,
warm-up), which a family reads as `model.kl_scale`, and the learning rate decaying to 0
(cosine), which brings the last epoch near a stationary point instead of Adam's noise floor."""

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


def cosine_factor(step: int, total_steps: int) -> float:
    """1 at step 0 -> 0 at the last step, along half a cosine."""
    return 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(1, total_steps)))


class CosineLRSchedule(Callback):
    """Every parameter group's rate = its initial rate x `cosine_factor`, set before each step.
    The initial rate is kept in the group (`initial_lr`), so a resumed run continues the curve."""

    def _set(self, trainer: Trainer) -> None:
        steps = trainer.config.epochs * math.ceil(trainer.data.train.shape[0] / trainer.config.batch_size)
        for group in trainer.optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * cosine_factor(trainer.global_step, steps)

    def on_train_start(self, trainer: Trainer) -> None:
        self._set(trainer)

    def on_step_end(self, trainer: Trainer, step, batch, output) -> None:
        self._set(trainer)
