"""S4 verification: a linear VAE on probabilistic-PCA data, where the exact log-likelihood is known,
trained full-batch; the ELBO, the entropy sum and the log-likelihood must meet."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from pydantic import Field, NonNegativeInt, PositiveInt

from vae_core.config import Options, StrictModel
from vae_core.data import DatasetSplits, load_dataset
from vae_core.data.embedded import pca_log_likelihood
from vae_core.models.entropies import active_latents, gaussian_entropy
from vae_core.models.linear_vae import LinearVAE
from vae_core.plots.entropies import verification_figure
from vae_core.studies.base import StageContext
from vae_core.studies.elbo_entropies.streaming import single_thread
from vae_core.tracking.records import log_at_step, log_figure
from vae_core.tracking.runs import stage_run


class VerificationConfig(StrictModel):
    dataset_options: Options = Field(default_factory=dict)  # of the embedded `pca` data set
    latent_size: PositiveInt = 2
    steps: PositiveInt = 100  # L-BFGS steps of 5 iterations each (strong Wolfe line search), full batch
    seed: NonNegativeInt = 0


def verify_linear_vae(data: DatasetSplits, config: VerificationConfig) -> tuple[LinearVAE, pd.DataFrame]:
    """Train on data.train; one row per step: ELBO, entropy sum, the model's exact log-likelihood,
    the log-likelihood under the true generating parameters (per sample, nats) and the number of
    active latents (encoder entropy under 1 nat)."""
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
                             "true_log_likelihood": truth,
                             # the claim is only a test on a model that uses its latents
                             "active_latents": active_latents(gaussian_entropy(model.enc_log_var))})
    return model, pd.DataFrame(rows)


def verification(config: VerificationConfig, context: StageContext) -> dict[str, Any]:
    """Train the linear VAE on pca data; the ELBO, entropy sum and true log-likelihood per step."""
    data = load_dataset("pca", seed=config.seed, **config.dataset_options)
    context.out_dir.mkdir(parents=True, exist_ok=True)
    _, table = verify_linear_vae(data, config)
    figure = verification_figure(table)
    with stage_run(context.study, context.stage, "verification", config) as run_id:
        for row in table.itertuples():
            log_at_step(run_id, {"elbo": row.elbo, "entropy_sum": row.entropy_sum,
                                 "log_likelihood": row.log_likelihood,
                                 "true_log_likelihood": row.true_log_likelihood,
                                 "active_latents": row.active_latents}, int(row.step))
        log_figure(run_id, figure, "figures/verification.png")
    table.to_csv(context.out_dir / "verification.csv", index=False)
    figure.savefig(context.out_dir / "verification.png", dpi=110)
    return table.iloc[-1].to_dict()
