"""Stage `classifier`: train the study data set's image classifier and register it in MLflow.

Evaluation measures reconstructions and samples with it (accuracy, Inception-score analogue,
Fréchet distance on its features), loading it from the registry as models:/<study>-classifier@<alias>.
Running the stage again with the same settings and data registers nothing new.
"""

from __future__ import annotations

import json
from typing import Any

import torch
from pydantic import PositiveFloat, PositiveInt

from vae_core.config import ConfigError, StrictModel
from vae_core.experiment import load_data
from vae_core.models.classifier import train_classifier
from vae_core.studies.base import StageContext
from vae_core.studies.hit.grid import classifier_name, grid_spec
from vae_core.tracking import runs
from vae_core.tracking.classifiers import load_classifier, register_classifier, registered_key
from vae_core.tracking.records import log_at_step

KEY_TAG = "hit.classifier_key"


class ClassifierStageConfig(StrictModel):
    sweep_file: str = "projects/hit/sweep.yaml"  # the grid's study file: its base names the data set
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    seed: int = 0
    alias: str = "current"


def _accuracy(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    _, probabilities = model.embed_and_classify(x)
    return float((probabilities.argmax(1) == labels).double().mean())


def classifier(config: ClassifierStageConfig, context: StageContext) -> dict[str, Any]:
    spec = grid_spec(config.sweep_file)
    base = spec.trial_config({})
    data = load_data(base.data, base.trainer.seed)
    if data.train_labels is None:
        raise ConfigError(f"dataset: {base.data.dataset!r} has no labels; the classifier needs them")
    name = classifier_name(spec)
    reference = f"models:/{name}@{config.alias}"
    key = runs.run_key({**config.model_dump(), "fingerprint": data.fingerprint()})
    if registered_key(name, config.alias, KEY_TAG) == key:  # a finished stage run again (dvc repro)
        model, run_id = load_classifier(reference), "(registered before)"
    else:
        model = train_classifier(data.train, data.train_labels, epochs=config.epochs, seed=config.seed,
                                 batch_size=config.batch_size, lr=config.lr)
        tags = {"dataset": base.data.dataset, "dataset_fingerprint": data.fingerprint()}
        with runs.stage_run(spec.study, context.stage, f"{spec.study}-classifier", config, tags) as run_id:
            log_at_step(run_id, {"val/accuracy": _accuracy(model, data.val, data.val_labels)}, config.epochs)
            register_classifier(model, run_id, name, config.alias, {**tags, KEY_TAG: key})
    summary = {"classifier": reference, "run_id": run_id, "dataset": base.data.dataset,
               "test_accuracy": _accuracy(model, data.test, data.test_labels)}
    context.out_dir.mkdir(parents=True, exist_ok=True)
    (context.out_dir / "classifier.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
