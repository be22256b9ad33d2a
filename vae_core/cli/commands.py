"""The registry of CLI commands: name -> (add arguments, run)."""

from __future__ import annotations

from vae_core.cli import (
    analyze,
    fetch_data,
    import_checkpoint,
    report,
    stage,
    sweep,
    sweep_slurm,
    train,
)

COMMANDS = {
    "train": (train.register, train.run),
    "stage": (stage.register, stage.run),
    "report": (report.register, report.run),
    "analyze": (analyze.register, analyze.run),
    "fetch-data": (fetch_data.register, fetch_data.run),
    "sweep": (sweep.register, sweep.run),
    "sweep-worker": (sweep.register_worker, sweep.run_worker),
    "sweep-report": (sweep.register_report, sweep.run_report),
    "sweep-status": (sweep_slurm.register_status, sweep_slurm.run_status),
    "sweep-cancel": (sweep_slurm.register_status, sweep_slurm.run_cancel),
    "import-checkpoint": (import_checkpoint.register, import_checkpoint.run),
}
