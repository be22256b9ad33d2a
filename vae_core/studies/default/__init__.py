"""The default study (`dvc repro` at the root): digits -> VAEs with a few latent sizes -> report."""

from vae_core.experiment import ExperimentConfig
from vae_core.studies.base import Stage
from vae_core.studies.default.prepare import PrepareConfig, prepare
from vae_core.studies.default.report import ReportConfig, report
from vae_core.studies.training_stage import train

STAGES = {
    "prepare": Stage(PrepareConfig, prepare),
    "train": Stage(ExperimentConfig, train),
    "report": Stage(ReportConfig, report),
}
