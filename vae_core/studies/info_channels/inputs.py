"""What a channel analysis reads, resolved and checked before any MLflow run exists: either
trained models (a sweep study's trials, run ids, logged or registered models) with a
fingerprint, or an .npz of encoder outputs (the route for models trained elsewhere, e.g.
disentanglement_lib's TF-Hub modules).

The .npz input: `mu` and `logvar` of shape (models, M, K) (or (M, K) for one model), the
posterior means and log variances of every model on the same M fingerprint points; optional
`factors` (M, F) or `labels` (M,), `factor_names` (F,) and `model_names` (models,)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vae_core.config import ConfigError
from vae_core.tracking.checkpoints import checkpoints_of
from vae_core.tracking.queries import sweep_trials

RUN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # how tables and figures name it (trial3, a run id, a reference)
    run_id: str | None  # its training run, when known
    loadable: str  # what load_model reads: its last checkpoint


@dataclass
class Encodings:
    """Per model (M, K_m) posterior means and log variances on one fingerprint, with its factors."""

    names: list[str]
    mus: list[np.ndarray]
    logvars: list[np.ndarray]
    factors: np.ndarray  # (M, F), F may be 0
    factor_names: list[str]
    models: list[ResolvedModel] = field(default_factory=list)  # empty for the .npz route


def is_study_name(text: str) -> bool:
    return not (text.startswith(("models:/", "runs:/", "m-")) or RUN_ID.fullmatch(text))


def _trial_name(row: dict) -> str:
    swept = ", ".join(f"{k} {row[f'param.{k}']}" for k in ("beta", "seed") if f"param.{k}" in row)
    return f"trial{row['trial']}" + (f" ({swept})" if swept else "")


def study_models(study: str) -> list[ResolvedModel]:
    """Every completed trial of a sweep study, at its last checkpoint, in trial order."""
    table = sweep_trials(study)
    if table.empty:
        raise ConfigError(f"models: {study!r} is not a run id, m-... id or models:/ reference, and no "
                          "sweep study of that name has completed trials in this store; run its "
                          "sweep first or pass run ids")
    return [ResolvedModel(_trial_name(row), row["run_id"], last_checkpoint(row["run_id"])[1])
            for row in table.to_dict(orient="records")]


def last_checkpoint(reference: str) -> tuple[str | None, str]:
    run_id, uris = checkpoints_of(reference, [])
    return run_id, uris[max(uris)]


def resolve_models(references: list[str]) -> list[ResolvedModel]:
    """A single study name, or any number of run ids / logged / registered model references."""
    if len(references) == 1 and is_study_name(references[0]):
        return study_models(references[0])
    resolved = []
    for reference in references:
        if is_study_name(reference):
            raise ConfigError(f"models: {reference!r} looks like a study name; give one study name "
                              "alone, or only run ids and model references")
        run_id, loadable = last_checkpoint(reference)
        resolved.append(ResolvedModel(reference, run_id, loadable))
    return resolved


def _stacked(archive: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray:
    value = np.asarray(archive[key], dtype=np.float64)
    if value.ndim == 2:
        value = value[None]
    if value.ndim != 3:
        raise ConfigError(f"npz: {path} '{key}' has shape {value.shape}; expected (models, M, K) "
                          "or (M, K)")
    return value


def _factors(archive: dict[str, np.ndarray], m: int, path: Path) -> tuple[np.ndarray, list[str]]:
    factors = archive.get("factors", archive.get("labels"))
    if factors is None:
        return np.zeros((m, 0)), []
    factors = np.asarray(factors, dtype=np.float64)
    factors = factors[:, None] if factors.ndim == 1 else factors
    if factors.ndim != 2 or factors.shape[0] != m:
        raise ConfigError(f"npz: {path} factors/labels have shape {factors.shape}; expected (M, F) "
                          f"or (M,) with M = {m}, the points of mu")
    default = ["label"] if "factors" not in archive else [f"factor{i}" for i in range(factors.shape[1])]
    names = [str(n) for n in archive.get("factor_names", default)]
    if len(names) != factors.shape[1]:
        raise ConfigError(f"npz: {path} has {len(names)} factor_names for {factors.shape[1]} factors")
    return factors, names


def read_encodings(path_text: str) -> Encodings:
    """The .npz route: checked for the file, both arrays and matching shapes."""
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"npz: file {path_text!r} not found; give an .npz with mu and logvar "
                          "arrays of shape (models, M, K)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:
        raise ConfigError(f"npz: {path_text!r} is not a readable .npz file ({error})") from None
    missing = [key for key in ("mu", "logvar") if key not in arrays]
    if missing:
        raise ConfigError(f"npz: {path_text} has no {' and no '.join(map(repr, missing))} array (keys: "
                          f"{', '.join(sorted(arrays)) or 'none'}); save np.savez(path, mu=..., "
                          "logvar=...) with shape (models, M, K)")
    mu, logvar = _stacked(arrays, "mu", path), _stacked(arrays, "logvar", path)
    if mu.shape != logvar.shape:
        raise ConfigError(f"npz: {path_text} mu {mu.shape} and logvar {logvar.shape} differ in shape")
    factors, factor_names = _factors(arrays, mu.shape[1], path)
    names = [str(n) for n in arrays.get("model_names", [f"model{i}" for i in range(len(mu))])]
    if len(names) != len(mu):
        raise ConfigError(f"npz: {path_text} has {len(names)} model_names for {len(mu)} models")
    return Encodings(names, list(mu), list(logvar), factors, factor_names)
