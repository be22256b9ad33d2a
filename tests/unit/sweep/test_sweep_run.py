"""A tiny study end to end in-process: child runs, champion, queries, report, restart."""

from __future__ import annotations

import math
import os

import mlflow
import optuna
import pytest
import torch
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.sweep_helpers import write_study
from vae_core.config import ConfigError
from vae_core.sweep.report import write_report
from vae_core.sweep.runner import open_study, run_sweep, storage_url
from vae_core.sweep.spec import load_study_spec
from vae_core.tracking.checkpoints import load_model, run_checkpoints
from vae_core.tracking.history import metric_history
from vae_core.tracking.queries import registered_versions, study_runs


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory, tracking_uri):
    """One 2x2 grid study for the module (its folder is the working directory meanwhile)."""
    folder = tmp_path_factory.mktemp("tiny")
    before = os.getcwd()
    os.chdir(folder)
    try:
        path = write_study(folder, "tiny")
        spec = load_study_spec(str(path), folder)
        yield spec, path, run_sweep(spec, path, n_workers=1)
    finally:
        os.chdir(before)


def test_every_trial_is_a_child_run_and_the_best_is_champion(tiny_sweep):
    spec, _, result = tiny_sweep
    assert result.finished and result.trials == {"COMPLETE": 4}
    runs = study_runs("tiny")
    assert sorted(runs.trial) == [0, 1, 2, 3]
    assert set(runs.parent_run_id) == {result.parent_run_id}
    assert set(runs.trial_state) == {"COMPLETE"}
    grid = {(float(b), int(z)) for b, z in zip(runs["param.beta"], runs["param.latent_size"])}
    assert grid == {(1.0, 2), (1.0, 3), (2.0, 2), (2.0, 3)}
    # Optuna's values are the runs' final val/neg_elbo; the champion is their minimum.
    study = optuna.load_study(study_name="tiny", storage=storage_url(spec))
    by_run = dict(zip(runs.run_id, runs["val/neg_elbo"]))
    for trial in study.trials:
        assert math.isclose(trial.value, by_run[trial.user_attrs["mlflow_run_id"]])
    best_run = runs.loc[runs["val/neg_elbo"].idxmin(), "run_id"]
    parent = MlflowClient().get_run(result.parent_run_id).data
    assert parent.metrics["best/val/neg_elbo"] == pytest.approx(runs["val/neg_elbo"].min())
    for trial in study.trials:
        value = parent.metrics[f"trial{trial.number}/val/neg_elbo"]
        assert value == pytest.approx(by_run[trial.user_attrs["mlflow_run_id"]])
    assert "Optuna study `tiny`" in parent.tags["mlflow.note.content"]
    versions = registered_versions("tiny")
    champion = versions[versions.aliases.apply(lambda a: "champion" in a)]
    assert list(champion.run_id) == [best_run]
    # The three ways to name that model give the same weights.
    model_id = run_checkpoints(best_run)[1]
    loaded = [load_model(ref) for ref in ("models:/tiny@champion", best_run, model_id)]
    for a, b in zip(loaded[0].state_dict().values(), loaded[2].state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(loaded[0].state_dict().values(), loaded[1].state_dict().values()):
        assert torch.equal(a, b)
    history = metric_history([best_run], ["val/neg_elbo"])
    assert list(history.step) == [0, 1]
    assert math.isclose(history.value.iloc[-1], by_run[best_run])


def test_report_logs_figures_and_csv_to_the_parent_run(tiny_sweep, workdir):
    spec, path, result = tiny_sweep
    os.chdir(path.parent)
    written = write_report(spec, storage_url(spec), workdir / "report")
    assert {"trials.csv", "history.png", "slices.png", "importances.png"} <= set(written)
    logged = {f.path for f in MlflowClient().list_artifacts(result.parent_run_id, "report")}
    assert {"report/trials.csv", "report/history.png", "report/importances.png"} <= logged
    assert len((workdir / "report" / "trials.csv").read_text().strip().splitlines()) == 1 + 4


def test_running_again_adds_nothing_and_a_changed_study_is_refused(tiny_sweep, workdir):
    spec, path, result = tiny_sweep
    os.chdir(path.parent)
    parent_before = MlflowClient().get_run(result.parent_run_id).info
    versions_before = len(registered_versions("tiny"))
    again = run_sweep(spec, path, n_workers=1)
    assert again.trials == {"COMPLETE": 4} and again.parent_run_id == result.parent_run_id
    # `dvc repro` twice: no new model version, the parent's duration is not stretched
    assert len(registered_versions("tiny")) == versions_before
    parent_after = MlflowClient().get_run(result.parent_run_id).info
    assert (parent_after.start_time, parent_after.end_time) == (parent_before.start_time,
                                                                parent_before.end_time)
    changed = load_study_spec(str(write_study(workdir, "tiny", space={"beta": {"grid": [3.0]}})), workdir)
    experiments = len(mlflow.search_experiments())
    with pytest.raises(ConfigError, match="already exists .* different search space"):
        run_sweep(changed, path, n_workers=1)
    study = optuna.load_study(study_name="tiny", storage=storage_url(spec))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert len(mlflow.search_experiments()) == experiments


def test_a_trial_left_running_by_a_dead_worker_is_failed_and_retried(workdir):
    path = write_study(workdir, "stale", space={"beta": {"grid": [1.0, 2.0]}})
    spec = load_study_spec(str(path), workdir)
    study = open_study(spec, storage_url(spec))
    dead = study.ask()  # a worker took grid point 0, beat once, and died
    dead.suggest_categorical("beta", [1.0, 2.0])
    study._storage.record_heartbeat(dead._trial_id)
    result = run_sweep(spec, path, n_workers=1)
    study = optuna.load_study(study_name="stale", storage=storage_url(spec))
    states = {t.number: t.state for t in study.trials}
    assert states[0] == TrialState.FAIL
    assert result.trials == {"FAIL": 1, "COMPLETE": 2}
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert sorted(t.params["beta"] for t in done) == [1.0, 2.0]
    retry = [t for t in done if t.system_attrs.get("failed_trial") == 0]
    assert len(retry) == 1 and retry[0].params == dead.params
    runs = study_runs("stale")
    assert len(runs) == 2 and set(runs.trial_state) == {"COMPLETE"}


def test_a_pruned_random_search_reports_each_epoch_of_its_runs(workdir):
    path = write_study(workdir, "pruned", space={"beta": {"float": [0.1, 8.0], "log": True}},
                       sampler={"name": "random", "seed": 1},
                       pruner={"name": "median", "metric": "val/neg_elbo"},
                       budget={"n_trials": 5}, base={"dataset": "digits", "epochs": 3, "batch_size": 256,
                                                     "lr": 3.0e-3, "save_interval": [3]})
    spec = load_study_spec(str(path), workdir)
    result = run_sweep(spec, path, n_workers=1)
    assert sum(result.trials.values()) == 5
    assert set(result.trials) <= {"COMPLETE", "PRUNED"}
    study = optuna.load_study(study_name="pruned", storage=storage_url(spec))
    runs = study_runs("pruned").set_index("trial")
    for trial in study.trials:  # what Optuna saw each epoch is what MLflow recorded
        history = metric_history([trial.user_attrs["mlflow_run_id"]], ["val/neg_elbo"])
        assert dict(zip(history.step, history.value)) == pytest.approx(trial.intermediate_values)
        assert runs.loc[trial.number, "trial_state"] == trial.state.name


def test_two_objectives_register_the_pareto_set_and_draw_its_front(workdir):
    path = write_study(workdir, "pareto", space={"beta": {"float": [0.1, 8.0], "log": True}},
                       objectives=[{"metric": "val/recon"}, {"metric": "val/kl"}],
                       sampler={"name": "nsga2", "seed": 0}, budget={"n_trials": 4})
    spec = load_study_spec(str(path), workdir)
    result = run_sweep(spec, path, n_workers=1)
    study = optuna.load_study(study_name="pareto", storage=storage_url(spec))
    front = {t.number: t for t in study.best_trials}
    assert {a for a in result.registered if a.startswith("pareto-")} == {f"pareto-{n}" for n in front}
    best_recon = min(front.values(), key=lambda t: t.values[0])
    assert result.registered["champion"] == result.registered[f"pareto-{best_recon.number}"]
    versions = registered_versions("pareto")
    assert len(versions) == len(front)
    written = write_report(spec, storage_url(spec), workdir / "report")
    assert "pareto_front.png" in written and "importances.png" in written
