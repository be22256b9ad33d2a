"""Configuration, typed once at the edge: pydantic models, one coercion path, one-line errors."""

from vae_core.config.checks import (
    ConfigError,
    reject_unknown_keys,
    require_choice,
    require_float,
    require_int,
    require_int_list,
)
from vae_core.config.typed import (
    IntList,
    Options,
    StrictModel,
    StrList,
    parse_options,
    read_section,
    typed,
)

__all__ = [
    "ConfigError", "IntList", "Options", "StrList", "StrictModel", "parse_options", "read_section",
    "reject_unknown_keys", "require_choice", "require_float", "require_int", "require_int_list",
    "typed",
]
