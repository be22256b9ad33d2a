"""The registry of CLI commands: name -> (add arguments, run)."""

from __future__ import annotations

from vae_core.cli import entropies, fetch_data, prepare, report, train

COMMANDS = {
    "train": (train.register, train.run),
    "prepare": (prepare.register, prepare.run),
    "report": (report.register, report.run),
    "fetch-data": (fetch_data.register, fetch_data.run),
    "entropies": (entropies.register, entropies.run),
}
