"""`sweep`: run (or continue) an Optuna study declared in projects/<name>/sweep.yaml, with
local worker processes or as a Slurm job array (`launcher`); `sweep-worker`: one worker
process of a running study (started by `sweep`, or by hand on another machine that shares the
storage and the tracking server)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from vae_core.launch.settings import scoped_state_dir, use_state_dir
from vae_core.sweep.runner import run_sweep, work
from vae_core.sweep.spec import load_study_spec, study_file
from vae_core.tracking.runs import discard_outer_run, take_outer_run_id
from vae_core.tracking.store import project_root


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="a name under projects/ or a sweep.yaml path")
    parser.add_argument("--storage", default="", help="an Optuna storage URL (default: the study "
                        "file's, else sqlite .optuna/<study>.db)")
    parser.add_argument("--n-workers", dest="n_workers", default="", help="worker processes")
    parser.add_argument("--out", default="", help="write a JSON summary here (for DVC)")
    parser.add_argument("--launcher", default="", choices=("", "local", "slurm"),
                        help="local worker processes or one Slurm array task per worker "
                        "(default: the study file's launcher, else local)")
    parser.add_argument("--no-wait", dest="no_wait", action="store_true",
                        help="with launcher slurm: return once the jobs are submitted")


def run(args: argparse.Namespace) -> int:
    """Run or continue an Optuna study: a parent MLflow run, one child run per trial."""
    # `mlflow run`'s wrapper is not the study's run (that one outlives restarts): deleted at the end
    outer_run = take_outer_run_id()
    try:
        return _run(args)
    finally:
        if outer_run:
            discard_outer_run(outer_run)


def _run(args: argparse.Namespace) -> int:
    from vae_core.config import ConfigError

    spec = load_study_spec(args.study, project_root())
    try:
        n_workers = int(args.n_workers) if args.n_workers else None
    except ValueError:
        raise ConfigError(f"n_workers: expected an integer, got {args.n_workers!r}") from None
    if n_workers is not None and n_workers < 1:
        raise ConfigError(f"n_workers: must be >= 1, got {n_workers}")
    if (args.launcher or spec.launcher) == "slurm":
        from vae_core.sweep.slurm_launch import launch_on_slurm

        summary = launch_on_slurm(spec, args.storage, n_workers, wait=not args.no_wait)
    else:
        with scoped_state_dir(spec.state_dir, project_root()):  # in-process callers keep their own
            summary = asdict(run_sweep(spec, study_file(args.study, project_root()), args.storage, n_workers))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


def register_worker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--parent-run-id", dest="parent_run_id", required=True)
    parser.add_argument("--experiment-id", dest="experiment_id", required=True)


def run_worker(args: argparse.Namespace) -> int:
    """One worker of a study: takes trials from the shared storage until none are left."""
    take_outer_run_id()  # a worker logs only to the study's runs
    spec = load_study_spec(args.study, project_root())
    use_state_dir(spec.state_dir, project_root())
    work(spec, args.storage, args.parent_run_id, args.experiment_id)
    return 0


def register_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", required=True, help="a name under projects/ or a sweep.yaml path")
    parser.add_argument("--storage", default="")
    parser.add_argument("--out-dir", dest="out_dir", default="", help="also write the files here")


def run_report(args: argparse.Namespace) -> int:
    """Log a study's report (history, importances, slices, Pareto front, trials CSV) to its parent run."""
    from vae_core.sweep.report import write_report
    from vae_core.sweep.runner import storage_url
    from vae_core.tracking.store import configure_tracking

    outer_run = take_outer_run_id()  # the report goes to the study's parent run
    try:
        spec = load_study_spec(args.study, project_root())
        configure_tracking()
        out_dir = Path(args.out_dir) if args.out_dir else None
        written = write_report(spec, storage_url(spec, args.storage), out_dir)
    finally:
        if outer_run:
            discard_outer_run(outer_run)
    print(json.dumps(written, indent=2))
    return 0
