"""S0's report: the geometry figures and a summary for `dvc metrics`, from the analysis JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.plots.geometry import geometry_figures

TABLES = ("ids", "imbalances_first_last", "imbalances_train", "geometry")
OPTIONAL_TABLES = ("sample_quality", "kl")  # absent from result folders written before them


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in-dir", dest="in_dir", required=True, help="the analyze stage's folder")
    parser.add_argument("--out-dir", dest="out_dir", required=True)


def run(args: argparse.Namespace) -> int:
    """Draw S0's figures and summarise the last checkpoint of every model (and its last
    logged val KL)."""
    in_dir = Path(args.in_dir)
    names = [*TABLES, *(name for name in OPTIONAL_TABLES if (in_dir / f"{name}.json").is_file())]
    tables = {name: json.loads((in_dir / f"{name}.json").read_text()) for name in names}
    out = Path(args.out_dir)
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
    print(json.dumps(summary, indent=2))
    return 0
