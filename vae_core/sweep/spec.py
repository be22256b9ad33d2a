"""The study file (projects/<name>/sweep.yaml): what to search, what to optimise, how, how long.

Everything is checked here, before any storage, MLflow run or trial exists: parameter names
against the training configuration, every value against the field's type and the model's
constraints, objective metrics against the metrics the trainer logs (or, for `disentanglement.*`, against the
metrics the disentanglement scoring of a trained trial gives: vae_core/sweep/disentanglement.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vae_core.analysis.disentanglement.scoring import ScoringConfig
from vae_core.config import (
    ConfigError,
    reject_unknown_keys,
    require_choice,
    require_float,
    require_int,
    typed,
)
from vae_core.experiment import ExperimentConfig, all_flat_keys
from vae_core.launch.settings import (
    DEFAULT_STATE_DIR,
    SlurmSettings,
    parse_launcher,
    parse_slurm,
    parse_state_dir,
)
from vae_core.sweep.disentanglement import check_scorable, check_scored_metric, is_scored, parse_scoring
from vae_core.sweep.space import Dimension, field_kinds, parse_dimension

# What the trainer logs for every family (Trainer.train_epoch / evaluate); model/* are the
# family's own per-step logs.
# neg_elbo (recon + KL, beta-free) for families with a KL; bits_per_dim for image data.
TRAINER_METRICS = ("train/loss", "train/recon", "train/kl", "train/neg_elbo", "train/bits_per_dim",
                   "val/loss", "val/recon", "val/kl", "val/neg_elbo", "val/bits_per_dim")
# Metrics whose value is weighted by a training parameter: comparing them across values of that
# parameter compares different objectives (beta 0.5 "wins" on recon + 0.5 KL).
WEIGHTED_METRICS = {"train/loss": ("beta",), "val/loss": ("beta",)}
MODEL_METRIC_PREFIX = "model/"
SAMPLERS = ("grid", "random", "tpe", "nsga2")
PRUNERS = ("none", "median", "hyperband")
DIRECTIONS = ("minimize", "maximize")
# A trial trains one latent size; `latent_sizes` (a list) is what plain training loops over.
SEARCHABLE = tuple(k for k in all_flat_keys() if k != "latent_sizes") + ("latent_size",)
STUDY_KEYS = ("study", "base", "space", "objectives", "sampler", "pruner", "budget", "n_workers",
              "storage", "heartbeat_s", "register_alias", "launcher", "slurm", "state_dir",
              "allow_weighted_objective", "disentanglement")


@dataclass(frozen=True)
class Objective:
    metric: str
    direction: str = "minimize"


@dataclass
class StudySpec:
    study: str
    base: dict[str, Any]
    space: list[Dimension]
    objectives: list[Objective]
    sampler: str = "tpe"
    seed: int = 0
    pruner: str = "none"
    prune_metric: str = "val/loss"
    n_trials: int | None = None  # None: the grid's size (grid) or unlimited (until timeout)
    timeout_s: float | None = None
    n_workers: int = 1
    storage: str = ""  # "" -> sqlite file .optuna/<study>.db in the project root
    heartbeat_s: int = 5
    register_alias: str = "champion"
    launcher: str = "local"  # or "slurm": one array task per worker (vae_core/sweep/slurm_launch.py)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)
    state_dir: str = DEFAULT_STATE_DIR  # trainer resume state; shared storage for Slurm requeues
    allow_weighted_objective: bool = False
    disentanglement: ScoringConfig | None = None  # set: every finished trial is scored with it
    source: dict[str, Any] = field(default_factory=dict)  # the file as read, for the record

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def grid(self) -> dict[str, list[Any]]:
        return {d.name: list(d.values) for d in self.space if d.kind in ("grid", "choices")}

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid.values())

    def budget(self) -> int | None:
        if self.n_trials is not None:
            return self.n_trials
        return self.grid_size if self.sampler == "grid" else None

    def trial_config(self, params: dict[str, Any]) -> ExperimentConfig:
        """The training configuration of one trial: the base with the trial's values."""
        values = {**self.base, **params}
        values["latent_sizes"] = [values.pop("latent_size", 2)]
        values["study"] = self.study
        return typed(ExperimentConfig, values, "trial")


