"""Progress for long training: a bar on a terminal; off a terminal (nohup, CI, Slurm logs) one
plain line per epoch with the losses and the time left."""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

from vae_core.training.callbacks import Callback
from vae_core.training.trainer import Trainer


class ProgressCallback(Callback):
    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: tqdm | None = None
        self.started = 0.0
        self.first_epoch = 0

    def on_train_start(self, trainer: Trainer) -> None:
        self.started, self.first_epoch = time.monotonic(), max(trainer.epoch, 0)
        if sys.stderr.isatty():
            self.bar = tqdm(total=trainer.config.epochs + 1, initial=self.first_epoch,
                            desc=self.description, unit="epoch")

    def on_epoch_end(self, trainer: Trainer, epoch: int, metrics: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix(val_loss=f"{metrics.get('val/loss', float('nan')):.3f}")
            self.bar.update(1)
            return
        done = epoch - self.first_epoch
        elapsed = time.monotonic() - self.started
        left = f"~{elapsed / done * (trainer.config.epochs - epoch):.0f}s left" if done > 0 else "starting"
        losses = " ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k.endswith(("/loss", "/neg_elbo")))
        print(f"{self.description} epoch {epoch}/{trainer.config.epochs} {losses} "
              f"({elapsed:.0f}s, {left})", file=sys.stderr, flush=True)

    def on_train_end(self, trainer: Trainer, status: str) -> None:
        if self.bar is not None:
            self.bar.close()
