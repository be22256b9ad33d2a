"""`analyze --kind channels`: S1's channel analysis of any set of diagonal-Gaussian encoders
(methods.md S1). Per channel its information in bits; NMI, VI and I(U;V) of every pair and with
every factor or label; OPTICS structure of the channels with >= min_bits; per model the Monte
Carlo information of its whole latent space (mean, standard error). Every matrix goes to
`matrices.npz` (with `channels.json`, the figures, and optionally the per-channel Bhattacharyya
matrices) in out_dir and as artifacts of one analysis run beside the models it reads.

Models are a sweep study's name, run ids, or logged / registered models (each at its last
checkpoint, encoded on a fingerprint: the given file, else one drawn from the first model's
training data), or an .npz of encoder outputs (inputs.py) for models trained elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, PositiveInt

from vae_core.analysis.channel_analysis import analyze_channels
from vae_core.analysis.channel_structure import validate_structure_options
from vae_core.analysis.channels import bhattacharyya_matrices
from vae_core.analysis.latent_information import monte_carlo_information
from vae_core.config import ConfigError, StrictModel, StrList
from vae_core.experiment import ExperimentConfig
from vae_core.plots.channels import channel_figures, traversal_figure
from vae_core.studies.info_channels.encode import encode_fingerprint
from vae_core.studies.info_channels.fingerprint import (
    FILE,
    make_fingerprint,
    read_fingerprint,
    save_fingerprint,
)
from vae_core.studies.info_channels.inputs import Encodings, read_encodings, resolve_models
from vae_core.studies.info_channels.traversals import (
    representatives,
    traversal_values,
    traverse,
    typical_point,
)
from vae_core.tracking import analysis_runs
from vae_core.tracking.checkpoints import load_model
from vae_core.tracking.records import log_at_step
from vae_core.tracking.runs import read_config

KIND = "channels"


class ChannelsConfig(StrictModel):
    models: StrList = Field(default_factory=list)  # a sweep study, run ids, m-... or models:/ refs
    npz: str = ""  # or: encoder outputs mu, logvar (models, M, K) [, factors, factor_names]
    fingerprint: str = ""  # images + factors (.npz); empty: drawn from the first model's data
    n_points: int = Field(300, ge=10)  # M of a drawn fingerprint
    seed: int = Field(0, ge=0)  # the drawn fingerprint's and the Monte Carlo draws'
    metric: Literal["vi", "nmi"] = "vi"  # OPTICS distances: clip(VI, 0) or -ln clip(NMI, 1e-4)
    min_bits: float = Field(0.01, ge=0.0)
    min_samples: int = Field(20, ge=2)
    xi: float = Field(0.05, gt=0.0, lt=1.0)
    mc_samples: int = Field(2000, ge=2)  # Monte Carlo draws per model
    traversal_steps: int = Field(7, ge=2)
    save_bhattacharyya: bool = False  # C M^2 float64s: large for big ensembles
    encode_batch: PositiveInt = 256


def _fingerprint_path(config: ChannelsConfig, first_run: str | None, out_dir: Path) -> str:
    if config.fingerprint:
        read_fingerprint(config.fingerprint)
        return config.fingerprint
    if first_run is None:
        raise ConfigError("fingerprint: the first model has no training run to draw a fingerprint "
                          "from; pass --fingerprint FILE (images and factors, .npz)")
    data = read_config(first_run, ExperimentConfig).data
    return str(save_fingerprint(make_fingerprint(data, config.n_points, config.seed), out_dir / FILE))


def gather(config: ChannelsConfig, out_dir: Path) -> Encodings:
    """Every model's encodings and the factors, all checked before any run is opened."""
    if bool(config.models) == bool(config.npz):
        raise ConfigError("models/npz: give either trained models (a sweep study, run ids, models:/ "
                          f"references) or an .npz of encoder outputs; got models={config.models!r}, "
                          f"npz={config.npz!r}")
    if config.npz:
        encodings = read_encodings(config.npz)
        if config.fingerprint and not encodings.factor_names:
            fingerprint = read_fingerprint(config.fingerprint)
            if len(fingerprint["factors"]) != len(encodings.mus[0]):
                raise ConfigError(f"fingerprint: {config.fingerprint} has {len(fingerprint['factors'])} "
                                  f"points, the npz {len(encodings.mus[0])}")
            encodings.factors = fingerprint["factors"]
            encodings.factor_names = [str(n) for n in fingerprint["factor_names"]]
        return encodings
    models = resolve_models(list(config.models))
    path = _fingerprint_path(config, models[0].run_id, out_dir)
    fingerprint = read_fingerprint(path)
    pairs = [encode_fingerprint(m.loadable, path, config.encode_batch) for m in models]
    return Encodings([m.name for m in models], [mu for mu, _ in pairs], [lv for _, lv in pairs],
                     fingerprint["factors"], [str(n) for n in fingerprint["factor_names"]], models)


