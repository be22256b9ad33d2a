"""S4: the ELBO of Gaussian VAEs converges to -H_dec + H_enc - H_prior.
Stages: train -> variance_table; streaming; verification; report."""

from vae_core.studies.base import Stage
from vae_core.studies.elbo_entropies.report import ReportConfig, report
from vae_core.studies.elbo_entropies.streaming import StreamConfig, streaming
from vae_core.studies.elbo_entropies.train import TrainConfig, train
from vae_core.studies.elbo_entropies.variance_table import VarianceConfig, variance_table
from vae_core.studies.elbo_entropies.verification import VerificationConfig, verification

STAGES = {
    "train": Stage(TrainConfig, train),
    "variance_table": Stage(VarianceConfig, variance_table),
    "streaming": Stage(StreamConfig, streaming),
    "verification": Stage(VerificationConfig, verification),
    "report": Stage(ReportConfig, report),
}
