"""A study file may optimise a disentanglement metric: its settings are typed with the analysis's
defaults, and what cannot be scored (UDR, a data set without factors, an unknown name, a pruner,
an unsaved last epoch) is refused in one line before any storage or run exists."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from tests.conftest import run_cli
from tests.sweep_helpers import study_document, write_study
from vae_core.analysis.disentanglement.scoring import PER_MODEL_METRICS, ScoringConfig
from vae_core.config import ConfigError
from vae_core.sweep.runner import SPACE_ATTR, open_study, run_sweep
from vae_core.sweep.spec import load_study_spec, parse_study

SHAPES = {"dataset": "shapes3d", "epochs": 1, "batch_size": 64, "arch": "mlp", "save_interval": [1],
          "dataset_options": {"n": 200, "image_size": 16, "floor_hues": 2, "wall_hues": 2,
                              "object_hues": 2, "scales": 2, "shapes": 2, "orientations": 2}}
MIG = [{"metric": "disentanglement.mig", "direction": "maximize"}]


def scored_study(**overrides) -> dict:
    return study_document("d", **{"base": dict(SHAPES), "space": {"beta": {"grid": [1.0, 4.0]}},
                                  "objectives": MIG, **overrides})


def refusal(document: dict) -> str:
    with pytest.raises(ConfigError) as error:
        parse_study(document, "d")
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_disentanglement_objective_takes_the_analysis_defaults_or_the_files_settings() -> None:
    assert parse_study(scored_study(), "d").disentanglement == ScoringConfig()
    spec = parse_study(scored_study(disentanglement={"num_train": 50, "seed": 3}), "d")
    assert spec.disentanglement == ScoringConfig(num_train=50, seed=3)
    assert spec.directions == ["maximize"] and spec.pruner == "none"
    two = parse_study(scored_study(objectives=[{"metric": "val/neg_elbo"}, *MIG],
                                   sampler={"name": "nsga2"}, budget={"n_trials": 4}), "d")
    assert [o.metric for o in two.objectives] == ["val/neg_elbo", "disentanglement.mig"]
    # no scored objective and no section: trials are not scored
    assert parse_study(study_document("d"), "d").disentanglement is None
    # a section without a scored objective: every trial is scored (logged, not optimised)
    logged = parse_study(study_document("d", base=dict(SHAPES), disentanglement={}), "d")
    assert logged.disentanglement == ScoringConfig()


def test_the_shipped_example_optimises_mig_with_small_counts() -> None:
    spec = load_study_spec("disentanglement", Path(__file__).resolve().parents[3])
    assert spec.study == "disentanglement_sweep" and spec.sampler == "grid" and spec.grid_size == 6
    assert [(o.metric, o.direction) for o in spec.objectives] == [
        ("disentanglement.mig", "maximize"), ("val/neg_elbo", "minimize")]
    assert spec.disentanglement == ScoringConfig(num_train=500, num_test=250, batch_size=16,
                                                 num_variance_estimate=500)
    assert spec.trial_config({}).data.dataset == "shapes3d"


@pytest.mark.parametrize("name", PER_MODEL_METRICS)
def test_every_per_model_metric_is_an_objective(name: str) -> None:
    assert parse_study(scored_study(objectives=[{"metric": name, "direction": "maximize"}]),
                       "d").objectives[0].metric == name


def test_udr_is_refused_because_it_compares_models() -> None:
    message = refusal(scored_study(objectives=[{"metric": "disentanglement.udr"}]))
    assert message.startswith("objectives[0].metric: 'disentanglement.udr' compares the models of an "
                              "ensemble")
    assert "analyze --kind disentanglement" in message


def test_an_unknown_disentanglement_metric_lists_the_valid_ones() -> None:
    message = refusal(scored_study(objectives=[{"metric": "disentanglement.mig_score"}]))
    assert message.startswith("objectives[0].metric: the disentanglement analysis logs no "
                              "'disentanglement.mig_score'; allowed values: ")
    assert message.endswith(", ".join(PER_MODEL_METRICS))


@pytest.mark.parametrize(("where", "overrides", "start"), [
    ("base", {"base": {**SHAPES, "dataset": "digits", "dataset_options": {}}},
     "base.dataset: 'digits' has no ground-truth factors"),
    ("base default", {"base": {"epochs": 1}}, "base.dataset: 'digits' has no ground-truth factors"),
    ("space", {"base": {"epochs": 1}, "space": {"dataset": {"grid": ["shapes3d", "circle"]}}},
     "space.dataset: 'circle' has no ground-truth factors"),
])
def test_a_data_set_without_factors_is_refused_naming_those_with_them(where, overrides, start) -> None:
    message = refusal(scored_study(**overrides))
    assert message.startswith(start), where
    assert message.endswith("use one of shapes3d, dsprites, sprites")


@pytest.mark.parametrize(("overrides", "start"), [
    ({"pruner": {"name": "median", "metric": "val/neg_elbo"}},
     "pruner.name: 'median' prunes on a per-epoch metric, but the objective 'disentanglement.mig'"),
    ({"pruner": {"name": "median", "metric": "disentanglement.sap"}, "objectives": "val/neg_elbo"},
     "pruner.metric: 'disentanglement.sap' is scored once after training"),
    ({"base": {**SHAPES, "save_interval": [0]}}, "base.save_interval: [0] does not checkpoint the last "
     "epoch (1)"),
    ({"space": {"epochs": {"grid": [1, 2]}}}, "space.epochs: [1] does not checkpoint the last epoch (2)"),
    ({"disentanglement": {"num_trian": 5}}, "disentanglement: unknown key 'num_trian'"),
    ({"disentanglement": {"num_train": 1}}, "disentanglement.num_train: got 1"),
    ({"disentanglement": [5]}, "disentanglement: expected a mapping"),
])
def test_what_cannot_be_scored_is_refused_in_one_line(overrides, start) -> None:
    assert refusal(scored_study(**overrides)).startswith(start)


def test_the_command_refuses_before_any_run_or_storage(tmp_path: Path, tracking_uri: str) -> None:
    path = write_study(tmp_path, "nofactors", objectives=MIG)  # digits: no factors
    experiments = {e.name for e in mlflow.search_experiments()}
    done = run_cli("sweep", "--study", str(path), cwd=tmp_path)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "base.dataset: 'digits' has no ground-truth factors" in last, done.stderr
    assert {e.name for e in mlflow.search_experiments()} == experiments
    assert not (tmp_path / ".optuna").exists()


def test_a_family_without_encoder_means_is_refused_before_any_run(workdir: Path) -> None:
    base = {**SHAPES, "model": "linear_vae", "latent_size": 3,
            "dataset_options": {**SHAPES["dataset_options"], "n": 100, "image_size": 8}}
    path = write_study(workdir, "linear_mig", base=base, space={"lr": {"grid": [0.001]}}, objectives=MIG)
    spec = load_study_spec(str(path), workdir)
    with pytest.raises(ConfigError) as error:
        run_sweep(spec, path, n_workers=1)
    assert str(error.value).startswith("model: 'linear_vae' networks cannot be scored")
    assert "\n" not in str(error.value)
    assert "linear_mig" not in {e.name for e in mlflow.search_experiments()}


def test_other_scoring_settings_under_the_same_name_are_another_study(workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'optuna.db'}"
    first = parse_study(scored_study(disentanglement={"num_train": 50}), "d")
    open_study(first, url)
    open_study(parse_study(scored_study(disentanglement={"num_train": 50}), "d"), url)  # the same
    with pytest.raises(ConfigError, match="already exists .* different search space"):
        open_study(parse_study(scored_study(disentanglement={"num_train": 60}), "d"), url)
    # studies that score nothing keep the record they were created with
    plain = open_study(parse_study(study_document("plain"), "plain"), url)
    assert "disentanglement" not in plain.user_attrs[SPACE_ATTR]
    assert "disentanglement" in open_study(first, url).user_attrs[SPACE_ATTR]
