"""S4's variance table: the sampled ELBO against the entropy sum as estimators from n data points."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch

from vae_core.analysis.entropies import prior_entropy
from vae_core.models.gaussian_vae import GaussianVAE

SAMPLE_SIZES = (10, 100, 1000, 10000)
REPEATS = 10


@torch.no_grad()
def estimator_spread(model: GaussianVAE, x: torch.Tensor, sample_sizes: Sequence[int] = SAMPLE_SIZES,
                     repeats: int = REPEATS, seed: int = 0) -> pd.DataFrame:
    """Mean and std over `repeats` runs of both estimators from n points drawn with replacement.

    Sampled ELBO: the mean one-draw ELBO of the n points. Entropy sum: -mean H_dec + mean H_enc
    - H_prior over the same points (no reconstruction term, hence the far smaller spread).
    """
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    h_prior = float(prior_entropy(model.prior_log_var))
    rows = []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for n in sample_sizes:
            elbos, sums = [], []
            for _ in range(repeats):
                parts = model.per_sample(x[torch.randint(0, x.shape[0], (n,), generator=generator)])
                elbos.append(float(parts["elbo"].mean()))
                sums.append(float(-parts["h_dec"].mean() + parts["h_enc"].mean()) - h_prior)
            for name, values in (("elbo", elbos), ("entropy_sum", sums)):
                series = pd.Series(values)
                rows.append({"n_samples": n, "estimator": name, "mean": float(series.mean()),
                             "std": float(series.std()), "runs": repeats})
    return pd.DataFrame(rows)
