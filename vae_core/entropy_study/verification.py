"""S4 verification: a linear VAE on probabilistic-PCA data, where the exact log-likelihood is known,
trained full-batch; the ELBO, the entropy sum and the log-likelihood must meet."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from vae_core.data import DatasetSplits
from vae_core.data.embedded import pca_log_likelihood
from vae_core.entropy_study.streaming import single_thread
from vae_core.models.linear_vae import LinearVAE


@dataclass(frozen=True)
class VerificationConfig:
    latent_size: int = 2
    steps: int = 100  # L-BFGS steps of 5 iterations each (strong Wolfe line search), full batch
    seed: int = 0


def verify_linear_vae(data: DatasetSplits, config: VerificationConfig) -> tuple[LinearVAE, pd.DataFrame]:
    """Train on data.train; one row per step: ELBO, entropy sum, the model's exact log-likelihood
    and the log-likelihood under the true generating parameters (per sample, nats)."""
    x = data.train.flatten(1)
    truth = float(pca_log_likelihood(x.numpy(), data.extras["W"], data.extras["b"],
                                     float(data.extras["sigma"])).mean())
    torch.manual_seed(config.seed)
    model = LinearVAE(x.shape[1], config.latent_size)
    with torch.no_grad():
        model.b.copy_(x.mean(0))  # the maximum-likelihood offset; the rest is learned
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=5, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = -model.elbo(x).mean()
        loss.backward()
        return loss

    rows = []
    with single_thread():
        for step in range(config.steps + 1):
            if step:
                optimizer.step(closure)
            with torch.no_grad():
                rows.append({"step": step, "elbo": float(model.elbo(x).mean()),
                             "entropy_sum": float(model.entropy_sum()),
                             "log_likelihood": float(model.log_likelihood(x).mean()),
                             "true_log_likelihood": truth})
    return model, pd.DataFrame(rows)
