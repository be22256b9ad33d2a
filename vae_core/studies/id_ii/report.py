"""S0's report: the geometry figures and a summary for `dvc metrics`, from the analysis JSON."""

from __future__ import annotations

import json
from typing import Any

from vae_core.config import StrictModel
from vae_core.plots.geometry import geometry_figures
from vae_core.studies.base import StageContext

TABLES = ("ids", "imbalances_first_last", "imbalances_train", "geometry")
OPTIONAL_TABLES = ("sample_quality", "kl")  # absent from result folders written before them


class ReportConfig(StrictModel):
    """Nothing to choose yet: the report draws every figure of the analysis tables."""


def report(config: ReportConfig, context: StageContext) -> dict[str, Any]:
    """Draw S0's figures and summarise the last checkpoint of every model (and its last
    logged val KL)."""
    in_dir = context.out_dir / "geometry"
    names = [*TABLES, *(name for name in OPTIONAL_TABLES if (in_dir / f"{name}.json").is_file())]
    tables = {name: json.loads((in_dir / f"{name}.json").read_text()) for name in names}
    out = context.out_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    for name, figure in geometry_figures(tables).items():
        figure.savefig(out / "figures" / f"{name}.png", dpi=110)
    modules = list(tables["geometry"]["layers"].values())
    summary = {}
    for label, per_epoch in tables["imbalances_first_last"].items():
        last = max(per_epoch, key=int)
        ids = tables["ids"][label][last]
        summary[f"latent_{label}"] = {
            "epoch": int(last), "ii_out_in": round(per_epoch[last]["to_first"][-1], 6),
            "id_input": round(ids[0], 4), "id_output": round(ids[-1], 4),
            **({"id_latent": round(ids[modules.index("latent")], 4)} if "latent" in modules else {})}
        for key, table in (("fd_pixel", tables.get("sample_quality", {})), ("val_kl", tables.get("kl", {}))):
            if label in table:
                summary[f"latent_{label}"][key] = round(table[label][max(table[label], key=int)], 6)
    (out / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