def traversal_panel(config: ChannelsConfig, encodings: Encodings, result: dict[str, np.ndarray]) -> Any:
    """Decoded traversals of each cluster's most informative channel (trained models only)."""
    rows, labels, sweeps = [], [], []
    for label, channel in representatives(result).items():
        k, dim = int(result["channels.model"][channel]), int(result["channels.dim"][channel])
        mu = encodings.mus[k]
        values = traversal_values(mu[:, dim], config.traversal_steps)
        network = load_model(encodings.models[k].loadable)
        rows.append(traverse(network, mu[typical_point(mu)], dim, values))
        labels.append(f"cluster {label}\n{encodings.names[k]} z{dim}")
        sweeps.append(values)
    return traversal_figure(rows, labels, sweeps) if rows else None


def latent_information(config: ChannelsConfig, encodings: Encodings) -> list[dict[str, Any]]:
    return [{"model": name, **monte_carlo_information(mu, lv, config.mc_samples, config.seed)}
            for name, mu, lv in zip(encodings.names, encodings.mus, encodings.logvars)]


def summary_of(encodings: Encodings, result: dict[str, np.ndarray], info: list[dict[str, Any]]
               ) -> dict[str, Any]:
    names = [f"{encodings.names[k]}:z{d}" for k, d in zip(result["channels.model"], result["channels.dim"])]
    kept, cluster = result["channels.kept"], result["channels.cluster"]
    clusters = {str(c): [names[i] for i in kept[cluster == c]] for c in sorted(set(cluster.tolist()))}
    return {"models": {m.name: m.run_id for m in encodings.models} or list(encodings.names),
            "n_channels": len(names), "n_kept": int(len(kept)),
            "n_clusters": len([c for c in clusters if c != "-1"]), "clusters": clusters,
            "info_bits": dict(zip(names, np.round(result["channels.info_bits"], 6).tolist())),
            "factor_names": encodings.factor_names,
            "factor_entropy_bits": result["channels.label_entropy_bits"].tolist(),
            "latent_info": info}


def write_outputs(out_dir: Path, result: dict[str, np.ndarray], encodings: Encodings,
                  info: list[dict[str, Any]], summary: dict[str, Any], figures: dict[str, Any],
                  bhattacharyya: bool) -> list[str]:
    """matrices.npz (every array of the analysis), channels.json, figures; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "matrices.npz", out_dir / "channels.json"]
    np.savez_compressed(paths[0], **{k.removeprefix("channels."): v for k, v in result.items()},
                        model_names=np.array(encodings.names), factor_names=np.array(encodings.factor_names,
                                                                                     dtype=str),
                        latent_info_bits=np.array([r["latent_info.bits"] for r in info]),
                        latent_info_stderr_bits=np.array([r["latent_info.stderr_bits"] for r in info]))
    paths[1].write_text(json.dumps(summary, indent=1) + "\n")
    if bhattacharyya:
        paths.append(out_dir / "bhattacharyya.npy")
        np.save(paths[-1], bhattacharyya_matrices(np.concatenate(encodings.mus, 1),
                                                  np.concatenate(encodings.logvars, 1)))
    for name, figure in figures.items():
        paths.append(out_dir / name)
        figure.savefig(paths[-1], dpi=110)
    return [str(p) for p in paths]


def run_channels(config: ChannelsConfig, out_dir: Path) -> dict[str, Any]:
    """Resolve and encode (refusals first), then analyse inside one analysis run."""
    validate_structure_options(config.metric, config.min_bits, config.min_samples, config.xi)
    encodings = gather(config, out_dir)
    first_run = encodings.models[0].run_id if encodings.models else None
    params = {**config.model_dump(exclude={"models"}), "models": ",".join(encodings.names)[:500]}
    experiment_id = analysis_runs.experiment_of(first_run, KIND)
    with analysis_runs.analysis_run(KIND, experiment_id, {"source": "npz" if config.npz else "models"},
                                    params) as run_id:
        result = analyze_channels(encodings.mus, encodings.logvars,
                                  encodings.factors if encodings.factor_names else None,
                                  metric=config.metric, min_bits=config.min_bits,
                                  min_samples=config.min_samples, xi=config.xi)
        info = latent_information(config, encodings)
        figures = channel_figures(result, encodings.factor_names)
        if encodings.models:
            panel = traversal_panel(config, encodings, result)
            figures.update({"traversals.png": panel} if panel is not None else {})
        summary = summary_of(encodings, result, info)
        paths = write_outputs(out_dir, result, encodings, info, summary, figures, config.save_bhattacharyya)
        counts = {f"channels.{key}": summary[key] for key in ("n_channels", "n_kept", "n_clusters")}
        per_model = {f"{key}.m{i}": r[key] for i, r in enumerate(info)
                     for key in ("latent_info.bits", "latent_info.stderr_bits")}
        log_at_step(run_id, {**counts, **per_model}, 0)
        analysis_runs.log_files(run_id, paths, KIND)
    return {KIND: {**summary, "run_id": run_id, "out_dir": str(out_dir)}}
