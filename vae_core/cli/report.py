"""`report --study NAME`: a study's report stage, or a sweep study's report (projects/NAME/sweep.yaml)."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True)
    parser.add_argument("--storage", default="", help="a sweep study's Optuna storage")
    parser.add_argument("--out-dir", dest="out_dir", default="", help="default results/<study>")


def run(args: argparse.Namespace) -> int:
    """Write a study's report (figures, tables, metrics) to results/<study>/ and MLflow."""
    from vae_core.cli import stage, sweep
    from vae_core.studies import STUDIES

    if args.study in STUDIES:
        return stage.run(argparse.Namespace(study=args.study, stage="report", params="", item="",
                                            out_dir=args.out_dir, overrides=[]))
    return sweep.run_report(argparse.Namespace(study=args.study, storage=args.storage,
                                               out_dir=args.out_dir or f"results/{args.study}"))
