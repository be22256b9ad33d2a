"""Properties every study stage shares: an unknown key is refused before any MLflow run exists,
and MLflow is imported only under vae_core/tracking/."""

from __future__ import annotations

import re

import mlflow
import pytest

from tests.conftest import ROOT
from vae_core.config import ConfigError
from vae_core.studies import STUDIES, run_stage

STAGES = [(study, stage) for study, stages in STUDIES.items() for stage in stages]


@pytest.mark.parametrize(("study", "stage"), STAGES)
def test_every_stage_refuses_an_unknown_key_before_any_run(study, stage, workdir, tracking_uri):
    before = len(mlflow.search_runs(search_all_experiments=True))
    params = workdir / "params.yaml"
    params.write_text(f"{stage}:\n  not_a_key: 1\n")
    with pytest.raises(ConfigError, match="not_a_key"):
        run_stage(study, stage, params)
    assert len(mlflow.search_runs(search_all_experiments=True)) == before


def test_unknown_study_and_stage_name_what_exists():
    with pytest.raises(ConfigError, match="^study: unknown value 'nope'; allowed values: default"):
        run_stage("nope", "train")
    with pytest.raises(ConfigError, match="^stage: study 'default' has no stage 'fit'; allowed values"):
        run_stage("default", "fit")


def test_only_tracking_imports_mlflow():
    importers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "vae_core").rglob("*.py")
                       if re.search(r"^\s*(import mlflow|from mlflow)", p.read_text(), re.M))
    assert importers and all(p.startswith("vae_core/tracking/") for p in importers), importers
