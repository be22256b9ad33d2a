"""The MLflow side of S4: each stage validates its section, computes, logs to MLflow, writes files.

Every stage is a function of (params section, output folder) so the CLI and DVC stay thin.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from vae_core.config import ConfigError, reject_unknown_keys, require_int, require_int_list
from vae_core.data import load_dataset
from vae_core.entropy_study.config import EntropyRunConfig, run_configs
from vae_core.entropy_study.streaming import StreamConfig, run_stream, select_latent_sizes
from vae_core.entropy_study.training import load_run_data, train_entropy_run
from vae_core.entropy_study.variance import REPEATS, SAMPLE_SIZES, estimator_spread
from vae_core.entropy_study.verification import VerificationConfig, verify_linear_vae
from vae_core.plots.entropies import (
    collapse_figure,
    elbo_entropy_figure,
    streaming_figure,
    variance_figure,
    verification_figure,
)
from vae_core.tracking.models import load_model
from vae_core.tracking.store import configure_tracking, git_commit, take_outer_run_id

STUDY = "elbo_entropies"
RUNS_FILE = "train.json"


def _experiment_and_outer_run() -> tuple[str, str | None]:
    """The study's experiment, or under `mlflow run` the experiment of the run it opened."""
    configure_tracking()
    outer = take_outer_run_id()
    if outer:
        return mlflow.get_run(outer).info.experiment_id, outer
    return mlflow.set_experiment(STUDY).experiment_id, None


def _start_stage_run(name: str, kind: str) -> mlflow.ActiveRun:
    """A run for a stage that is not training: the outer `mlflow run` run if any, else a new one."""
    experiment_id, outer = _experiment_and_outer_run()
    tags = {"study": STUDY, "vae.kind": kind, "git_commit": git_commit()}
    if outer:
        run = mlflow.start_run(run_id=outer)
        mlflow.set_tags(tags)
        return run
    return mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags)


def _write_json(path: Path, values: dict[str, Any]) -> None:
    path.write_text(json.dumps(values, indent=2) + "\n")


def _typed(cls: type, section: dict[str, Any], name: str) -> Any:
    """A frozen config dataclass from a params section (lists become tuples), keys checked."""
    reject_unknown_keys(name, section, [f.name for f in fields(cls)])
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in section.items()}
    return cls(**values)


