"""S3's declaration: experiments (kinds with a list each) expanded into named configurations.

    ae_vs_vae, latent_size: 2, n_layers: [1, 2, 3] -> an AE and a VAE per depth
    ae_vs_vae, latent_size: [2, 8, 32], n_layers: 2 -> an AE and a VAE per latent size
    beta_vae, betas: [0.1, 1, 4]                    -> a VAE per beta
    prior_vae, prior_mean, prior_var                -> a VAE with prior N(m, v) (methods.md's KL)

Every configuration is trained on every data set in `datasets`; its training keys are
`defaults`, then `dataset_defaults[<data set>]`, then the experiment's `overrides`. A
configuration's name says what it is (dataset, family, D_z, depth, beta, prior), so one declared
twice (the beta = 1 VAE of the beta experiment is the VAE of the first) is trained once.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PositiveInt, field_validator, model_validator

from vae_core.config import ConfigError, StrictModel, StrList, typed
from vae_core.experiment import ExperimentConfig

KINDS = ("ae_vs_vae", "beta_vae", "prior_vae")


class Experiment(StrictModel):
    """One of the study's experiments; the list its kind sweeps is the one given."""

    kind: str
    latent_size: PositiveInt | list[PositiveInt] = 2  # a list only in an ae_vs_vae experiment
    n_layers: PositiveInt | list[PositiveInt] = 2  # a list only in an ae_vs_vae experiment
    betas: list[float] = Field(default_factory=list)
    prior_mean: float | list[float] = 0.0
    prior_var: float | list[float] = 1.0
    overrides: dict[str, Any] = Field(default_factory=dict)  # flat training keys for this one only

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"unknown experiment kind {value!r}; allowed values: {', '.join(KINDS)}")
        return value


class TrainConfig(StrictModel):
    """The train stage: k-fold cross-validation of every configuration on every data set."""

    folds: int = 10
    fold_seed: int = Field(0, ge=0)
    datasets: StrList = Field(default_factory=lambda: ["digits"])
    defaults: dict[str, Any] = Field(default_factory=dict)  # flat training keys shared by all
    dataset_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per data set
    experiments: list[Experiment]

    @field_validator("folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value < 2:
            raise ValueError(f"{value} folds cannot cross-validate; give folds >= 2 (S3 uses 10)")
        return value

    @model_validator(mode="after")
    def _dataset_defaults(self) -> TrainConfig:
        unknown = sorted(set(self.dataset_defaults) - set(self.datasets))
        if unknown:
            raise ValueError(f"dataset_defaults: {unknown[0]!r} is not in datasets {self.datasets}; "
                             f"give defaults only for the study's data sets")
        return self


def _variants(experiment: Experiment) -> list[dict[str, Any]]:
    """The family keys of each configuration one experiment declares."""
    sizes, depths = experiment.latent_size, experiment.n_layers
    lists = isinstance(sizes, list) + isinstance(depths, list)
    if experiment.kind == "ae_vs_vae":
        if lists != 1 or not (sizes if isinstance(sizes, list) else depths):
            raise ConfigError(f"experiments: an 'ae_vs_vae' experiment sweeps exactly one list, got "
                              f"latent_size={sizes}, n_layers={depths}; give a non-empty list for one")
        shapes = ([{"latent_size": z, "n_layers": depths} for z in sizes] if isinstance(sizes, list)
                  else [{"latent_size": sizes, "n_layers": n} for n in depths])
        return [{"model": family, **shape} for shape in shapes for family in ("ae", "vae")]
    if lists:
        raise ConfigError(f"experiments: a {experiment.kind!r} experiment takes one latent_size and "
                          f"one n_layers, got latent_size={sizes}, n_layers={depths}")
    shape = {"latent_size": sizes, "n_layers": depths}
    if experiment.kind == "beta_vae":
        if not experiment.betas:
            raise ConfigError("experiments: a 'beta_vae' experiment needs a non-empty betas list")
        return [{"model": "vae", "beta": beta, **shape} for beta in experiment.betas]
    return [{"model": "prior_vae", "prior_mean": experiment.prior_mean,
             "prior_var": experiment.prior_var, **shape}]


def configuration_name(dataset: str, values: dict[str, Any]) -> str:
    name = f"{dataset}-{values['model']}-z{values['latent_size']}-l{values['n_layers']}"
    if values["model"] != "ae":
        name += f"-b{float(values.get('beta', 1.0)):g}"
    if values["model"] == "prior_vae":
        name += f"-m{values['prior_mean']}-v{values['prior_var']}".replace(" ", "")
    return name


def configurations(config: TrainConfig) -> dict[str, ExperimentConfig]:
    """name -> the typed declaration of one configuration (one latent size), in declared order."""
    found: dict[str, ExperimentConfig] = {}
    for index, experiment in enumerate(config.experiments):
        for dataset in config.datasets:
            for variant in _variants(experiment):
                values = {**config.defaults, **config.dataset_defaults.get(dataset, {}),
                          **experiment.overrides, "study": "ae_vs_vae", "dataset": dataset, **variant}
                size = values.pop("latent_size")
                name = configuration_name(dataset, {**variant, **values, "latent_size": size})
                if name not in found:
                    typed_config = typed(ExperimentConfig, {**values, "latent_sizes": [size]},
                                         f"experiments[{index}]")
                    found[name] = typed_config.model_copy(update={"model": typed_config.model_for(size)})
    return found

