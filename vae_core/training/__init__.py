"""The trainer, its configuration and its callback protocol."""

from vae_core.training.callbacks import Callback, StopTraining
from vae_core.training.config import CheckpointRule, TrainerConfig
from vae_core.training.term_sums import NonFiniteLossError
from vae_core.training.trainer import Trainer

__all__ = ["Callback", "CheckpointRule", "NonFiniteLossError", "StopTraining", "Trainer", "TrainerConfig"]
