"""S4's report: per trained run the ELBO/entropy-sum figure and the posterior-collapse figure
(read back from MLflow), and metrics.json with final values, the variance ratio and the
streaming and verification outcomes (read from the stages' DVC outputs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from vae_core.config import StrictModel
from vae_core.plots.entropies import collapse_figure, elbo_entropy_figure
from vae_core.studies.base import StageContext
from vae_core.studies.elbo_entropies.train import trained_runs
from vae_core.tracking.history import series
from vae_core.tracking.records import log_figure
from vae_core.tracking.runs import run_params


class ReportConfig(StrictModel):
    """Nothing to choose: the report covers every run of the train stage."""


def _run_figures(name: str, run_id: str, out_dir: Path) -> dict[str, Any]:
    params = run_params(run_id)
    per_epoch = int(params["steps_per_epoch"])
    steps = pd.DataFrame({"elbo": series(run_id, "step/elbo"),
                          "entropy_sum": series(run_id, "step/entropy_sum")})
    steps = steps.rename_axis("step").reset_index()
    val = series(run_id, "val/elbo")
    heldout = pd.DataFrame({"step": val.index * per_epoch, "elbo": val.values})
    figure = elbo_entropy_figure(steps, heldout, title=f"{name} ({params['vae_type']})")
    figure.savefig(out_dir / f"elbo_entropies_{name}.png", dpi=110)
    log_figure(run_id, figure, "figures/elbo_entropies.png")
    per_latent = pd.DataFrame({f"z{h}": series(run_id, f"step/h_enc_latent_{h}")
                               for h in range(int(params["latent_size"]))})
    active = series(run_id, "step/active_latents")
    figure = collapse_figure(per_latent, active, title=f"{name}: encoder entropy per latent")
    figure.savefig(out_dir / f"collapse_{name}.png", dpi=110)
    log_figure(run_id, figure, "figures/posterior_collapse.png")
    elbo, total = float(val.iloc[-1]), float(series(run_id, "val/entropy_sum").iloc[-1])
    return {"val_elbo": round(elbo, 5), "val_entropy_sum": round(total, 5),
            "relative_gap": round((elbo - total) / abs(elbo), 5),
            "active_latents": int(active.iloc[-1]) if len(active) else None}


def _outcomes(out_dir: Path) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    variance = out_dir / "variance_table.csv"
    if variance.is_file():
        table = pd.read_csv(variance).pivot(index="n_samples", columns="estimator", values="std")
        metrics["variance_ratio"] = {str(n): round(float(r), 2)
                                     for n, r in (table.elbo / table.entropy_sum).items()}
    selection = out_dir / "streaming_selection.csv"
    if selection.is_file():
        chosen = pd.read_csv(selection)
        metrics["streaming"] = {"true_dims": chosen.true_dim.tolist(),
                                "chosen_by_elbo": chosen.chosen_by_elbo.tolist(),
                                "chosen_by_entropy_sum": chosen.chosen_by_entropy_sum.tolist()}
    verification = out_dir / "verification.csv"
    if verification.is_file():
        last = pd.read_csv(verification).iloc[-1]
        metrics["verification"] = {k: round(float(last[k]), 5) for k in
                                   ("elbo", "entropy_sum", "log_likelihood", "true_log_likelihood",
                                    "active_latents") if k in last}
    return metrics


def report(config: ReportConfig, context: StageContext) -> dict[str, Any]:
    out_dir = context.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = {name: _run_figures(name, run_id, out_dir)
               for name, (run_id, _) in trained_runs(context).items()}
    metrics.update(_outcomes(out_dir))
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
