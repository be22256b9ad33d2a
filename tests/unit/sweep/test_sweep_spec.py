"""Study-file validation: bad input stops before any storage, run or trial exists."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from tests.sweep_helpers import study_document
from vae_core.config import ConfigError
from vae_core.plots.sweep import pareto_mask
from vae_core.sweep.search import build_pruner, build_sampler
from vae_core.sweep.spec import parse_study
from vae_core.sweep.storage import open_storage


def parse(**overrides):
    return parse_study(study_document("s", **overrides), "s")


def test_a_valid_study_has_its_grid_and_budget():
    spec = parse()
    assert spec.grid == {"beta": [1.0, 2.0], "latent_size": [2, 3]}
    assert spec.budget() == 4
    config = spec.trial_config({"beta": 2.0, "latent_size": 3})
    assert (config.model.beta, config.latent_sizes, config.trainer.epochs) == (2.0, [3], 1)
    assert isinstance(build_sampler(spec), optuna.samplers.GridSampler)
    assert isinstance(build_pruner(spec), optuna.pruners.NopPruner)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"space": {"betta": {"grid": [1.0]}}}, "space: unknown key(s) betta"),
    ({"space": {}}, "space: the search space is empty"),
    ({"space": {"beta": {"grid": [1.0, "two"]}}}, "space.beta.grid[1]: expected a number"),
    ({"space": {"latent_size": {"grid": [2, 2.5]}}}, "space.latent_size.grid[1]: expected an integer"),
    ({"space": {"likelihood": {"grid": ["bernoulli", "poisson"]}}}, "space.likelihood: value 'poisson'"),
    ({"space": {"beta": {"float": [0.1, 4.0]}}}, "sampler.name: 'grid' needs every dimension"),
    ({"objectives": [{"metric": "val/elbo"}]}, "objectives[0].metric: the trainer never logs 'val/elbo'"),
    ({"objectives": ["val/recon", "val/kl"], "pruner": {"name": "median"}},
     "pruner.name: Optuna cannot prune multi-objective"),
    ({"pruner": {"name": "median", "metric": "val/nll"}}, "pruner.metric: the trainer never logs"),
    ({"sampler": {"name": "cmaes"}}, "sampler.name: unknown value 'cmaes'"),
    ({"sampler": {"name": "tpe"}}, "budget: sampler 'tpe' needs n_trials or timeout_s"),
    ({"space": {"beta": {"grid": [1.0, 1.0]}}}, "space.beta.grid: repeated values"),
    ({"objectives": ["val/loss"]}, "objectives[0].metric: 'val/loss' is weighted by 'beta', which "
     "this study searches, so trials are scored on different objectives; use 'val/neg_elbo', or set "
     "allow_weighted_objective: true"),
    ({"objectives": ["train/loss"], "allow_weighted_objective": "yes"},
     "allow_weighted_objective: expected true or false, got 'yes'"),
    ({"pruner": {"name": "median", "metric": "val/loss"}}, "pruner.metric: 'val/loss' is weighted by 'beta'"),
    ({"space": {"lr": {"float": [1.0e-2, 1.0e-4]}}, "sampler": {"name": "random"},
      "budget": {"n_trials": 2}}, "space.lr.float: low 0.01 must be below high"),
])
def test_bad_input_names_the_key(overrides, message):
    with pytest.raises(ConfigError) as error:
        parse(**overrides)
    assert message in str(error.value)


def test_a_weighted_objective_is_allowed_when_the_study_says_so_or_beta_is_fixed():
    assert parse(objectives=["val/loss"], allow_weighted_objective=True).objectives[0].metric == "val/loss"
    fixed_beta = parse(objectives=["val/loss"], space={"latent_size": {"grid": [2, 3]}})
    assert fixed_beta.objectives[0].metric == "val/loss"


def test_the_shipped_beta_sweep_selects_on_the_beta_free_objective():
    from pathlib import Path

    from vae_core.sweep.spec import load_study_spec

    spec = load_study_spec("beta_sweep", Path(__file__).resolve().parents[3])
    assert [o.metric for o in spec.objectives] == ["val/neg_elbo"]


def test_ranges_and_multi_objective_build_their_samplers():
    spec = parse(space={"beta": {"float": [0.1, 4.0], "log": True}, "seed": {"int": [0, 3]}},
                 objectives=["val/recon", "val/kl"], sampler={"name": "nsga2"}, budget={"n_trials": 4})
    assert spec.directions == ["minimize", "minimize"]
    assert isinstance(build_sampler(spec), optuna.samplers.NSGAIISampler)
    hyper = parse(pruner={"name": "hyperband"})
    assert isinstance(build_pruner(hyper), optuna.pruners.HyperbandPruner)


def test_an_unreachable_storage_is_a_config_error():
    with pytest.raises(ConfigError, match="storage: cannot open postgresql://u:\\*\\*\\*@127.0.0.1:9/x"):
        open_storage("postgresql://u:secret@127.0.0.1:9/x", heartbeat_s=1)
    with pytest.raises(ConfigError, match="storage: unsupported URL"):
        open_storage("redis://127.0.0.1:6379", heartbeat_s=1)


def test_pareto_mask_matches_optunas_best_trials():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 2))
    study = optuna.create_study(directions=["minimize", "maximize"])
    for point in values:
        study.add_trial(optuna.trial.create_trial(values=list(point), params={},
                                                  distributions={}))
    expected = sorted(t.number for t in study.best_trials)
    assert sorted(np.flatnonzero(pareto_mask(values, (True, False)))) == expected
