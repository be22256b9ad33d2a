"""The default study's report: final metrics for `dvc metrics`, curves for `dvc plots`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from vae_core.plots.training import loss_curves_figure
from vae_core.tracking.store import configure_tracking

REPORTED = ("train/loss", "val/loss", "val/recon", "val/kl")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", required=True, help="the train stage's JSON of run ids")
    parser.add_argument("--out-dir", dest="out_dir", required=True)


def run(args: argparse.Namespace) -> int:
    """Read the trained runs back from MLflow and write metrics.json, a CSV and a figure."""
    configure_tracking()
    client = MlflowClient()
    runs = json.loads(Path(args.runs).read_text())["runs"]
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics, rows = {}, []
    for latent, run_id in runs.items():
        final = {}
        for name in REPORTED:
            history = sorted(client.get_metric_history(run_id, name), key=lambda m: m.step)
            rows += [{"latent_size": int(latent), "metric": name, "epoch": m.step,
                      "value": m.value} for m in history]
            final[name.replace("/", "_")] = round(history[-1].value, 6) if history else None
        metrics[f"latent_{latent}"] = final
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    table = pd.DataFrame(rows)
    curves = table[table.metric == "val/loss"].pivot(index="epoch", columns="latent_size",
                                                     values="value")
    curves.columns = [f"z{c}" for c in curves.columns]
    curves.reset_index().to_csv(out / "loss_curves.csv", index=False)
    figure = loss_curves_figure({col: curves[col].dropna().to_dict() for col in curves.columns},
                                title="validation loss by latent size")
    figure.savefig(out / "loss_curves.png", dpi=120)
    print(json.dumps(metrics, indent=2))
    return 0
