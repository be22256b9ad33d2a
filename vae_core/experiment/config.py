"""A training command's declaration, written flat (as in params.yaml or on the command line)
and typed as three parts: the data, the model family's own fields, the trainer.

    dataset: digits        -> data.dataset
    model: vae, beta: 4    -> model (VAEConfig: family 'vae', beta 4)
    epochs: 20             -> trainer.epochs

Each flat key belongs to exactly one part; a key no part has (or one the chosen family does
not take, like `beta` for an autoencoder) is refused with the keys that are allowed.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializeAsAny, field_validator, model_validator

from vae_core.config import ConfigError, IntList, Options, StrictModel
from vae_core.data import validate_dataset_options
from vae_core.launch.settings import LaunchConfig
from vae_core.models import FAMILIES, ModelConfig, model_config
from vae_core.training import TrainerConfig


class DataConfig(StrictModel):
    dataset: str = "digits"
    dataset_options: Options = Field(default_factory=dict)
    data_file: str = ""  # a prepared .npz (the DVC `prepare` stage) instead of loading by name
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _options(self) -> DataConfig:
        filled = validate_dataset_options(self.dataset, dict(self.dataset_options))
        if filled != self.dataset_options:
            object.__setattr__(self, "dataset_options", filled)
        return self


TOP_KEYS = ("study", "latent_sizes", "model", "launch")
DATA_KEYS = tuple(DataConfig.model_fields)
TRAINER_KEYS = tuple(TrainerConfig.model_fields)


def family_keys(family: str) -> tuple[str, ...]:
    return tuple(k for k in FAMILIES[family].config.model_fields if k not in ("family", "latent_size"))


def all_flat_keys() -> list[str]:
    """Every key a flat declaration may use, for any family (the command-line flags; `launch`,
    a nested section, is written in params.yaml or as `--set launch.launcher=slurm`)."""
    keys = [*(k for k in TOP_KEYS if k != "launch"), *DATA_KEYS, *TRAINER_KEYS]
    for family in FAMILIES:
        keys += [k for k in family_keys(family) if k not in keys]
    return keys


class ExperimentConfig(StrictModel):
    """Train one network per latent size, on one data set, with one trainer configuration;
    `launch` says where the latent sizes train (here, or one Slurm array task each) and is no
    part of what is trained: not in flat(), so not in any run key."""

    study: str = "default"
    latent_sizes: IntList = Field(default_factory=lambda: [2])
    launch: LaunchConfig = Field(default_factory=LaunchConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    model: SerializeAsAny[ModelConfig] = Field(default_factory=lambda: model_config({"family": "vae"}))
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, values: Any) -> Any:
        """Split a flat declaration into its parts (a nested one passes through)."""
        if not isinstance(values, dict) or isinstance(values.get("model"), dict | ModelConfig):
            return values
        family = values.get("model", "vae")
        if family not in FAMILIES:
            raise ConfigError(f"model: unknown value {family!r}; allowed values: {', '.join(FAMILIES)}")
        own = family_keys(family)
        unknown = sorted(set(values) - {*TOP_KEYS, *DATA_KEYS, *TRAINER_KEYS, *own})
        if unknown:
            raise ConfigError(f"{unknown[0]}: not a key of a {family!r} training run; allowed keys: "
                              f"{', '.join([*TOP_KEYS, *DATA_KEYS, *TRAINER_KEYS, *own])}")
        nested = {k: values[k] for k in ("study", "latent_sizes", "launch") if k in values}
        nested["data"] = {k: values[k] for k in DATA_KEYS if k in values}
        nested["trainer"] = {k: values[k] for k in TRAINER_KEYS if k in values}
        nested["model"] = model_config({"family": family, **{k: values[k] for k in own if k in values}})
        return nested

    @field_validator("model", mode="before")
    @classmethod
    def _typed_model(cls, value: Any) -> Any:
        return model_config(value) if isinstance(value, dict) else value

    @field_validator("latent_sizes")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if not value or any(v < 1 for v in value):
            raise ValueError(f"give one or more latent sizes >= 1, got {value}")
        return value

    def model_for(self, latent_size: int) -> ModelConfig:
        return self.model.model_copy(update={"latent_size": latent_size})

    def flat(self) -> dict[str, Any]:
        """The declaration as a user writes it (MLflow params, the run key)."""
        model = self.model.model_dump(mode="json")
        values: dict[str, Any] = {"study": self.study, "latent_sizes": self.latent_sizes,
                                  "model": model.pop("family")}
        model.pop("latent_size")
        values.update(self.data.model_dump(mode="json"))
        values.update(model)
        values.update(self.trainer.model_dump(mode="json"))
        return values
