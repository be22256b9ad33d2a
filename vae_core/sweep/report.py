"""A study's report, logged to its parent run: history, importances, slices, Pareto front, CSV."""

from __future__ import annotations

import tempfile
from pathlib import Path

import optuna
import pandas as pd
from matplotlib.figure import Figure

from vae_core.config import ConfigError
from vae_core.plots.sweep import history_figure, importance_figure, pareto_figure, slice_figure
from vae_core.sweep.runner import PARENT_ATTR
from vae_core.sweep.spec import StudySpec
from vae_core.sweep.storage import find_study, open_storage, redact
from vae_core.tracking import sweep_runs
from vae_core.tracking.records import log_figure


def load_existing_study(spec: StudySpec, url: str) -> optuna.Study:
    study = find_study(open_storage(url, spec.heartbeat_s), spec.study)
    if study is None:
        raise ConfigError(f"study: no study {spec.study!r} in {redact(url)}; run the sweep first")
    return study


def importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importances of the first objective; {} when too few distinct completed trials."""
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return optuna.importance.get_param_importances(study, evaluator=evaluator,
                                                       target=lambda t: t.values[0])
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def report_figures(study: optuna.Study, spec: StudySpec, trials: pd.DataFrame) -> dict[str, Figure]:
    first = spec.objectives[0]
    figures = {"history.png": history_figure(trials, first.metric, first.direction == "minimize"),
               "slices.png": slice_figure(trials, first.metric)}
    weights = importances(study)
    if weights:
        figures["importances.png"] = importance_figure(weights)
    if len(spec.objectives) == 2:
        figures["pareto_front.png"] = pareto_figure(
            trials, (spec.objectives[0].metric, spec.objectives[1].metric),
            tuple(o.direction == "minimize" for o in spec.objectives))
    return figures


def write_report(spec: StudySpec, url: str, out_dir: Path | None = None) -> dict[str, str]:
    """Log the report under report/ of the study's parent run (and copy it to out_dir)."""
    study = load_existing_study(spec, url)
    values = "value" if len(spec.objectives) == 1 else "values"  # asking both repeats columns
    trials = study.trials_dataframe(attrs=("number", values, "params", "state", "duration", "user_attrs"))
    if trials.empty or not (trials["state"] == "COMPLETE").any():
        raise ConfigError(f"study: {spec.study!r} has no completed trial to report on yet")
    parent = study.user_attrs[PARENT_ATTR]
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="sweep-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    trials.to_csv(folder / "trials.csv", index=False)
    sweep_runs.log_file(parent, str(folder / "trials.csv"), "report")
    written = {"trials.csv": str(folder / "trials.csv")}
    for name, figure in report_figures(study, spec, trials).items():
        figure.savefig(folder / name, dpi=110)
        log_figure(parent, figure, f"report/{name}")
        written[name] = str(folder / name)
    return written
