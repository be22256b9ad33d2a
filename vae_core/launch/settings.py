"""How work is launched: `launcher` (in this process / local worker processes, or a Slurm job
array), the `slurm:` block (what one array task asks the cluster for) and `state_dir` (resume
state, which must be on a filesystem every node shares for a requeued task to resume).

A sweep's study file and a stage's `launch:` section (`LaunchConfig`) read the same keys through
the same checks, so a typo fails before anything is submitted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from vae_core.config import (
    ConfigError,
    StrictModel,
    reject_unknown_keys,
    require_choice,
    require_float,
    require_int,
)

LAUNCHERS = ("local", "slurm")
SLURM_KEYS = ("partition", "time_min", "cpus_per_task", "gpus_per_task", "mem_gb", "sbatch", "setup",
              "log_dir")
SBATCH_LINE = re.compile(r"^--(?P<key>[a-z][a-z0-9-]*)(=(?P<value>\S.*))?$")
DEFAULT_STATE_DIR = ".vae_state"
STATE_DIR_ENV = "VAE_STATE_DIR"  # set in Slurm tasks: resume state on a shared filesystem


@dataclass(frozen=True)
class SlurmSettings:
    """Resources of one array task (one Optuna worker, one stage unit); None leaves it to the
    cluster's default."""

    partition: str | None = None
    time_min: int = 60
    cpus_per_task: int = 1
    gpus_per_task: int = 0
    mem_gb: float | None = None
    sbatch: tuple[str, ...] = ()  # extra `--key=value` lines, e.g. --account=proj, --qos=high
    setup: tuple[str, ...] = ()  # shell lines run before the task, e.g. `module load cuda`
    log_dir: str = ".slurm"  # submitit's folder (scripts, pickles, logs): on a shared filesystem

    def sbatch_parameters(self) -> dict[str, str | bool]:
        """The extra lines as submitit's additional_parameters: {'account': 'proj', 'exclusive': True}."""
        parameters: dict[str, str | bool] = {}
        for line in self.sbatch:
            match = SBATCH_LINE.match(line)
            assert match is not None  # checked by parse_slurm
            parameters[match["key"].replace("-", "_")] = match["value"] or True
        return parameters


def _lines(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key}: expected a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _sbatch_lines(value: Any) -> tuple[str, ...]:
    lines = tuple(line.removeprefix("#SBATCH").strip() for line in _lines("slurm.sbatch", value))
    for i, line in enumerate(lines):
        if not SBATCH_LINE.match(line):
            raise ConfigError(f"slurm.sbatch[{i}]: expected an sbatch option like '--account=proj' or "
                              f"'--exclusive', got {line!r}")
        if SBATCH_LINE.match(line)["key"] in ("array", "output", "error", "signal", "open-mode"):
            raise ConfigError(f"slurm.sbatch[{i}]: {line!r} is set by the launcher (one array task per "
                              f"worker, logs in slurm.log_dir); remove it")
    return lines


def parse_slurm(document: Any) -> SlurmSettings:
    """Validate the `slurm:` block (absent: the cluster's defaults, one CPU, an hour)."""
    if document is None:
        return SlurmSettings()
    if not isinstance(document, dict):
        raise ConfigError(f"slurm: expected a mapping of {', '.join(SLURM_KEYS)}, got {document!r}")
    reject_unknown_keys("slurm", document, SLURM_KEYS)
    partition = document.get("partition")
    if partition is not None and (not isinstance(partition, str) or not re.fullmatch(r"[\w.-]+", partition)):
        raise ConfigError(f"slurm.partition: expected a partition name, got {partition!r}")
    mem_gb = document.get("mem_gb")
    if mem_gb is not None:
        mem_gb = require_float("slurm.mem_gb", mem_gb, minimum=0.0, strict=True)
    log_dir = document.get("log_dir", ".slurm")
    if not isinstance(log_dir, str) or not log_dir:
        raise ConfigError(f"slurm.log_dir: expected a folder path, got {log_dir!r}")
    return SlurmSettings(
        partition=partition, time_min=require_int("slurm.time_min", document.get("time_min", 60), minimum=1),
        cpus_per_task=require_int("slurm.cpus_per_task", document.get("cpus_per_task", 1), minimum=1),
        gpus_per_task=require_int("slurm.gpus_per_task", document.get("gpus_per_task", 0), minimum=0),
        mem_gb=mem_gb, sbatch=_sbatch_lines(document.get("sbatch")),
        setup=_lines("slurm.setup", document.get("setup")), log_dir=log_dir)


def parse_launcher(value: Any) -> str:
    return require_choice("launcher", value, LAUNCHERS)


def parse_state_dir(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"state_dir: expected a folder path (default {DEFAULT_STATE_DIR}/), got {value!r}")
    return value


def state_dir_path(setting: str, root: Path) -> Path:
    """Where resume state goes: VAE_STATE_DIR when set (an operator's override on this machine),
    else the study's state_dir, relative to the project root."""
    override = os.environ.get(STATE_DIR_ENV)
    return Path(override) if override else (root / setting).resolve()


def use_state_dir(setting: str, root: Path) -> Path:
    """Point this process (and the workers it starts) at the study's state folder."""
    path = state_dir_path(setting, root)
    os.environ[STATE_DIR_ENV] = str(path)
    return path


@contextmanager
def scoped_state_dir(setting: str, root: Path) -> Iterator[Path]:
    """use_state_dir for the length of a block (a stage in a long-lived process, a test), then
    VAE_STATE_DIR as it was."""
    before = os.environ.get(STATE_DIR_ENV)
    try:
        yield use_state_dir(setting, root)
    finally:
        if before is None:
            os.environ.pop(STATE_DIR_ENV, None)
        else:
            os.environ[STATE_DIR_ENV] = before


class LaunchConfig(StrictModel):
    """A stage's `launch:` section: where its units (latent sizes, models, grid points) run.

    `local` runs them one after another in this process; `slurm` sends them out as one job array
    (vae_core/launch/fanout.py) with the `slurm:` block's resources and waits for them, unless
    `wait` is false (the same command started again collects the results)."""

    written_nested: ClassVar[bool] = True  # errors name `launch.launcher`, as the user writes it
    launcher: Literal["local", "slurm"] = "local"
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)
    state_dir: str = DEFAULT_STATE_DIR
    wait: bool = True

    @field_validator("slurm", mode="before")
    @classmethod
    def _slurm(cls, value: Any) -> SlurmSettings:
        if isinstance(value, SlurmSettings):
            return value
        try:
            return parse_slurm(value)
        except ConfigError as error:
            raise ConfigError(f"launch.{error}") from None

    @field_validator("state_dir", mode="before")
    @classmethod
    def _state_dir(cls, value: Any) -> str:
        try:
            return parse_state_dir(value)
        except ConfigError as error:
            raise ConfigError(f"launch.{error}") from None
