"""A declared training experiment (data + model family + trainer), trained into tracked runs."""

from vae_core.experiment.config import DataConfig, ExperimentConfig, all_flat_keys
from vae_core.experiment.train import (
    STATE_DIR_ENV,
    TrainingResult,
    check_models_fit,
    load_data,
    run_experiment,
    state_path,
    train_one,
)

__all__ = [
    "STATE_DIR_ENV",
    "DataConfig", "ExperimentConfig", "TrainingResult", "all_flat_keys", "check_models_fit", "load_data",
    "run_experiment", "state_path", "train_one",
]
