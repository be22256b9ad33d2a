"""The search space of a study file: each dimension's values checked against the type of the
training-config field it searches (read off the typed configs), before any trial exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vae_core.config import ConfigError, reject_unknown_keys, require_choice, require_float, require_int
from vae_core.experiment import DataConfig
from vae_core.models import FAMILIES
from vae_core.training import TrainerConfig

DIMENSION_KINDS = ("grid", "float", "int", "choices")


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: a grid/choice list, or a float/int range (optionally log)."""

    name: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False



def field_kinds() -> dict[str, Any]:
    """The type of every searchable key, read off the typed configs (a dict of annotations)."""
    kinds: dict[str, Any] = {"latent_size": int}
    owners = [DataConfig, TrainerConfig, *(family.config for family in FAMILIES.values())]
    for owner in owners:
        for name, info in owner.model_fields.items():
            kinds.setdefault(name, info.annotation)
    kinds.update(study=str, model=str)
    return kinds


def check_value(key: str, value: Any, kind: type) -> Any:
    if kind is int:
        return require_int(key, value)
    if kind is float:
        if isinstance(value, str):
            raise ConfigError(f"{key}: expected a number, got the string {value!r} (YAML reads 1e-3 as "
                              f"text; write 1.0e-3)")
        return require_float(key, value)
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if kind not in (int, float, str):
        raise ConfigError(f"{key}: a parameter of type {kind} cannot be searched; allowed parameters "
                          f"have int, float or str values")
    return value


def parse_dimension(name: str, entry: Any, kind: type) -> Dimension:
    key = f"space.{name}"
    if not isinstance(entry, dict) or len(entry) not in (1, 2):
        raise ConfigError(f"{key}: expected one of {{grid: [...]}}, {{choices: [...]}}, "
                          f"{{float: [low, high], log: bool}}, {{int: [low, high]}}; got {entry!r}")
    shape = next(iter(entry))
    require_choice(f"{key} kind", shape, DIMENSION_KINDS)
    reject_unknown_keys(key, entry, [shape, "log"])
    spec = entry[shape]
    if shape in ("grid", "choices"):
        if not isinstance(spec, list) or not spec:
            raise ConfigError(f"{key}.{shape}: expected a non-empty list of values, got {spec!r}")
        values = tuple(check_value(f"{key}.{shape}[{i}]", v, kind) for i, v in enumerate(spec))
        if len(set(values)) != len(values):
            raise ConfigError(f"{key}.{shape}: repeated values in {list(values)}")
        return Dimension(name, shape, values)
    if shape == "int" and kind is not int or shape == "float" and kind not in (float, int):
        raise ConfigError(f"{key}: a {shape} range does not fit a parameter of type {kind.__name__}")
    if not isinstance(spec, list) or len(spec) != 2:
        raise ConfigError(f"{key}.{shape}: expected [low, high], got {spec!r}")
    low, high = (check_value(f"{key}.{shape}", v, int if shape == "int" else float) for v in spec)
    if not low < high:
        raise ConfigError(f"{key}.{shape}: low {low} must be below high {high}")
    log = entry.get("log", False)
    if not isinstance(log, bool) or (log and low <= 0):
        raise ConfigError(f"{key}.log: must be true/false, and a log range needs low > 0")
    return Dimension(name, shape, (), low, high, log)
