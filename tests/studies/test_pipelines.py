"""Every dvc.yaml names code that exists: a dependency on a moved module would make DVC fail
(`No such file or directory`) only when the stage runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

PIPELINES = sorted(p for p in ROOT.glob("**/dvc.yaml") if ".venv" not in p.parts)


@pytest.mark.parametrize("pipeline", PIPELINES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_dependency_exists(pipeline: Path):
    stages = yaml.safe_load(pipeline.read_text())["stages"]
    missing = []
    for name, stage in stages.items():
        body = stage.get("do", stage)
        base = (pipeline.parent / body.get("wdir", ".")).resolve()
        for dep in body.get("deps", []):
            if str(dep).startswith("vae_core") and not (base / dep).exists():
                missing.append(f"{name}: {dep}")
    assert not missing, missing
