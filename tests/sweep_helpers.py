"""Small study files for the sweep tests (digits, one or two epochs, tiny grids)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TINY_BASE = {"dataset": "digits", "epochs": 1, "batch_size": 256, "lr": 3.0e-3, "save_interval": [1]}


def study_document(name: str, **overrides: Any) -> dict[str, Any]:
    document = {"study": name, "base": dict(TINY_BASE),
                "space": {"beta": {"grid": [1.0, 2.0]}, "latent_size": {"grid": [2, 3]}},
                "objectives": [{"metric": "val/neg_elbo", "direction": "minimize"}],
                "sampler": {"name": "grid", "seed": 0}, "heartbeat_s": 1}
    document.update(overrides)
    return document


def write_study(folder: Path, name: str, **overrides: Any) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study_document(name, **overrides)))
    return path
