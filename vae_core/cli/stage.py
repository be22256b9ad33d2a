"""`stage STUDY STAGE`: run one stage of a study, its section of the study's params.yaml typed
(with `--set key=value` overrides) before any work starts. What dvc.yaml and MLproject call."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from vae_core.config import ConfigError


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="a study name (vae_core.studies.STUDIES)")
    parser.add_argument("stage", help="one of the study's stages")
    parser.add_argument("--params", default="", help="default: projects/<study>/params.yaml "
                        "(params.yaml for the default study)")
    parser.add_argument("--item", default="", help="the data set of a per-item stage (DVC foreach)")
    parser.add_argument("--out-dir", dest="out_dir", default="", help="default: results/<study>[/<item>]")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key of the stage's section (repeatable)")
    parser.add_argument("--no-wait", dest="no_wait", action="store_true",
                        help="with launch.launcher slurm: return once the array is submitted (the same "
                        "command started again collects the results)")


def parse_overrides(items: list[str]) -> dict[str, object]:
    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: expected KEY=VALUE, got {item!r}")
        values[key] = yaml.safe_load(text) if text else ""
    return values


def run(args: argparse.Namespace) -> int:
    """Run one stage of a study (its params section typed first)."""
    from vae_core.studies import run_stage

    overrides = parse_overrides(args.overrides)
    if args.no_wait:
        overrides["launch.wait"] = False
    result = run_stage(args.study, args.stage, Path(args.params) if args.params else None, overrides,
                       args.item, Path(args.out_dir) if args.out_dir else None)
    print(json.dumps(result, indent=2, default=str))
    return 0
