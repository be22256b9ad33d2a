"""The trainer and its callback protocol."""

from vae_core.training.callbacks import Callback, StopTraining
from vae_core.training.trainer import NonFiniteLossError, Trainer, TrainerConfig

__all__ = ["Callback", "NonFiniteLossError", "StopTraining", "Trainer", "TrainerConfig"]
