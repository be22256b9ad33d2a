"""Disentanglement of beta-VAEs on data with known factors (issue 16): train one section per
swept value (`train_<item>`), then score every model and UDR across them (`analyze`)."""

from vae_core.experiment import ExperimentConfig
from vae_core.studies.base import Stage
from vae_core.studies.disentanglement.analyze import AnalyzeStageConfig, analyze
from vae_core.studies.training_stage import train

STAGES = {
    "train": Stage(ExperimentConfig, train),
    "analyze": Stage(AnalyzeStageConfig, analyze),
}
