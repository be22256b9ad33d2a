"""S4 figures: ELBO against the entropy sum, the variance table, posterior collapse, streaming BIC,
verification against the exact log-likelihood."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from vae_core.models.entropies import ACTIVE_THRESHOLD, LOG_2PI_E
from vae_core.plots import finished


def elbo_entropy_figure(steps: pd.DataFrame, heldout: pd.DataFrame, title: str = "") -> Figure:
    """Top: per-step ELBO and entropy sum, held-out ELBO; bottom: (ELBO - sum) / |ELBO_final|.

    steps: columns step, elbo, entropy_sum; heldout: columns step, elbo.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    top.plot(steps.step, steps.elbo, lw=0.7, alpha=0.7, label="ELBO (training batch)")
    top.plot(steps.step, steps.entropy_sum, lw=1.2, label="-H_dec + H_enc - H_prior")
    if len(heldout):
        top.plot(heldout.step, heldout.elbo, "ko", ms=3, label="held-out ELBO")
    final = float(heldout.elbo.iloc[-1]) if len(heldout) else float(steps.elbo.iloc[-1])
    top.set_ylim(*_robust_limits(pd.concat([steps.elbo, steps.entropy_sum])))
    top.set_ylabel("nats per sample")
    top.set_title(title)
    top.legend(fontsize=8)
    bottom.plot(steps.step, (steps.elbo - steps.entropy_sum) / abs(final), lw=0.7)
    bottom.axhline(0.0, color="k", lw=0.5)
    bottom.set_ylim(*_robust_limits((steps.elbo - steps.entropy_sum) / abs(final)))
    bottom.set_ylabel("relative gap")
    bottom.set_xlabel("optimiser step")
    return finished(fig)


def _robust_limits(values: pd.Series) -> tuple[float, float]:
    """The 2nd-98th percentile range, padded: the first steps of training would squash the rest."""
    low, high = values.quantile(0.02), values.quantile(0.98)
    pad = 0.1 * (high - low) or 1.0
    return float(low - pad), float(high + pad)


def variance_figure(table: pd.DataFrame, title: str = "") -> Figure:
    """Standard deviation of both estimators against the number of samples (log-log)."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, part in table.groupby("estimator"):
        ax.plot(part.n_samples, part["std"], marker="o", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples per estimate")
    ax.set_ylabel(f"std over {int(table.runs.iloc[0])} runs")
    ax.set_title(title)
    ax.legend()
    return finished(fig)


def collapse_figure(per_latent: pd.DataFrame, active: pd.Series, title: str = "") -> Figure:
    """Per-latent encoder entropy over training (collapsed latents rise to the prior's entropy)
    and the count of active latents. per_latent: index step, one column per latent."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    for column in per_latent.columns:
        top.plot(per_latent.index, per_latent[column], lw=0.9, label=str(column))
    top.axhline(0.5 * LOG_2PI_E, color="k", ls="--", lw=0.8, label="standard prior entropy")
    top.axhline(ACTIVE_THRESHOLD, color="grey", ls=":", lw=0.8, label="active threshold")
    top.set_ylabel("1/2 log(2 pi e tau_h^2)")
    top.set_title(title)
    top.legend(fontsize=7, ncol=2)
    bottom.step(active.index, active.values, where="post")
    bottom.set_ylabel("active latents")
    bottom.set_xlabel("optimiser step")
    return finished(fig)


def streaming_figure(stream: pd.DataFrame, batches_per_segment: int) -> Figure:
    """BIC from the ELBO (faint) and from the entropy sum per latent size along the stream."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for latent_size, part in stream.groupby("latent_size"):
        position = part.segment * batches_per_segment + part.batch
        line, = ax.plot(position, part.bic_entropy_sum, lw=1.2, label=f"H={latent_size} (entropy sum)")
        ax.plot(position, part.bic_elbo, lw=0.4, alpha=0.4, color=line.get_color())
    for segment, true_dim in stream.groupby("segment").true_dim.first().items():
        ax.axvline(segment * batches_per_segment, color="k", lw=0.5)
        ax.text(segment * batches_per_segment + 5, 0.98, f"true dim {true_dim}",
                transform=ax.get_xaxis_transform(), va="top", fontsize=8)
    ax.set_ylim(*_robust_limits(stream.bic_entropy_sum))
    ax.set_xlabel("batch in stream")
    ax.set_ylabel("BIC (lower is better)")
    ax.legend(fontsize=8)
    return finished(fig)


def verification_figure(table: pd.DataFrame) -> Figure:
    """ELBO, entropy sum, the model's exact log-likelihood and the truth's, over training."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for column, style in (("elbo", "-"), ("entropy_sum", "--"), ("log_likelihood", ":"),
                          ("true_log_likelihood", "-.")):
        ax.plot(table.step, table[column], style, label=column)
    ax.set_ylim(*_robust_limits(pd.concat([table.elbo, table.log_likelihood])))
    ax.set_xlabel("L-BFGS step")
    ax.set_ylabel("nats per sample")
    ax.set_title("linear VAE on probabilistic-PCA data")
    ax.legend(fontsize=8)
    return finished(fig)
