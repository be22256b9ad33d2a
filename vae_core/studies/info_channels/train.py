"""S1's ensemble: seeds x betas of one architecture as an Optuna grid sweep (the platform's
sweep machinery, `vae_core/sweep`), each model an MLflow child run under the study's parent run.
The study file is `projects/info_channels/sweep.yaml` (or the offline one); this stage only
names it, so `python -m vae_core.cli sweep --study <file>` does exactly the same."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from pydantic import PositiveInt

from vae_core.config import StrictModel
from vae_core.launch.settings import scoped_state_dir
from vae_core.studies.base import StageContext
from vae_core.sweep.runner import run_sweep
from vae_core.sweep.spec import load_study_spec, study_file
from vae_core.tracking.store import project_root


class TrainConfig(StrictModel):
    sweep: str = "projects/info_channels/sweep.yaml"  # the study file (a path, or a name under projects/)
    n_workers: PositiveInt | None = None  # default: the study file's
    storage: str = ""  # default: the study file's, else sqlite .optuna/<study>.db


def train(config: TrainConfig, context: StageContext) -> dict[str, Any]:
    """Run (or continue, or find finished) the ensemble's sweep; writes sweep.json for DVC."""
    root = project_root()
    spec = load_study_spec(config.sweep, root)
    with scoped_state_dir(spec.state_dir, root):  # the stage may run inside a longer process
        result = asdict(run_sweep(spec, study_file(config.sweep, root), config.storage, config.n_workers))
    context.out_dir.mkdir(parents=True, exist_ok=True)
    (context.out_dir / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
