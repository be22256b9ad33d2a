"""`sweep-status STUDY`: a Slurm-launched study's trials and jobs together;
`sweep-cancel STUDY`: cancel its jobs and fail (and re-queue) the trials they left running."""

from __future__ import annotations

import argparse
import json

from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.runs import take_outer_run_id
from vae_core.tracking.store import configure_tracking, project_root


def register_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="a name under projects/ or a sweep.yaml path")
    parser.add_argument("--storage", default="", help="the study's Optuna storage URL (default: the "
                        "study file's)")


def run_status(args: argparse.Namespace) -> int:
    """Show a Slurm-launched study's trial states and job states together."""
    from vae_core.sweep.runner import storage_url
    from vae_core.sweep.slurm_control import status_text

    spec = load_study_spec(args.study, project_root())
    print(status_text(spec, storage_url(spec, args.storage)))
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    """Cancel a Slurm-launched study's jobs; its running trials are failed and re-queued."""
    from vae_core.sweep.runner import storage_url
    from vae_core.sweep.slurm_control import cancel_study

    take_outer_run_id()
    spec = load_study_spec(args.study, project_root())
    configure_tracking()
    print(json.dumps(cancel_study(spec, storage_url(spec, args.storage)), indent=2))
    return 0
