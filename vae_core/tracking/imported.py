"""Checkpoints made elsewhere: fetched with `dvc import-url` (so DVC tracks where they came
from), rebuilt from their self-describing dict {model_config, sample_shape, state_dict}, logged as an
MLflow model and registered as a version."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import mlflow
import torch
import yaml
from torch import nn

from vae_core.config import ConfigError
from vae_core.tracking.checkpoints import log_checkpoint, rebuild
from vae_core.tracking.registry import register_logged_model
from vae_core.tracking.runs import study_experiment

CHECKPOINT_KEYS = ("model_config", "sample_shape", "state_dict")
IMPORT_EXPERIMENT = "imported-checkpoints"


def dvc_import(url: str, out: Path) -> str:
    """`dvc import-url url out` (the file plus out.dvc); returns the md5 DVC recorded."""
    if not (Path.cwd() / ".dvc").is_dir():
        raise ConfigError("url: dvc import-url needs a DVC repository here; run `dvc init` first")
    out.parent.mkdir(parents=True, exist_ok=True)
    dvc = Path(sys.executable).with_name("dvc")
    command = [str(dvc) if dvc.exists() else "dvc", "import-url", "--force", url, str(out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ConfigError(f"url: dvc import-url could not fetch {url!r}: "
                          f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}")
    record = yaml.safe_load(Path(f"{out}.dvc").read_text())
    return str(record["outs"][0].get("md5", ""))


def read_checkpoint(path: Path) -> nn.Module:
    """The network a checkpoint file describes (tensors only: a weights_only load)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ConfigError(f"url: {path} is not a torch checkpoint: {error}") from None
    if not isinstance(checkpoint, dict):
        raise ConfigError(f"url: a checkpoint must be a dict with keys {', '.join(CHECKPOINT_KEYS)}; "
                          f"{path} holds a {type(checkpoint).__name__}")
    return rebuild(checkpoint, str(path))


def import_checkpoint(url: str, name: str, out: Path | None = None,
                      alias: str = "imported") -> dict[str, str]:
    """Fetch, rebuild, log and register one checkpoint; returns ids and the version."""
    out = out or Path("models") / "imported" / Path(urlparse(url).path).name
    md5 = dvc_import(url, out)
    model = read_checkpoint(out)
    experiment_id = study_experiment(IMPORT_EXPERIMENT)  # the classic UI view, like every other
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"import-{out.name}",
                          tags={"vae.kind": "import", "vae.source_url": url, "dvc.md5": md5,
                                "dvc.file": f"{out}.dvc"}) as run:
        mlflow.log_params({f"model.{k}": v for k, v in model.config.model_dump().items()})
        model_id = log_checkpoint(model, run.info.run_id, 0)
    version = register_logged_model(name, model_id, (alias,) if alias else (),
                                    tags={"vae.source_url": url, "dvc.md5": md5})
    return {"run_id": run.info.run_id, "model_id": model_id, "name": name, "version": version,
            "path": str(out), "md5": md5}
