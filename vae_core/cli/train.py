"""`train`: a list of latent sizes, one MLflow run each under a parent run."""

from __future__ import annotations

import argparse
import json

from vae_core.config import read_section, typed
from vae_core.experiment import ExperimentConfig, all_flat_keys, run_experiment


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", help="a params file section, e.g. params.yaml:train")
    for key in all_flat_keys():
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None,
                            help="(empty: the params file's value or the default)")


def given(args: argparse.Namespace) -> dict[str, str]:
    """The flags the user gave; '' (an MLproject default) means: not given."""
    return {key: value for key in all_flat_keys()
            if (value := getattr(args, key, None)) not in (None, "")}


def run(args: argparse.Namespace) -> int:
    """Train VAEs/AEs and record them in MLflow."""
    config = typed(ExperimentConfig, {**read_section(args.params), **given(args)}, "train")
    result = run_experiment(config)
    print(json.dumps({"experiment_id": result.experiment_id, "parent_run_id": result.parent_run_id,
                      "runs": {str(k): v for k, v in result.child_run_ids.items()},
                      **({"submitted": True} if result.submitted else {})}, indent=2))
    return 0
