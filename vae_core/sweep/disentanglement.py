"""Sweep objectives scored after training: the disentanglement metrics of a trial's network.

A study file naming a `disentanglement.*` objective (or holding a `disentanglement:` section)
scores each finished trial's last checkpoint with the same function and settings type as
`analyze --kind disentanglement` and logs the scores to the trial's run under the analysis's
names (at the checkpoint's epoch); the bridge then reads the objective's value from that run.
"""

from __future__ import annotations

from typing import Any

from vae_core.analysis.disentanglement.codes import encode_means
from vae_core.analysis.disentanglement.scoring import (
    CROSS_MODEL_METRICS,
    PER_MODEL_METRICS,
    ScoringConfig,
    score_network,
)
from vae_core.config import ConfigError, typed
from vae_core.data import DatasetSplits
from vae_core.data.factor_sets import FACTOR_SETS, factor_dataset, has_factors
from vae_core.experiment import ExperimentConfig
from vae_core.models import build_model
from vae_core.tracking import sweep_runs
from vae_core.tracking.checkpoints import load_model, run_checkpoints
from vae_core.tracking.records import log_at_step
from vae_core.training import Callback

PREFIX = "disentanglement."


def is_scored(metric: str) -> bool:
    """True for a metric computed once after training rather than logged every epoch."""
    return isinstance(metric, str) and metric.startswith(PREFIX)


def check_scored_metric(key: str, name: str) -> str:
    """A per-model disentanglement metric; UDR (a score across models) and unknown names refused."""
    if name in PER_MODEL_METRICS:
        return name
    if name in CROSS_MODEL_METRICS:
        raise ConfigError(f"{key}: {name!r} compares the models of an ensemble with each other, so "
                          f"a single trial has no value of it; optimise a per-model metric "
                          f"({', '.join(PER_MODEL_METRICS)}) and run `analyze --kind disentanglement` "
                          "over the trials' runs for UDR")
    raise ConfigError(f"{key}: the disentanglement analysis logs no {name!r}; allowed values: "
                      f"{', '.join(PER_MODEL_METRICS)}")


def parse_scoring(section: Any, needed: bool) -> ScoringConfig | None:
    """The study file's `disentanglement:` settings (the analysis's defaults for missing keys);
    None when no objective needs them and the file gives none."""
    if section is None and not needed:
        return None
    if section is not None and not isinstance(section, dict):
        raise ConfigError(f"disentanglement: expected a mapping of {', '.join(ScoringConfig.model_fields)}, "
                          f"got {section!r}")
    try:
        return typed(ScoringConfig, section or {}, "disentanglement")
    except ConfigError as error:  # a bad value's key, as the study file spells it
        text = str(error)
        raise ConfigError(text if text.startswith("disentanglement") else f"disentanglement.{text}") from None


def check_scorable(config: ExperimentConfig, dataset_key: str, checkpoint_key: str) -> None:
    """A trial can be scored: its data set has ground-truth factors and its trained network
    (the last epoch) is checkpointed, which is what the scoring loads."""
    if not has_factors(config.data.dataset):
        raise ConfigError(f"{dataset_key}: {config.data.dataset!r} has no ground-truth factors, which "
                          f"disentanglement objectives are scored on; use one of {', '.join(FACTOR_SETS)}")
    if config.trainer.epochs not in config.trainer.checkpoint_epochs():
        raise ConfigError(f"{checkpoint_key}: {config.trainer.save_interval!r} does not checkpoint the "
                          f"last epoch ({config.trainer.epochs}), the network a disentanglement objective "
                          "scores; include it (or use the default {last: true})")


def check_encodes(config: ExperimentConfig, data: DatasetSplits) -> None:
    """The trial's network gives mean codes of images the way the scoring asks for them."""
    model = build_model(config.model_for(config.latent_sizes[0]), data.sample_shape)
    try:
        encode_means(model, data.train[:2].numpy(), 2)
    except (RuntimeError, ValueError, TypeError) as error:
        reason = str(error).splitlines()[0]
        raise ConfigError(f"model: {config.model.family!r} networks cannot be scored: their encode() "
                          f"does not give (mean, log-variance) codes of images ({reason}); use a family "
                          "with an encoder mean, e.g. vae") from None


def score_trial(settings: ScoringConfig, config: ExperimentConfig, run_id: str) -> dict[str, float]:
    """Score the run's last checkpoint on fresh images of its factor data set and log the
    scores to the run at that checkpoint's epoch; returns them."""
    checkpoints = run_checkpoints(run_id)
    epoch = max(checkpoints)
    dataset = factor_dataset(config.data.dataset, config.data.dataset_options)
    scores = score_network(settings, load_model(checkpoints[epoch]), dataset)
    log_at_step(run_id, scores, epoch)
    return scores


class ScoreAfterTraining(Callback):
    """Scores a finished trial while its run is still open: a worker killed mid-scoring leaves an
    unfinished run, which the retried trial resumes at its last epoch and scores, untrained anew."""

    def __init__(self, settings: ScoringConfig, config: ExperimentConfig) -> None:
        self.settings = settings
        self.config = config
        self.run_id: str | None = None

    def on_train_start(self, trainer) -> None:
        self.run_id = sweep_runs.active_run_id()

    def on_train_end(self, trainer, status: str) -> None:
        if status == "finished" and self.run_id is not None:  # the last checkpoint is logged by now
            score_trial(self.settings, self.config, self.run_id)
