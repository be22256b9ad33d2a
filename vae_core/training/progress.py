"""Progress for long training: a bar on a terminal, silence in logs and CI."""

from __future__ import annotations

import sys

from tqdm import tqdm

from vae_core.training.callbacks import Callback
from vae_core.training.trainer import Trainer


class ProgressCallback(Callback):
    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: tqdm | None = None

    def on_train_start(self, trainer: Trainer) -> None:
        self.bar = tqdm(total=trainer.config.epochs + 1, initial=max(trainer.epoch, 0),
                        desc=self.description, unit="epoch", disable=not sys.stderr.isatty())

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(val_loss=f"{metrics.get('val/loss', float('nan')):.3f}")
            self.bar.update(1)

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        if self.bar is not None:
            self.bar.close()
