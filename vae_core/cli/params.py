"""Reading declared parameters: a params.yaml section plus command-line overrides."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any

import yaml

from vae_core.config import ConfigError, parse_int_list


def read_section(spec: str) -> dict[str, Any]:
    """'params.yaml:train' -> that section as a dict ('' -> {})."""
    if not spec:
        return {}
    path, _, section = spec.partition(":")
    if not Path(path).is_file():
        raise ConfigError(f"params: file {path!r} not found")
    document = yaml.safe_load(Path(path).read_text()) or {}
    if section:
        if section not in document:
            raise ConfigError(f"params: {path} has no section {section!r}; sections: "
                              f"{', '.join(document)}")
        document = document[section]
    return dict(document or {})


def parse_options(text: str) -> dict[str, Any]:
    """'resize=32 limit=1000' -> {'resize': 32, 'limit': 1000} (values read as YAML scalars)."""
    options = {}
    for item in text.replace(",", " ").split():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"dataset_options: expected key=value pairs, got {item!r}")
        options[key] = yaml.safe_load(value)
    return options


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One --flag per field; unset flags stay None and do not override the params file."""
    for f in dataclasses.fields(cls):
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, default=None, type=str,
                            help=f"(default: {_default(f)})")


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def overrides(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The flags the user gave, converted to each field's type ('' means: keep the default)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        text = getattr(args, f.name, None)
        if text is None or text == "":
            continue
        kind = hints[f.name]
        try:
            if kind == list[int]:
                values[f.name] = parse_int_list(f.name, text)
            elif kind == dict[str, Any]:
                values[f.name] = parse_options(text)
            elif kind is int:
                values[f.name] = int(text)
            elif kind is float:
                values[f.name] = float(text)
            else:
                values[f.name] = text
        except ValueError:
            raise ConfigError(f"{f.name}: cannot read {text!r} as {kind.__name__}") from None
    return values
