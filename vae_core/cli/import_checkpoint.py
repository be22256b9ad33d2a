"""`import-checkpoint`: bring a checkpoint file in with `dvc import-url` and register it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.tracking.imported import import_checkpoint
from vae_core.tracking.store import configure_tracking


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="http(s)://, s3://, ... or a local path")
    parser.add_argument("--name", required=True, help="the registered model's name")
    parser.add_argument("--out", default="", help="where DVC puts the file (default models/imported/)")
    parser.add_argument("--alias", default="imported")


def run(args: argparse.Namespace) -> int:
    """Import a {spec, sample_shape, state_dict} checkpoint as a registered model version."""
    configure_tracking()
    result = import_checkpoint(args.url, args.name, Path(args.out) if args.out else None, args.alias)
    print(json.dumps(result, indent=2))
    return 0
