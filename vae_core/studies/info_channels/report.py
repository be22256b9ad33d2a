"""The report: the fusion ("ensemble learning") circle experiment with its figure, and one
metrics file for `dvc metrics show` summarising the channel analysis and the fusion."""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np
from pydantic import Field

from vae_core.analysis.fusion import ENSEMBLE_SIZES, circle_fusion
from vae_core.config import IntList, StrictModel
from vae_core.plots.channels import fusion_figure
from vae_core.studies.base import StageContext
from vae_core.studies.info_channels.analyze import KIND


class ReportConfig(StrictModel):
    n_learners: int = Field(250, ge=1)  # weak learners on the unit circle
    n_points: int = Field(100, ge=8)  # fingerprint points on the circle
    ensemble_sizes: IntList = Field(default_factory=lambda: list(ENSEMBLE_SIZES))
    similarity: Literal["nmi", "exp_neg_vi", "mutual_info"] = "nmi"
    steps: int = Field(400, ge=1)  # Adam steps per fused space
    seed: int = Field(0, ge=0)


def channel_metrics(context: StageContext) -> dict[str, Any]:
    """The channel analysis' counts and per-model whole-latent information, if it ran."""
    path = context.out_dir / KIND / "channels.json"
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text())
    latent_bits = [r["latent_info.bits"] for r in summary["latent_info"]]
    return {**{key: summary[key] for key in ("n_channels", "n_kept", "n_clusters")},
            "mean_channel_bits": float(np.mean(list(summary["info_bits"].values()))),
            "mean_latent_bits": float(np.mean(latent_bits))}


def report(config: ReportConfig, context: StageContext) -> dict[str, Any]:
    fusion = circle_fusion(config.n_learners, config.n_points, config.ensemble_sizes, config.similarity,
                           config.steps, config.seed)
    folder = context.out_dir / "report" / "fusion"
    folder.mkdir(parents=True, exist_ok=True)
    fusion_figure(fusion).savefig(folder / "fusion.png", dpi=110)
    table = {key.removeprefix("fusion."): fusion[key].tolist() for key in
             ("fusion.k", "fusion.similarity", "fusion.continuity", "fusion.trustworthiness",
              "fusion.uniformity")}
    (folder / "fusion.json").write_text(json.dumps(table, indent=1) + "\n")
    metrics = {"channels": channel_metrics(context),
               "fusion": {f"k{k}": {"continuity": c, "uniformity": u} for k, c, u in
                          zip(table["k"], table["continuity"], table["uniformity"])},
               "fusion_learner_continuity": float(fusion["fusion.learner_continuity"].mean())}
    (folder.parent / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics
