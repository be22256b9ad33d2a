"""S4 streaming: linear VAEs of several latent sizes follow a stream whose true dimension changes,
and BIC computed from the ELBO or from the entropy sum picks the latent size per segment."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from vae_core.config import IntList, StrictModel
from vae_core.models.linear_vae import LinearVAE
from vae_core.plots.entropies import streaming_figure
from vae_core.studies.base import StageContext
from vae_core.tracking.records import log_at_step, log_figure, log_table
from vae_core.tracking.runs import stage_run


class StreamConfig(StrictModel):
    true_dims: IntList = Field(default_factory=lambda: [6, 2, 4])  # one segment per entry, chained
    data_dim: PositiveInt = 10
    latent_sizes: IntList = Field(default_factory=lambda: [2, 4, 6])
    batches_per_segment: PositiveInt = 600
    batch_size: PositiveInt = 256
    noise: PositiveFloat = 0.1
    lr: PositiveFloat = 0.02
    eval_batches: PositiveInt = 50  # the last batches of each segment enter its BIC
    seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _enough_batches(self) -> StreamConfig:
        if self.eval_batches > self.batches_per_segment:
            raise ValueError(f"eval_batches: must be <= batches_per_segment={self.batches_per_segment}, "
                             f"got {self.eval_batches}")
        return self


def stream_batches(config: StreamConfig) -> list[torch.Tensor]:
    """One (batches, batch_size, D) tensor per segment: x = W_s z + b_s + noise, z ~ N(0, I_k_s)."""
    rng = np.random.default_rng(config.seed)
    segments = []
    for k in config.true_dims:
        W, b = rng.normal(size=(config.data_dim, k)), rng.normal(size=config.data_dim)
        z = rng.normal(size=(config.batches_per_segment, config.batch_size, k))
        noise = config.noise * rng.normal(size=(*z.shape[:2], config.data_dim))
        segments.append(torch.tensor(z @ W.T + b + noise, dtype=torch.float32))
    return segments


def bic(log_likelihood: float, latent_size: int, data_dim: int, batch_size: int) -> float:
    """(H D + 1) log(batch) - 2 LL, with LL the batch's total log-likelihood estimate."""
    return (latent_size * data_dim + 1) * math.log(batch_size) - 2.0 * log_likelihood


@contextmanager
def single_thread() -> Iterator[None]:
    """Tiny linear models run fastest (and steadiest on shared machines) on one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def run_stream(config: StreamConfig) -> pd.DataFrame:
    """Train one linear VAE per latent size online (one Adam step per batch) through all segments.

    Rows: segment, true_dim, latent_size, batch, sampled ELBO and entropy sum (per sample, on the
    batch before the step sees it), and their BICs.
    """
    segments = stream_batches(config)
    rows: list[dict] = []
    with single_thread():
        for latent_size in config.latent_sizes:
            torch.manual_seed(config.seed)
            model = LinearVAE(config.data_dim, latent_size)
            optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
            for segment, (k, batches) in enumerate(zip(config.true_dims, segments)):
                for index, x in enumerate(batches):
                    with torch.no_grad():
                        elbo, total = float(model.sampled_elbo(x).mean()), float(model.entropy_sum())
                    rows.append({"segment": segment, "true_dim": k, "latent_size": latent_size,
                                 "batch": index, "elbo": elbo, "entropy_sum": total})
                    loss = -model.elbo(x).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
    table = pd.DataFrame(rows)
    n = config.batch_size
    for source in ("elbo", "entropy_sum"):
        table[f"bic_{source}"] = [bic(v * n, h, config.data_dim, n)
                                  for v, h in zip(table[source], table["latent_size"])]
    return table


def select_latent_sizes(table: pd.DataFrame, eval_batches: int) -> pd.DataFrame:
    """Per segment: mean BIC over its last `eval_batches` batches, the chosen H for each estimator,
    and both estimators' standard deviation there for the chosen model (batch to batch)."""
    last = table[table.batch >= table.batch.max() - eval_batches + 1]
    rows = []
    for (segment, true_dim), part in last.groupby(["segment", "true_dim"]):
        means = part.groupby("latent_size")[["bic_elbo", "bic_entropy_sum"]].mean()
        chosen = int(means.bic_entropy_sum.idxmin())
        stds = part[part.latent_size == chosen][["elbo", "entropy_sum"]].std()
        rows.append({"segment": segment, "true_dim": true_dim,
                     "chosen_by_elbo": int(means.bic_elbo.idxmin()), "chosen_by_entropy_sum": chosen,
                     "std_elbo": float(stds.elbo), "std_entropy_sum": float(stds.entropy_sum)})
    return pd.DataFrame(rows)


def streaming(config: StreamConfig, context: StageContext) -> dict[str, Any]:
    """The stream, the latent size BIC picks per segment by each estimator; CSVs, figure, run."""
    context.out_dir.mkdir(parents=True, exist_ok=True)
    stream = run_stream(config)
    selection = select_latent_sizes(stream, config.eval_batches)
    figure = streaming_figure(stream, config.batches_per_segment)
    with stage_run(context.study, context.stage, "streaming", config) as run_id:
        for row in selection.itertuples():
            log_at_step(run_id, {"chosen_by_elbo": row.chosen_by_elbo,
                                 "chosen_by_entropy_sum": row.chosen_by_entropy_sum,
                                 "std_elbo": row.std_elbo, "std_entropy_sum": row.std_entropy_sum},
                        int(row.segment))
        log_table(run_id, selection, "tables/streaming_selection.json")
        log_figure(run_id, figure, "figures/streaming_bic.png")
    stream.to_csv(context.out_dir / "streaming.csv", index=False)
    selection.to_csv(context.out_dir / "streaming_selection.csv", index=False)
    figure.savefig(context.out_dir / "streaming_bic.png", dpi=110)
    return {"segments": selection.to_dict(orient="records")}
