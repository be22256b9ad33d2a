"""Download a data set into data/<name>/ with torchvision (needs internet, once)."""

from __future__ import annotations

import argparse
from pathlib import Path

from vae_core.config import require_choice
from vae_core.data import fetch
from vae_core.data.downloaded import SOURCES
from vae_core.data.registry import DEFAULT_DATA_DIR


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", required=True, help=", ".join(SOURCES))
    parser.add_argument("--data-dir", dest="data_dir", default=str(DEFAULT_DATA_DIR))


def run(args: argparse.Namespace) -> int:
    """Fetch a downloadable data set (one of downloaded.SOURCES: mnist, ..., frey_face, dsprites)."""
    require_choice("dataset", args.dataset, SOURCES)
    folder = fetch(args.dataset, Path(args.data_dir))
    print(f"{args.dataset}: files in {folder}")
    return 0
