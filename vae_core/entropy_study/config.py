"""One S4 training run, declared: the Gaussian VAE type, its data and the S4 training options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from vae_core.config import ConfigError, reject_unknown_keys, require_float, require_int
from vae_core.data import validate_dataset_options
from vae_core.models import ModelSpec, validate_spec
from vae_core.training import TrainerConfig

ANNEALING_FRACTION = 0.3  # KL annealing: beta rises linearly to 1 over the first 30% of the steps


@dataclass
class EntropyRunConfig:
    name: str = "run"
    study: str = "elbo_entropies"
    dataset: str = "pca"
    dataset_options: dict[str, Any] = field(default_factory=dict)
    val_fraction: float = 0.2
    vae_type: str = "vae-1"  # vae-0, vae-1, vae-2, vae-3, sigma_z
    weight_constraint: str = ""  # rescale | regularize (vae-2 only)
    optimal_variances: bool = False  # sigma^2 (and alpha^2) set to their per-batch optimum
    arch: str = "mlp"
    n_layers: int = 2
    latent_size: int = 2
    sigma: float = 1.0  # initial (vae-0: fixed) decoder standard deviation
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    variance_lr: float = 0.0  # learning rate of the variance parameters; 0 = same as lr
    kl_annealing: bool = False
    beta_start: float = 0.0  # the KL weight at step 0 when annealing
    log_every: int = 1  # per-step metrics every n optimiser steps
    seed: int = 0
    save_interval: list[int] = field(default_factory=list)  # empty: first and last epoch

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EntropyRunConfig:
        reject_unknown_keys("entropies run", values, [f.name for f in fields(cls)])
        return cls(**values).validate()

    def validate(self) -> EntropyRunConfig:
        self.dataset_options = validate_dataset_options(self.dataset, dict(self.dataset_options))
        for key in ("optimal_variances", "kl_annealing"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: expected true or false, got {getattr(self, key)!r}")
        require_float("variance_lr", self.variance_lr, minimum=0.0)
        require_float("beta_start", self.beta_start, minimum=0.0)
        if self.beta_start > 1.0:
            raise ConfigError(f"beta_start: must lie in [0, 1], got {self.beta_start}")
        require_int("log_every", self.log_every, minimum=1)
        if not self.save_interval:
            self.save_interval = sorted({0, self.epochs})
        self.trainer_config().validate()
        validate_spec(self.model_spec())
        return self

    def model_spec(self) -> ModelSpec:
        return ModelSpec(family="gaussian_vae", arch=self.arch, latent_size=self.latent_size,
                         n_layers=self.n_layers, likelihood="gaussian_learned", sigma=self.sigma,
                         beta=self.beta_start if self.kl_annealing else 1.0, vae_type=self.vae_type,
                         weight_constraint=self.weight_constraint,
                         optimal_variances=self.optimal_variances)

    def trainer_config(self) -> TrainerConfig:
        return TrainerConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=self.seed,
                             save_interval=list(self.save_interval))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_configs(section: dict[str, Any]) -> list[EntropyRunConfig]:
    """A params section {defaults: {...}, runs: [{...}, ...]} -> validated configs, all before any run."""
    reject_unknown_keys("train", section, ["defaults", "runs"])
    runs = section.get("runs") or []
    if not isinstance(runs, list) or not runs:
        raise ConfigError("runs: expected a non-empty list of run settings")
    defaults = dict(section.get("defaults") or {})
    configs = [EntropyRunConfig.from_dict({**defaults, **run}) for run in runs]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"runs: names must be unique, got {names}")
    return configs
