"""`python -m vae_core.cli <command>`: the entry points MLproject and dvc.yaml call."""

from __future__ import annotations

import argparse
import os
import sys

from vae_core.cli import commands
from vae_core.config import ConfigError
from vae_core.data import DatasetMissingError
from vae_core.launch import UnitsFailed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vae", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (register, _) in commands.COMMANDS.items():
        register(sub.add_parser(name, help=commands.COMMANDS[name][1].__doc__))
    args = parser.parse_args(argv)
    try:
        return commands.COMMANDS[args.command][1](args) or 0
    except (ConfigError, DatasetMissingError) as error:
        print(f"error: {error}", file=sys.stderr)
        discard_refused_run()
        return 2
    except UnitsFailed as error:  # each failed array task and its log, no traceback of ours
        print(f"error: {error}", file=sys.stderr)
        return 1


def discard_refused_run() -> None:
    """A refused command leaves no run behind: delete the one `mlflow run` opened for it."""
    if "MLFLOW_RUN_ID" in os.environ or "vae_core.tracking.runs" in sys.modules:
        from vae_core.tracking.runs import discard_outer_run

        discard_outer_run(status="FAILED")


if __name__ == "__main__":
    sys.exit(main())
