"""S1 (issue 11): information content of latent channels across a VAE ensemble. train (the
seeds x betas grid sweep) -> fingerprint (fixed seeded sample with its factors) -> channels
(`analyze --kind channels`) -> report (the fusion circle experiment, metrics)."""

from vae_core.studies.base import Stage
from vae_core.studies.info_channels.channels import ChannelsStageConfig, channels
from vae_core.studies.info_channels.fingerprint import FingerprintConfig, fingerprint
from vae_core.studies.info_channels.report import ReportConfig, report
from vae_core.studies.info_channels.train import TrainConfig, train

STAGES = {
    "train": Stage(TrainConfig, train),
    "fingerprint": Stage(FingerprintConfig, fingerprint),
    "channels": Stage(ChannelsStageConfig, channels),
    "report": Stage(ReportConfig, report),
}