def _objectives(entries: Any) -> list[Objective]:
    if isinstance(entries, str | dict):
        entries = [entries]
    if not isinstance(entries, list) or not entries or len(entries) > 2:
        raise ConfigError(f"objectives: expected one or two objectives, got {entries!r}")
    objectives = []
    for i, entry in enumerate(entries):
        entry = {"metric": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, dict):
            raise ConfigError(f"objectives[{i}]: expected {{metric: ..., direction: ...}}, got {entry!r}")
        reject_unknown_keys(f"objectives[{i}]", entry, ["metric", "direction"])
        objectives.append(Objective(check_objective_metric(f"objectives[{i}].metric", entry.get("metric")),
                                    require_choice(f"objectives[{i}].direction",
                                                   entry.get("direction", "minimize"), DIRECTIONS)))
    return objectives


def check_objective_metric(key: str, name: Any) -> str:
    """A metric the trainer logs, or a disentanglement metric scored once after training."""
    return check_scored_metric(key, name) if is_scored(name) else check_metric(key, name)


def check_metric(key: str, name: Any) -> str:
    """A metric the trainer logs at every epoch (or a family's model/* log)."""
    if isinstance(name, str) and (name in TRAINER_METRICS or name.startswith(MODEL_METRIC_PREFIX)):
        return name
    if is_scored(name):  # scored after training, not per epoch
        raise ConfigError(f"{key}: {name!r} is scored once after training, so there is nothing to "
                          f"prune on per epoch; allowed values: {', '.join(TRAINER_METRICS)}, "
                          f"{MODEL_METRIC_PREFIX}<name>")
    raise ConfigError(f"{key}: the trainer never logs {name!r}; allowed values: "
                      f"{', '.join(TRAINER_METRICS)}, {MODEL_METRIC_PREFIX}<name>")


def parse_study(document: dict[str, Any], name: str) -> StudySpec:
    """Validate a study file's contents (and every value against the training config)."""
    if not isinstance(document, dict):
        raise ConfigError(f"study file: expected a mapping of {', '.join(STUDY_KEYS)}")
    reject_unknown_keys("study file", document, STUDY_KEYS)
    study = document.get("study", name)
    if not isinstance(study, str) or not study.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"study: expected a name of letters, digits, '_' or '-', got {study!r}")
    base = dict(document.get("base") or {})
    reject_unknown_keys("base", base, SEARCHABLE)
    kinds = field_kinds()
    space_doc = document.get("space") or {}
    if not isinstance(space_doc, dict) or not space_doc:
        raise ConfigError(f"space: the search space is empty; give at least one of "
                          f"{', '.join(SEARCHABLE)}")
    reject_unknown_keys("space", space_doc, SEARCHABLE)
    space = [parse_dimension(key, entry, kinds[key]) for key, entry in space_doc.items()]
    sampler_doc = dict(document.get("sampler") or {"name": "grid"})
    reject_unknown_keys("sampler", sampler_doc, ["name", "seed"])
    pruner_doc = dict(document.get("pruner") or {"name": "none"})
    reject_unknown_keys("pruner", pruner_doc, ["name", "metric"])
    budget = dict(document.get("budget") or {})
    reject_unknown_keys("budget", budget, ["n_trials", "timeout_s"])
    objectives = _objectives(document.get("objectives", "val/loss"))
    scored = [o.metric for o in objectives if is_scored(o.metric)]
    prune_default = "val/loss" if is_scored(objectives[0].metric) else objectives[0].metric
    spec = StudySpec(
        study=study, base=base, space=space, objectives=objectives,
        sampler=require_choice("sampler.name", sampler_doc.get("name", "grid"), SAMPLERS),
        seed=require_int("sampler.seed", sampler_doc.get("seed", 0), minimum=0),
        pruner=require_choice("pruner.name", pruner_doc.get("name", "none"), PRUNERS),
        prune_metric=check_metric("pruner.metric", pruner_doc.get("metric", prune_default)),
        n_trials=budget.get("n_trials"), timeout_s=budget.get("timeout_s"),
        n_workers=require_int("n_workers", document.get("n_workers", 1), minimum=1),
        storage=str(document.get("storage") or ""),
        heartbeat_s=require_int("heartbeat_s", document.get("heartbeat_s", 5), minimum=1),
        register_alias=str(document.get("register_alias", "champion")),
        launcher=parse_launcher(document.get("launcher", "local")), slurm=parse_slurm(document.get("slurm")),
        state_dir=parse_state_dir(document.get("state_dir", DEFAULT_STATE_DIR)),
        allow_weighted_objective=document.get("allow_weighted_objective", False),
        disentanglement=parse_scoring(document.get("disentanglement"), bool(scored)), source=document)
    return validate(spec)


