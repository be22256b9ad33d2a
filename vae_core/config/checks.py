"""Validation at the edge: every check names the key, the bad value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ConfigError(ValueError):
    """A configuration value that cannot work; raised before any run or file is created."""


def require_choice(key: str, value: Any, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}: unknown value {value!r}; allowed values: {', '.join(allowed)}")
    return value


def require_int(key: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: must be >= {minimum}, got {value}")
    return value


def require_float(key: str, value: Any, minimum: float | None = None, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        relation = ">" if strict else ">="
        raise ConfigError(f"{key}: must be {relation} {minimum}, got {value}")
    return float(value)


def require_int_list(key: str, values: Any, minimum: int | None = None) -> list[int]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ConfigError(f"{key}: expected a list of integers, got {values!r}")
    if not values:
        raise ConfigError(f"{key}: the list is empty; give at least one integer")
    return [require_int(f"{key}[{i}]", v, minimum) for i, v in enumerate(values)]


def parse_int_list(key: str, text: str) -> list[int]:
    """Parse '2,4 8' (commas or spaces) as given on a command line or MLproject parameter."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{key}: expected integers separated by commas, got {text!r}") from None


def reject_unknown_keys(section: str, given: Iterable[str], known: Iterable[str]) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(
            f"{section}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(sorted(known))}"
        )
