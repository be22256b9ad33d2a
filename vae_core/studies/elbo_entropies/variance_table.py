"""S4's variance table: the sampled ELBO against the entropy sum as estimators from n data points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
from pydantic import Field, NonNegativeInt

from vae_core.config import ConfigError, IntList, StrictModel
from vae_core.experiment import load_data
from vae_core.models.entropies import prior_entropy
from vae_core.models.gaussian_vae import GaussianVAE
from vae_core.plots.entropies import variance_figure
from vae_core.studies.base import StageContext
from vae_core.studies.elbo_entropies.train import trained_runs
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.records import log_figure, log_table

SAMPLE_SIZES = (10, 100, 1000, 10000)
REPEATS = 10


class VarianceConfig(StrictModel):
    run: str  # the name of a train-stage run
    sample_sizes: IntList = Field(default_factory=lambda: list(SAMPLE_SIZES))
    repeats: int = Field(REPEATS, ge=2)
    seed: NonNegativeInt = 0


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


def variance_table(config: VarianceConfig, context: StageContext) -> dict[str, Any]:
    """The spread of both estimators for one trained run; CSV and figure, logged to that run."""
    trained = trained_runs(context)
    if config.run not in trained:
        raise ConfigError(f"run: unknown run {config.run!r}; allowed values: {', '.join(trained)}")
    run_id, declared = trained[config.run]
    table = estimator_spread(load_model(run_id), load_data(declared.data, declared.trainer.seed).train,
                             config.sample_sizes, config.repeats, seed=config.seed)
    context.out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(context.out_dir / "variance_table.csv", index=False)
    figure = variance_figure(table, title=f"{config.run}: estimator spread")
    figure.savefig(context.out_dir / "variance_table.png", dpi=110)
    log_table(run_id, table, "tables/variance_table.json")
    log_figure(run_id, figure, "figures/variance_table.png")
    return {"rows": len(table)}