def validate(spec: StudySpec) -> StudySpec:
    """Cross-field checks; every grid value and range end is tried in a full training config."""
    if spec.n_trials is not None:
        require_int("budget.n_trials", spec.n_trials, minimum=1)
    if spec.timeout_s is not None:
        require_float("budget.timeout_s", spec.timeout_s, minimum=0.0, strict=True)
    if spec.sampler == "grid":
        ranges = [d.name for d in spec.space if d.kind in ("float", "int")]
        if ranges:
            raise ConfigError(f"sampler.name: 'grid' needs every dimension as a list (grid/choices); "
                              f"{', '.join(ranges)} are ranges; use sampler random, tpe or nsga2")
    if len(spec.objectives) > 1 and spec.pruner != "none":
        raise ConfigError("pruner.name: Optuna cannot prune multi-objective studies "
                          "(Trial.report/should_prune are single-objective only); allowed values: none")
    if spec.n_trials is None and spec.timeout_s is None and spec.sampler != "grid":
        raise ConfigError(f"budget: sampler {spec.sampler!r} needs n_trials or timeout_s")
    if not spec.register_alias.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"register_alias: letters, digits, '_' or '-' only, got {spec.register_alias!r}")
    check_unweighted_objectives(spec)
    for dim in spec.space:
        for value in dimension_ends(dim):
            try:
                spec.trial_config({dim.name: value})
            except ConfigError as error:
                raise ConfigError(f"space.{dim.name}: value {value!r} cannot train: {error}") from None
    check_scored_trials(spec)
    return spec


def dimension_ends(dim: Dimension) -> tuple[Any, ...]:
    """A grid's values, or a range's two ends (ints for an int range)."""
    if dim.values:
        return tuple(dim.values)
    return (dim.low, dim.high) if dim.kind == "float" else (int(dim.low), int(dim.high))


def check_scored_trials(spec: StudySpec) -> None:
    """With disentanglement scoring: no pruner on a scored objective, and every trial's data set
    has factors and its last epoch is checkpointed (each searched value tried with the others')."""
    if spec.disentanglement is None:
        return
    scored = [o.metric for o in spec.objectives if is_scored(o.metric)]
    if scored and spec.pruner != "none":
        raise ConfigError(f"pruner.name: {spec.pruner!r} prunes on a per-epoch metric, but the objective "
                          f"{scored[0]!r} is scored once after training (and Optuna would rank the pruned "
                          "metric in the objective's direction); allowed values: none")
    corner = {dim.name: dimension_ends(dim)[0] for dim in spec.space}  # one real trial's values
    tried = [(dim.name, spec.trial_config({**corner, dim.name: value}))
             for dim in spec.space for value in dimension_ends(dim)]
    for name, config in tried:
        check_scorable(config, "space.dataset" if name == "dataset" else "base.dataset",
                       f"space.{name}" if name in ("epochs", "save_interval") else "base.save_interval")


def check_unweighted_objectives(spec: StudySpec) -> None:
    """Refuse ranking trials on a metric weighted by a parameter the same study varies."""
    if not isinstance(spec.allow_weighted_objective, bool):
        raise ConfigError(f"allow_weighted_objective: expected true or false, got "
                          f"{spec.allow_weighted_objective!r}")
    if spec.allow_weighted_objective:
        return
    searched = {d.name for d in spec.space}
    metrics = [(f"objectives[{i}].metric", o.metric) for i, o in enumerate(spec.objectives)]
    if spec.pruner != "none":
        metrics.append(("pruner.metric", spec.prune_metric))
    for key, metric in metrics:
        weights = sorted(searched & set(WEIGHTED_METRICS.get(metric, ())))
        if weights:
            fair = metric.split("/")[0] + "/neg_elbo"
            raise ConfigError(f"{key}: {metric!r} is weighted by {weights[0]!r}, which this study "
                              f"searches, so trials are scored on different objectives; use "
                              f"{fair!r}, or set allow_weighted_objective: true")


def study_file(name: str, root: Path) -> Path:
    """projects/<name>/sweep.yaml, or `name` itself when it is a path to a file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"study: file {name!r} not found")
        return path
    path = root / "projects" / name / "sweep.yaml"
    if not path.is_file():
        known = sorted(p.parent.name for p in (root / "projects").glob("*/sweep.yaml"))
        raise ConfigError(f"study: no study file {path}; allowed values: {', '.join(known) or '(none)'}")
    return path


def load_study_spec(name: str, root: Path) -> StudySpec:
    path = study_file(name, root)
    document = yaml.safe_load(path.read_text()) or {}
    default_name = path.parent.name if path.name == "sweep.yaml" else path.stem
    return parse_study(document, default_name)
