"""The S2 grid as the sweep machinery left it: the study file, its data, its parent run and one
finished model run per grid point (read from the Optuna storage, never handed over in files)."""

from __future__ import annotations

from dataclasses import dataclass

from optuna.trial import TrialState

from vae_core.config import ConfigError
from vae_core.experiment import ExperimentConfig
from vae_core.sweep.bridge import RUN_ATTR
from vae_core.sweep.runner import PARENT_ATTR, storage_url
from vae_core.sweep.spec import StudySpec, load_study_spec
from vae_core.sweep.storage import find_study, open_storage
from vae_core.tracking.runs import read_config
from vae_core.tracking.store import configure_tracking, project_root

HIERARCHICAL_FAMILIES = ("hvae", "lvae")


@dataclass(frozen=True)
class GridPoint:
    run_id: str
    trial: int
    beta_y: float
    beta_z: float


def grid_spec(sweep_file: str) -> StudySpec:
    """The study file, refused unless it trains a hierarchical family."""
    spec = load_study_spec(sweep_file, project_root())
    family = spec.trial_config({}).model.family
    if family not in HIERARCHICAL_FAMILIES:
        raise ConfigError(f"sweep_file: {sweep_file} trains model {family!r}; the hit study needs one of "
                          f"{', '.join(HIERARCHICAL_FAMILIES)}")
    return spec


def classifier_name(spec: StudySpec) -> str:
    """The registered model holding the classifier of the study's data set."""
    return f"{spec.study}-classifier"


def sweep_parent_and_points(spec: StudySpec) -> tuple[str, list[GridPoint]]:
    """(the sweep's parent run, its completed grid points in trial order); ConfigError if the sweep
    has not run."""
    configure_tracking()
    study = find_study(open_storage(storage_url(spec), spec.heartbeat_s), spec.study)
    parent = study.user_attrs.get(PARENT_ATTR) if study is not None else None
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if parent else []
    if not trials:
        raise ConfigError(f"sweep_file: study {spec.study!r} has no finished grid point; run "
                          f"`python -m vae_core.cli sweep --study {spec.study}` first")
    points = []
    for trial in trials:
        run_id = trial.user_attrs[RUN_ATTR]
        model = read_config(run_id, ExperimentConfig).model
        points.append(GridPoint(run_id, trial.number, model.beta_y, model.beta_z))
    return parent, points

