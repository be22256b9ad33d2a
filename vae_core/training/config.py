"""What a trainer is told: optimiser, batches, checkpoints, KL schedule, per-step logging.

Checkpoint epochs may be a list (epochs beyond `epochs` are dropped with a warning, so an
`epochs` override needs no matching edit) or a rule {every: n, first: true, last: true}.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from vae_core.config import IntList, StrictModel, typed
from vae_core.training.device import check_precision, resolve_device


class CheckpointRule(StrictModel):
    """Checkpoint every n epochs, plus the untrained network (first) and the final one (last)."""

    every: PositiveInt | None = None
    first: bool = True
    last: bool = True

    def epochs(self, total: int) -> list[int]:
        chosen = set(range(self.every, total + 1, self.every)) if self.every else set()
        if self.first:
            chosen.add(0)
        if self.last:
            chosen.add(total)
        return sorted(chosen)


class TrainerConfig(StrictModel):
    epochs: NonNegativeInt = 10
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    weight_decay: NonNegativeFloat = 0.0
    seed: NonNegativeInt = 0
    save_interval: IntList | CheckpointRule = Field(default_factory=CheckpointRule)
    group_lr: dict[str, PositiveFloat] = Field(default_factory=dict)  # e.g. {variances: 0.01}
    lr_schedule: Literal["constant", "cosine"] = "constant"  # cosine: every group's rate to 0 at the end
    kl_schedule: Literal["constant", "linear"] = "constant"
    kl_start: NonNegativeFloat = 0.0  # linear: the KL scale at step 0, rising to 1
    kl_warmup: float = Field(0.3, gt=0.0, le=1.0)  # linear: the fraction of all steps it takes
    test_each_epoch: bool = False  # also evaluate the test split every epoch (test/*), as S2 reports it
    log_every_steps: NonNegativeInt = 0  # per-step metrics every n optimiser steps; 0: none
    device: str = "auto"  # auto: cuda, else mps, else cpu; or cpu, cuda, cuda:N, mps
    precision: Literal["32", "bf16", "16-mixed"] = "32"  # the forward pass under autocast
    compile: bool = False  # torch.compile the network for training
    system_metrics: bool = True  # MLflow's CPU / memory / GPU sampling on training runs

    @field_validator("save_interval", mode="before")
    @classmethod
    def _rule(cls, value: Any) -> Any:
        """A mapping is a rule (its keys checked by name), anything else a list of epochs."""
        return typed(CheckpointRule, value, "save_interval") if isinstance(value, dict) else value

    @field_validator("save_interval")
    @classmethod
    def _non_negative(cls, value: list[int] | CheckpointRule) -> list[int] | CheckpointRule:
        if isinstance(value, list) and any(e < 0 for e in value):
            raise ValueError(f"checkpoint epochs must be >= 0, got {value}")
        return value

    @field_validator("kl_start")
    @classmethod
    def _at_most_one(cls, value: float) -> float:
        if value > 1.0:
            raise ValueError("the KL scale starts in [0, 1] and rises to 1")
        return value

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # YAML reads `32` as a number

    @field_validator("device")
    @classmethod
    def _device_here(cls, value: str) -> str:
        resolve_device(value)  # refused here, before any run, when the machine lacks it
        return value

    @model_validator(mode="after")
    def _precision_fits_device(self) -> TrainerConfig:
        check_precision(self.precision, resolve_device(self.device))
        return self

    def checkpoint_epochs(self) -> list[int]:
        """The epochs to checkpoint; listed epochs past the end are dropped with a warning."""
        if isinstance(self.save_interval, CheckpointRule):
            return self.save_interval.epochs(self.epochs)
        if not self.save_interval:
            return sorted({0, self.epochs})
        beyond = sorted(e for e in self.save_interval if e > self.epochs)
        if beyond:
            warnings.warn(f"save_interval: epoch(s) {beyond} lie beyond epochs={self.epochs} and are "
                          f"not checkpointed; the last epoch is instead", stacklevel=2)
        kept = {e for e in self.save_interval if e <= self.epochs}
        return sorted(kept | ({self.epochs} if beyond else set()))  # the trained net is kept
