"""One registry of studies: study -> stage -> (config type, function). The only lookup the
`stage` command, MLproject and dvc.yaml go through. A new study is one folder plus one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vae_core.config import ConfigError, typed
from vae_core.studies import (
    ae_vs_vae,
    default,
    disentanglement,
    elbo_entropies,
    hit,
    id_ii,
    info_channels,
)
from vae_core.studies.base import Stage, StageContext, read_params

STUDIES: dict[str, dict[str, Stage]] = {
    "default": default.STAGES,
    "id_ii": id_ii.STAGES,
    "elbo_entropies": elbo_entropies.STAGES,
    "ae_vs_vae": ae_vs_vae.STAGES,
    "disentanglement": disentanglement.STAGES,
    "info_channels": info_channels.STAGES,
    "hit": hit.STAGES,
}


def params_file(study: str) -> Path:
    """The default study's numbers live in ./params.yaml, every other's in projects/<study>/."""
    return Path("params.yaml") if study == "default" else Path("projects") / study / "params.yaml"


def lookup(study: str, stage: str) -> Stage:
    if study not in STUDIES:
        raise ConfigError(f"study: unknown value {study!r}; allowed values: {', '.join(STUDIES)}")
    if stage not in STUDIES[study]:
        raise ConfigError(f"stage: study {study!r} has no stage {stage!r}; allowed values: "
                          f"{', '.join(STUDIES[study])}")
    return STUDIES[study][stage]


def run_stage(study: str, stage: str, params: Path | None = None, overrides: dict[str, Any] | None = None,
              item: str = "", out_dir: Path | None = None) -> dict[str, Any]:
    """Type the stage's section (with overrides) before any work, then run it."""
    entry = lookup(study, stage)
    path = params or params_file(study)
    document = read_params(path)
    section = entry.section or (f"{stage}_{item}" if item and f"{stage}_{item}" in document else stage)
    values = dict(document.get(section) or {})
    for dotted, value in (overrides or {}).items():  # `defaults.epochs=5` sets a nested key
        *parents, key = dotted.split(".")
        target = values
        for parent in parents:
            target = target.setdefault(parent, {})
        target[key] = value
    config = typed(entry.config, values, section)
    folder = out_dir or Path("results") / study / (item or "")
    context = StageContext(study, stage, path, folder, item, document)
    return entry.run(config, context)
