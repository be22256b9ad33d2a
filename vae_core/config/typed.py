"""Typed configuration: strict pydantic models, one coercion from command-line strings, YAML and
study files, and errors that name the key, the bad value and what is allowed in one line.

A command-line value arrives as text ('2,4,8', 'resize=32 limit=10', '1e-3'); a params.yaml
value arrives typed. Both go through the same model, so there is one place where a string
becomes a list, a mapping or a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from vae_core.config.checks import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def _split_list(value: Any) -> Any:
    """'2,4 8' (commas or spaces) -> ['2', '4', '8']; anything else unchanged."""
    if isinstance(value, str):
        return [part for part in value.replace(",", " ").split() if part]
    return value


def parse_options(value: Any) -> Any:
    """'resize=32 limit=1000' -> {'resize': 32, 'limit': 1000} (values read as YAML scalars)."""
    if not isinstance(value, str):
        return {} if value is None else value
    options = {}
    for item in value.replace(",", " ").split():
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value pairs, got {item!r}")
        options[key] = yaml.safe_load(text)
    return options


IntList = Annotated[list[int], BeforeValidator(_split_list)]
StrList = Annotated[list[str], BeforeValidator(_split_list)]
Options = Annotated[dict[str, Any], BeforeValidator(parse_options)]


class StrictModel(BaseModel):
    """Unknown keys are refused (named in the error); values are checked on every assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


def _key(model: type[BaseModel], location: tuple[Any, ...]) -> str:
    """The key as the user wrote it: parts naming a section written flat (data., trainer.) dropped."""
    parts: list[str] = []
    current: Any = model
    for part in location:
        field = current.model_fields.get(str(part)) if isinstance(current, type) and issubclass(
            current, BaseModel) else None
        inner = field.annotation if field else None
        nested = isinstance(inner, type) and issubclass(inner, BaseModel) and not getattr(
            inner, "written_nested", False)  # a section the user writes nested keeps its name
        if not (nested and part != location[-1]) and not re.search(r"[\[(]", str(part)):
            parts.append(str(part))
        current = inner
    return ".".join(parts)


def one_line(error: ValidationError, model: type[BaseModel], section: str = "") -> ConfigError:
    """The first problem of a pydantic error as `key: bad value; what is wrong; allowed values`."""
    errors = error.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # typos first
    location = first.get("loc", ())
    key = _key(model, location) or section or model.__name__
    value = first.get("input")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        prefix = f"{section}: " if section else ""
        owner = model
        for part in location[:-1]:
            owner = getattr(owner, "model_fields", {}).get(str(part)).annotation
        return ConfigError(f"{prefix}unknown key {key!r}; allowed keys: {', '.join(owner.model_fields)}")
    if not location or re.match(r"^[\w.\[\]]+( for '[^']*')?: ", message):  # the message names its key itself
        return ConfigError(message)
    if first["type"] == "literal_error":
        return ConfigError(f"{key}: unknown value {value!r}; allowed values: "
                           f"{first.get('ctx', {}).get('expected', '')}")
    shown = "" if first["type"] == "missing" else f" got {value!r}:"
    return ConfigError(f"{key}:{shown} {message}")


def typed(model: type[Model], values: dict[str, Any] | None, section: str = "") -> Model:
    """Validate `values` (from YAML or the command line) into `model`, or one ConfigError line."""
    try:
        return model.model_validate(dict(values or {}))
    except ValidationError as error:
        raise one_line(error, model, section) from None


def read_section(spec: str) -> dict[str, Any]:
    """'params.yaml:train' -> that section as a dict ('' -> {}; 'file.yaml' -> the whole file)."""
    if not spec:
        return {}
    path, _, section = spec.partition(":")
    if not Path(path).is_file():
        raise ConfigError(f"params: file {path!r} not found")
    document = yaml.safe_load(Path(path).read_text()) or {}
    if section:
        if section not in document:
            raise ConfigError(f"params: {path} has no section {section!r}; sections: {', '.join(document)}")
        document = document[section]
    return dict(document or {})
