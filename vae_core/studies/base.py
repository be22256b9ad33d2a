"""What every study stage is: a typed config, a function, and the context it runs in.

A stage reads its own section of `projects/<study>/params.yaml` (typed by its config), may read
other sections (the report needs the train stage's declaration to find its runs), writes only
DVC outputs under `out_dir`, and records everything else in MLflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vae_core.config import ConfigError, StrictModel, typed


@dataclass(frozen=True)
class StageContext:
    study: str
    stage: str
    params_file: Path
    out_dir: Path
    item: str = ""  # the value of a DVC `foreach` (a data set name) for stages run per item
    document: dict[str, Any] = field(default_factory=dict)  # the whole params file

    def section(self, name: str, model: type[StrictModel]) -> Any:
        """Another stage's section, typed (e.g. the report reading the train declaration)."""
        if name not in self.document:
            raise ConfigError(f"params: {self.params_file} has no section {name!r}; sections: "
                              f"{', '.join(self.document)}")
        return typed(model, self.document[name], name)


@dataclass(frozen=True)
class Stage:
    config: type[StrictModel]
    run: Callable[[Any, StageContext], dict[str, Any]]
    section: str = ""  # the params section; default: the stage's name (with `_<item>` if per item)


def read_params(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"params: file {str(path)!r} not found")
    return yaml.safe_load(path.read_text()) or {}
