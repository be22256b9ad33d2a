"""Materialise a registered data set as one .npz, the DVC-versioned input of training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.cli.params import parse_options, read_section
from vae_core.config import reject_unknown_keys
from vae_core.data import load_dataset, save_prepared


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", help="a params file section, e.g. params.yaml:prepare")
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--dataset-options", dest="dataset_options", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--val-fraction", dest="val_fraction", type=float, default=None)
    parser.add_argument("--out", required=True, help="the .npz to write")


def run(args: argparse.Namespace) -> int:
    """Write a data set's train/val/test splits to one .npz."""
    values = read_section(args.params)
    reject_unknown_keys("prepare", values, ["dataset", "dataset_options", "seed", "val_fraction"])
    for key in ("dataset", "seed", "val_fraction"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.dataset_options:
        values["dataset_options"] = parse_options(args.dataset_options)
    splits = load_dataset(values.get("dataset", "digits"), seed=values.get("seed", 0),
                          val_fraction=values.get("val_fraction", 0.2),
                          **values.get("dataset_options", {}))
    save_prepared(splits, Path(args.out))
    print(json.dumps({"dataset": splits.name, "fingerprint": splits.fingerprint(),
                      "train": list(splits.train.shape), "val": list(splits.val.shape),
                      "test": list(splits.test.shape)}))
    return 0
