"""Self-describing training state (weights, optimiser, RNG, epoch, that epoch's metrics).

Written atomically every epoch so a run killed with SIGKILL resumes from its last epoch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
