"""S3's train stage: k-fold cross-validation of every configuration, one MLflow run per
configuration (a child of the stage's run) with one child run per fold.

Folds are cut from the data set's train + val pool by (pool size, folds, fold_seed) alone, so the
AE and the VAE of one configuration see the same rows. A fold run is keyed by its declaration and
its fold's data: a killed study started again resumes the stage, the configuration's run and the
unfinished fold (train_one), and skips every fold whose run is FINISHED. When all folds are done
the configuration's run gets mean and std across folds of the final metrics and the best fold
(lowest final val/loss) is tagged. Folds run one after another here; they are independent
(only the data, the declaration and the fold index), so the sweep's worker pool could run them
in parallel as trials of one study.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from vae_core.analysis.reconstruction import best_fold, fold_summary
from vae_core.data import DatasetSplits
from vae_core.data.folds import fold_splits, validate_folds
from vae_core.experiment import ExperimentConfig, check_models_fit, load_data, train_one
from vae_core.experiment.train import run_tags
from vae_core.studies.ae_vs_vae.configurations import TrainConfig, configurations
from vae_core.studies.ae_vs_vae.fold_metrics import FIXED, ReconstructionMetrics
from vae_core.studies.base import StageContext
from vae_core.tracking import runs
from vae_core.tracking.history import final_metrics
from vae_core.tracking.records import log_at_step, log_table

CONFIGURATION_TAG = "s3.configuration"
FOLD_TAG = "s3.fold"
BEST_FOLD_TAG = "s3.best_fold"
FOLD_METRICS = ("val/loss", "val/recon", "val/kl", *(f"val/{m}" for m in FIXED),
                "test/loss", "test/recon", "test/kl", *(f"test/{m}" for m in FIXED))


def load_and_check(config: TrainConfig) -> tuple[dict[str, ExperimentConfig], dict[str, DatasetSplits]]:
    """Every configuration typed, its data loaded, its folds and networks checked: before any run."""
    declared = configurations(config)
    data: dict[str, DatasetSplits] = {}
    for c in declared.values():
        if c.data.dataset not in data:
            data[c.data.dataset] = load_data(c.data, c.trainer.seed)
            splits = data[c.data.dataset]
            validate_folds(config.folds, len(splits.train) + len(splits.val))
        check_models_fit(c, data[c.data.dataset])
    return declared, data


def fold_table(fold_runs: dict[int, str]) -> pd.DataFrame:
    """One row per fold: its final metrics as read back from MLflow (`val/loss` -> val_loss)."""
    rows = []
    for fold, run_id in sorted(fold_runs.items()):
        values = final_metrics(run_id, FOLD_METRICS, digits=12)
        rows.append({"fold": fold, **{k.replace("/", "_"): v for k, v in values.items() if v is not None}})
    return pd.DataFrame(rows)


def finished_folds(experiment_id: str, configuration_run: str) -> dict[int, str]:
    found = runs.find_runs(experiment_id, {"mlflow.parentRunId": configuration_run}, finished_only=True,
                           max_results=1000)
    return {int(r.data.tags[FOLD_TAG]): r.info.run_id for r in found if FOLD_TAG in r.data.tags}


def cross_validate(name: str, config: ExperimentConfig, data: DatasetSplits, folds: int, fold_seed: int,
                   parent: str, experiment_id: str) -> str:
    """Train every fold of one configuration in its own run; returns the configuration's run id."""
    key = runs.run_key({**config.flat(), "fingerprint": data.fingerprint(), "folds": folds,
                        "fold_seed": fold_seed, "configuration": name})
    tags = {**run_tags(config, data, "configuration"), CONFIGURATION_TAG: name}
    run_id, resumed = runs.open_run(experiment_id, key, tags, name, parent)
    ok = False
    try:
        if not resumed:
            runs.log_config(run_id, config)
            runs.log_params({"folds": folds, "fold_seed": fold_seed})
        done = finished_folds(experiment_id, run_id)
        for fold in range(folds):
            if fold in done:
                continue
            fold_run, status = train_one(
                config, fold_splits(data, fold, folds, fold_seed), config.latent_sizes[0], run_id,
                experiment_id, extra_tags={FOLD_TAG: str(fold), CONFIGURATION_TAG: name},
                key_extra={"fold": fold, "configuration": name}, run_name=f"{name}-fold{fold}",
                metric_callbacks=(ReconstructionMetrics(),))
            if status != "finished":
                raise RuntimeError(f"fold {fold} of {name} ended {status!r}; run the stage again to resume")
            done[fold] = fold_run
        summarise(run_id, done)
        ok = True
    finally:
        runs.end_run(ok)
    return run_id


def summarise(configuration_run: str, fold_runs: dict[int, str]) -> None:
    """Mean and std across folds on the configuration's run; the best fold tagged on both."""
    table = fold_table(fold_runs)
    log_at_step(configuration_run, fold_summary(table), 0)
    log_table(configuration_run, table, "tables/folds.json")
    best = best_fold(table, "val_loss")
    runs.set_tag(configuration_run, BEST_FOLD_TAG, str(best))
    runs.set_tag(fold_runs[best], BEST_FOLD_TAG, "true")


def train(config: TrainConfig, context: StageContext) -> dict[str, Any]:
    declared, data = load_and_check(config)
    trained = {}
    with runs.stage_run(context.study, context.stage, "train", config) as parent:
        experiment_id = runs.experiment_id_of(parent)
        for name, c in declared.items():
            trained[name] = cross_validate(name, c, data[c.data.dataset], config.folds, config.fold_seed,
                                           parent, experiment_id)
    summary = {name: final_metrics(run_id, ["folds.test_recon.mean", "folds.test_recon.std",
                                            "folds.val_loss.mean"]) for name, run_id in trained.items()}
    context.out_dir.mkdir(parents=True, exist_ok=True)
    (context.out_dir / "train_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    return trained


def trained_configurations(context: StageContext) -> dict[str, tuple[str, ExperimentConfig]]:
    """name -> (configuration run id, declaration) of the newest finished train stage."""
    config = context.section("train", TrainConfig)
    parent = runs.latest_stage_run(context.study, "train", runs.run_key(config.model_dump(mode="json")))
    declared = configurations(config)
    found = {r.data.tags.get(CONFIGURATION_TAG): r.info.run_id for r in runs.child_runs(parent.info.run_id)}
    return {name: (found[name], declared[name]) for name in declared if name in found}
