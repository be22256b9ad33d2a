"""Train a list of latent sizes, one MLflow run each under a parent run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.cli.params import add_dataclass_flags, overrides, read_section
from vae_core.experiment import ExperimentConfig, run_experiment


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", help="a params file section, e.g. params.yaml:train")
    parser.add_argument("--out", default="", help="write the run ids here as JSON (for DVC)")
    add_dataclass_flags(parser, ExperimentConfig)


def run(args: argparse.Namespace) -> int:
    """Train VAEs/AEs and record them in MLflow."""
    config = ExperimentConfig.from_dict({**read_section(args.params),
                                         **overrides(args, ExperimentConfig)})
    result = run_experiment(config)
    summary = {"tracking_uri": result.tracking_uri, "experiment_id": result.experiment_id,
               "parent_run_id": result.parent_run_id,
               "runs": {str(k): v for k, v in result.child_run_ids.items()}}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({k: v for k, v in summary.items()
                                              if k != "tracking_uri"}, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0
