"""Disentanglement metrics on data with known factors: pure functions of codes (N, K) and factor
indices (N, F), or of a representation function and a `FactorDataset` where a metric draws its
own batches; each returns {"disentanglement.<name>": value}. Defaults are disentanglement_lib's.
"""

from vae_core.analysis.disentanglement.beta_vae import beta_vae_score
from vae_core.analysis.disentanglement.dci import dci
from vae_core.analysis.disentanglement.factor_vae import factor_vae_score
from vae_core.analysis.disentanglement.information import mig
from vae_core.analysis.disentanglement.inputs import sample_codes
from vae_core.analysis.disentanglement.modularity import modularity_explicitness
from vae_core.analysis.disentanglement.sap import sap
from vae_core.analysis.disentanglement.suite import all_metrics, metrics_from_codes
from vae_core.analysis.disentanglement.udr import udr, udr_pairwise

__all__ = [
    "all_metrics", "beta_vae_score", "dci", "factor_vae_score", "metrics_from_codes", "mig",
    "modularity_explicitness", "sample_codes", "sap", "udr", "udr_pairwise",
]
