"""Optuna studies over training configurations, recorded as MLflow parent/child runs."""

from vae_core.sweep.spec import StudySpec, load_study_spec, parse_study

__all__ = ["StudySpec", "load_study_spec", "parse_study"]
