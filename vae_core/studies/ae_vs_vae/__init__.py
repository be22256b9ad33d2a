"""Study S3 (issue 10): autoencoders vs VAEs with dynamic MLPs, beta-VAEs and a non-standard prior,
k-fold cross-validated; `dvc repro projects/ae_vs_vae/dvc.yaml`."""

from vae_core.studies.ae_vs_vae.configurations import TrainConfig
from vae_core.studies.ae_vs_vae.report import ReportConfig, report
from vae_core.studies.ae_vs_vae.train import train
from vae_core.studies.base import Stage

STAGES = {
    "train": Stage(TrainConfig, train),
    "report": Stage(ReportConfig, report),
}
