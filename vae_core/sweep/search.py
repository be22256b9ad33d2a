"""The study's search space as Optuna sees it: suggestions, samplers and pruners."""

from __future__ import annotations

from typing import Any

import optuna

from vae_core.sweep.spec import StudySpec


def suggest(trial: optuna.Trial, spec: StudySpec) -> dict[str, Any]:
    """The trial's value for every dimension (grid/choices are categorical to Optuna)."""
    params: dict[str, Any] = {}
    for dim in spec.space:
        if dim.kind in ("grid", "choices"):
            params[dim.name] = trial.suggest_categorical(dim.name, list(dim.values))
        elif dim.kind == "int":
            params[dim.name] = trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
        else:
            params[dim.name] = trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)
    return params


def build_sampler(spec: StudySpec) -> optuna.samplers.BaseSampler:
    if spec.sampler == "grid":
        return optuna.samplers.GridSampler(spec.grid, seed=spec.seed)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    if spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=spec.seed)
    return optuna.samplers.TPESampler(seed=spec.seed, multivariate=True)


def build_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource="auto")
    return optuna.pruners.NopPruner()
