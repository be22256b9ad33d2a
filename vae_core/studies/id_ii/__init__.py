"""S0: intrinsic dimension and information imbalance across layers, checkpoints and latent sizes.
Stages run per data set (`--item mnist`): train_<item> -> analyze -> report."""

from vae_core.experiment import ExperimentConfig
from vae_core.studies.base import Stage
from vae_core.studies.id_ii.analyze import AnalyzeStageConfig, analyze
from vae_core.studies.id_ii.report import ReportConfig, report
from vae_core.studies.training_stage import train

STAGES = {
    "train": Stage(ExperimentConfig, train),
    "analyze": Stage(AnalyzeStageConfig, analyze),
    "report": Stage(ReportConfig, report),
}
