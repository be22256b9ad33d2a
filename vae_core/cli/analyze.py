"""`analyze --kind geometry`: ID and information imbalance of trained models' checkpoints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.analysis.geometry_runner import GeometryConfig, run_geometry
from vae_core.cli.params import parse_options, read_section
from vae_core.config import ConfigError, parse_int_list, reject_unknown_keys, require_choice

KINDS = ("geometry",)
KEYS = ("kind", "model", "runs", "epochs", "n_points", "latent", "layers", "k", "dataset",
        "dataset_options", "seed", "out_dir")


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", help="a params file section, e.g. params.yaml:analyze")
    parser.add_argument("--kind", default=None, help=f"one of {', '.join(KINDS)}")
    parser.add_argument("--model", default=None,
                        help="run ids, logged-model ids or models:/NAME@ALIAS, comma-separated")
    parser.add_argument("--runs", default=None, help="a train stage's JSON of run ids (all its runs)")
    parser.add_argument("--epochs", default=None, help="checkpoint epochs (default: all)")
    parser.add_argument("--n-points", dest="n_points", default=None, help="test points (default 5000)")
    parser.add_argument("--latent", default=None, help="mean | sample (default mean)")
    parser.add_argument("--layers", default=None,
                        help="module paths to probe, comma-separated (input/latent/output allowed); "
                             "default: S0's 11 layers")
    parser.add_argument("--k", default=None, help="neighbours per point (default 64)")
    parser.add_argument("--dataset", default=None, help="default: the first model's training data")
    parser.add_argument("--dataset-options", dest="dataset_options", default=None)
    parser.add_argument("--seed", default=None)
    parser.add_argument("--out-dir", dest="out_dir", default=None, help="default results/geometry")


def _settings(args: argparse.Namespace) -> dict:
    values = read_section(args.params)
    reject_unknown_keys("analyze", values, KEYS)
    values.update({key: getattr(args, key) for key in KEYS
                   if getattr(args, key, None) not in (None, "")})
    return values


def _split(text: object) -> list[str]:
    items = text if isinstance(text, list) else str(text or "").replace(",", " ").split()
    return [str(item) for item in items]


def _ints(key: str, value: object) -> list[int]:
    if isinstance(value, list):
        return [int(v) for v in value]
    return parse_int_list(key, str(value)) if value not in (None, "") else []


def config_from(values: dict) -> tuple[GeometryConfig, Path]:
    require_choice("kind", values.get("kind", "geometry"), KINDS)
    models = _split(values.get("model"))
    if values.get("runs"):
        runs_file = Path(values["runs"])
        if not runs_file.is_file():
            raise ConfigError(f"runs: file {runs_file} not found")
        models += list(json.loads(runs_file.read_text())["runs"].values())
    options = values.get("dataset_options") or {}
    try:
        config = GeometryConfig(
            models=models, epochs=_ints("epochs", values.get("epochs")),
            n_points=int(values.get("n_points", 5000)), latent=str(values.get("latent", "mean")),
            layers=_split(values.get("layers")), k=int(values.get("k", 64)),
            dataset=str(values.get("dataset") or ""),
            dataset_options=parse_options(options) if isinstance(options, str) else dict(options),
            seed=int(values.get("seed", 0)))
    except ValueError as error:
        raise ConfigError(f"analyze: {error}") from None
    return config.validate(), Path(values.get("out_dir") or "results/geometry")


def run(args: argparse.Namespace) -> int:
    """Analyse trained models' checkpoints (geometry: ID and information imbalance per layer)."""
    config, out_dir = config_from(_settings(args))
    tables = run_geometry(config, out_dir)
    print(json.dumps({"out_dir": str(out_dir), "models": tables["geometry"]["models"]}, indent=2))
    return 0
