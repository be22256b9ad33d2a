"""S4's train stage: several named Gaussian-VAE runs (shared defaults, per-run overrides), each
one MLflow child run under the stage's run, every one typed before the first starts."""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field, field_validator

from vae_core.config import ConfigError, StrictModel, typed
from vae_core.experiment import ExperimentConfig, check_models_fit, load_data, train_one
from vae_core.studies.base import StageContext
from vae_core.tracking.history import final_metrics
from vae_core.tracking.runs import child_runs, experiment_id_of, latest_stage_run, run_key, stage_run

SUMMARY = ("val/elbo", "val/entropy_sum", "val/loss")


class TrainConfig(StrictModel):
    defaults: dict[str, Any] = Field(default_factory=dict)
    runs: list[dict[str, Any]]

    @field_validator("runs")
    @classmethod
    def _named(cls, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [run.get("name") for run in runs]
        if not runs or None in names or len(set(names)) != len(names):
            raise ValueError(f"runs: give a non-empty list of runs with unique names, got names {names}")
        return runs

    def declared(self) -> dict[str, ExperimentConfig]:
        """name -> the typed declaration of that run (one latent size each)."""
        configs = {}
        for run in self.runs:
            values = {"model": "gaussian_vae", **self.defaults, **run}
            name = values.pop("name")
            configs[name] = typed(ExperimentConfig, values, f"runs[{name}]")
            if len(configs[name].latent_sizes) != 1:
                raise ConfigError(f"latent_sizes: run {name!r} trains one network; give one latent size")
        return configs


def train(config: TrainConfig, context: StageContext) -> dict[str, Any]:
    declared = config.declared()
    data = {name: load_data(c.data, c.trainer.seed) for name, c in declared.items()}
    for name, c in declared.items():
        check_models_fit(c, data[name])
    runs = {}
    with stage_run(context.study, context.stage, "train", config) as parent:
        experiment_id = experiment_id_of(parent)
        for name, c in declared.items():
            runs[name], _ = train_one(c, data[name], c.latent_sizes[0], parent, experiment_id,
                                      key_extra={"name": name}, run_name=name)
    summary = {name: final_metrics(run_id, SUMMARY) for name, run_id in runs.items()}
    context.out_dir.mkdir(parents=True, exist_ok=True)
    (context.out_dir / "train_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return runs


def trained_runs(context: StageContext) -> dict[str, tuple[str, ExperimentConfig]]:
    """name -> (run id, declaration) of the newest finished train stage of this params file."""
    config = context.section("train", TrainConfig)
    parent = latest_stage_run(context.study, "train", run_key(config.model_dump(mode="json")))
    declared = config.declared()
    found = {run.info.run_name: run.info.run_id for run in child_runs(parent.info.run_id)}
    return {name: (found[name], declared[name]) for name in declared if name in found}