# -- train -------------------------------------------------------------------------------------
def train_stage(section: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Validate every run first, then train each in its own MLflow run; writes train.json."""
    configs = run_configs(section)
    data = {config.name: load_run_data(config) for config in configs}
    experiment_id, outer = _experiment_and_outer_run()
    runs = {}
    for config in configs:
        runs[config.name], _ = train_entropy_run(config, data[config.name], experiment_id, outer)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / RUNS_FILE, {"experiment_id": experiment_id, "runs": runs,
                                      "configs": {c.name: c.to_dict() for c in configs}})
    return runs


def _trained(out_dir: Path) -> dict[str, Any]:
    path = out_dir / RUNS_FILE
    if not path.is_file():
        raise ConfigError(f"runs: {path} not found; run the train stage first")
    return json.loads(path.read_text())


# -- variance table ----------------------------------------------------------------------------
def variance_stage(section: dict[str, Any], out_dir: Path) -> pd.DataFrame:
    """The sampled ELBO against the entropy sum at 10..10000 samples for one trained run."""
    reject_unknown_keys("variance_table", section, ["run", "sample_sizes", "repeats", "seed"])
    trained = _trained(out_dir)
    name = section.get("run")
    if name not in trained["runs"]:
        raise ConfigError(f"run: unknown run {name!r}; allowed values: {', '.join(trained['runs'])}")
    sizes = require_int_list("sample_sizes", section.get("sample_sizes", list(SAMPLE_SIZES)), minimum=1)
    repeats = require_int("repeats", section.get("repeats", REPEATS), minimum=2)
    config = EntropyRunConfig.from_dict(trained["configs"][name])
    configure_tracking()
    run_id = trained["runs"][name]
    model = load_model(run_id)
    table = estimator_spread(model, load_run_data(config).train, sizes, repeats,
                             seed=section.get("seed", 0))
    table.to_csv(out_dir / "variance_table.csv", index=False)
    figure = variance_figure(table, title=f"{name}: estimator spread")
    figure.savefig(out_dir / "variance_table.png", dpi=110)
    client = MlflowClient()
    client.log_table(run_id, data=table, artifact_file="tables/variance_table.json")
    client.log_figure(run_id, figure, "figures/variance_table.png")
    return table


# -- streaming ---------------------------------------------------------------------------------
def streaming_stage(section: dict[str, Any], out_dir: Path) -> pd.DataFrame:
    config = _typed(StreamConfig, section, "streaming")
    if config.eval_batches > config.batches_per_segment:
        raise ConfigError(f"eval_batches: must be <= batches_per_segment={config.batches_per_segment}")
    out_dir.mkdir(parents=True, exist_ok=True)
    stream = run_stream(config)
    selection = select_latent_sizes(stream, config.eval_batches)
    figure = streaming_figure(stream, config.batches_per_segment)
    with _start_stage_run("streaming", "entropies_streaming"):
        mlflow.log_params({k: str(v) for k, v in asdict(config).items()})
        for row in selection.itertuples():
            mlflow.log_metrics({"chosen_by_elbo": row.chosen_by_elbo,
                                "chosen_by_entropy_sum": row.chosen_by_entropy_sum,
                                "std_elbo": row.std_elbo, "std_entropy_sum": row.std_entropy_sum},
                               step=int(row.segment))
        mlflow.log_table(selection, "tables/streaming_selection.json")
        mlflow.log_figure(figure, "figures/streaming_bic.png")
    stream.to_csv(out_dir / "streaming.csv", index=False)
    selection.to_csv(out_dir / "streaming_selection.csv", index=False)
    figure.savefig(out_dir / "streaming_bic.png", dpi=110)
    return selection


# -- verification ------------------------------------------------------------------------------
def verification_stage(section: dict[str, Any], out_dir: Path) -> pd.DataFrame:
    section = dict(section)
    options = section.pop("dataset_options", {})
    config = _typed(VerificationConfig, section, "verification")
    data = load_dataset("pca", seed=config.seed, **options)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, table = verify_linear_vae(data, config)
    figure = verification_figure(table)
    with _start_stage_run("verification", "entropies_verification"):
        mlflow.log_params({**{k: str(v) for k, v in asdict(config).items()},
                           **{f"dataset_options.{k}": str(v) for k, v in options.items()}})
        for row in table.itertuples():
            mlflow.log_metrics({"elbo": row.elbo, "entropy_sum": row.entropy_sum,
                                "log_likelihood": row.log_likelihood,
                                "true_log_likelihood": row.true_log_likelihood}, step=int(row.step))
        mlflow.log_figure(figure, "figures/verification.png")
    table.to_csv(out_dir / "verification.csv", index=False)
    figure.savefig(out_dir / "verification.png", dpi=110)
    return table


# -- report ------------------------------------------------------------------------------------
def _history(client: MlflowClient, run_id: str, name: str) -> pd.Series:
    points = sorted(client.get_metric_history(run_id, name), key=lambda m: m.step)
    return pd.Series([m.value for m in points], index=[m.step for m in points], name=name, dtype=float)


def report_stage(out_dir: Path) -> dict[str, Any]:
    """Per trained run: the ELBO/entropy-sum figure and the posterior-collapse figure; metrics.json
    with final values, the variance ratio and the streaming and verification outcomes."""
    trained = _trained(out_dir)
    configure_tracking()
    client = MlflowClient()
    metrics: dict[str, Any] = {}
    for name, run_id in trained["runs"].items():
        run = client.get_run(run_id)
        per_epoch = int(run.data.params["steps_per_epoch"])
        steps = pd.DataFrame({"elbo": _history(client, run_id, "step/elbo"),
                              "entropy_sum": _history(client, run_id, "step/entropy_sum")})
        steps = steps.rename_axis("step").reset_index()
        val = _history(client, run_id, "val/elbo")
        heldout = pd.DataFrame({"step": val.index * per_epoch, "elbo": val.values})
        figure = elbo_entropy_figure(steps, heldout, title=f"{name} ({run.data.params['vae_type']})")
        figure.savefig(out_dir / f"elbo_entropies_{name}.png", dpi=110)
        client.log_figure(run_id, figure, "figures/elbo_entropies.png")
        latent_size = int(run.data.params["latent_size"])
        per_latent = pd.DataFrame({f"z{h}": _history(client, run_id, f"step/h_enc_latent_{h}")
                                   for h in range(latent_size)})
        active = _history(client, run_id, "step/active_latents")
        figure = collapse_figure(per_latent, active, title=f"{name}: encoder entropy per latent")
        figure.savefig(out_dir / f"collapse_{name}.png", dpi=110)
        client.log_figure(run_id, figure, "figures/posterior_collapse.png")
        final = run.data.metrics
        metrics[name] = {"val_elbo": round(final["val/elbo"], 5),
                         "val_entropy_sum": round(final["val/entropy_sum"], 5),
                         "relative_gap": round((final["val/elbo"] - final["val/entropy_sum"])
                                               / abs(final["val/elbo"]), 5),
                         "active_latents": int(active.iloc[-1]) if len(active) else None}
    variance = out_dir / "variance_table.csv"
    if variance.is_file():
        table = pd.read_csv(variance).pivot(index="n_samples", columns="estimator", values="std")
        metrics["variance_ratio"] = {str(n): round(float(r), 2)
                                     for n, r in (table.elbo / table.entropy_sum).items()}
    selection = out_dir / "streaming_selection.csv"
    if selection.is_file():
        chosen = pd.read_csv(selection)
        metrics["streaming"] = {
            "true_dims": chosen.true_dim.tolist(), "chosen_by_elbo": chosen.chosen_by_elbo.tolist(),
            "chosen_by_entropy_sum": chosen.chosen_by_entropy_sum.tolist()}
    verification = out_dir / "verification.csv"
    if verification.is_file():
        last = pd.read_csv(verification).iloc[-1]
        metrics["verification"] = {k: round(float(last[k]), 5) for k in
                                   ("elbo", "entropy_sum", "log_likelihood", "true_log_likelihood")}
    _write_json(out_dir / "metrics.json", metrics)
    return metrics
