"""Study S4 (ELBO = sum of entropies): train, variance_table, streaming, verification, report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.cli.params import read_section
from vae_core.config import require_choice
from vae_core.entropy_study import runners

KINDS = ("train", "variance_table", "streaming", "verification", "report")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", required=True, help=", ".join(KINDS))
    parser.add_argument("--params", default="projects/elbo_entropies/params.yaml",
                        help="the study's params file; the section is the kind")
    parser.add_argument("--out-dir", dest="out_dir", default="results/elbo_entropies")


def run(args: argparse.Namespace) -> int:
    """Run one stage of study S4 (ELBO as a sum of entropies)."""
    kind = require_choice("kind", args.kind, KINDS)
    out = Path(args.out_dir)
    if kind == "report":
        result = runners.report_stage(out)
    else:
        section = read_section(f"{args.params}:{kind}")
        stage = {"train": runners.train_stage, "variance_table": runners.variance_stage,
                 "streaming": runners.streaming_stage, "verification": runners.verification_stage}[kind]
        result = stage(section, out)
    print(result if not isinstance(result, dict) else json.dumps(result, indent=2))
    return 0
