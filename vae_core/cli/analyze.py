"""`analyze --kind KIND --model REFS`: an analysis of any trained models (run ids, m-... ids,
models:/NAME@ALIAS), its settings typed before anything is loaded."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vae_core.config import ConfigError, read_section, typed

KEYS = ("model", "epochs", "n_points", "latent", "layers", "k", "dataset", "dataset_options", "seed",
        "num_train", "num_test", "batch_size", "num_variance_estimate", "num_bins", "udr_points",
        "kl_threshold", "n_jobs", "param", "npz", "fingerprint", "metric", "min_bits", "min_samples",
        "xi", "mc_samples")


def kinds() -> dict[str, tuple[type, object]]:
    """Analysis kind -> (settings type, function(settings, out_dir))."""
    from vae_core.studies.disentanglement.analyze import DisentanglementConfig, run_disentanglement
    from vae_core.studies.id_ii.analyze import GeometryConfig, run_geometry
    from vae_core.studies.info_channels.analyze import ChannelsConfig, run_channels

    return {"geometry": (GeometryConfig, run_geometry),
            "disentanglement": (DisentanglementConfig, run_disentanglement),
            "channels": (ChannelsConfig, run_channels)}


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default="", help="a params file section, e.g. params.yaml:analyze")
    parser.add_argument("--kind", default="geometry")
    parser.add_argument("--out-dir", dest="out_dir", default="", help="default results/<kind>")
    for key in KEYS:
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None)


def run(args: argparse.Namespace) -> int:
    """Analyse trained models' checkpoints (geometry: ID and information imbalance per layer;
    disentanglement: ground-truth metrics and UDR of models trained on a factor data set)."""
    available = kinds()
    if args.kind not in available:
        raise ConfigError(f"kind: unknown value {args.kind!r}; allowed values: {', '.join(available)}")
    settings_type, analyse = available[args.kind]
    values = read_section(args.params)
    values.pop("kind", None)
    values.update({k: getattr(args, k) for k in KEYS if getattr(args, k) not in (None, "")})
    if "model" in values:
        values["models"] = values.pop("model")
    settings = typed(settings_type, values, "analyze")
    out_dir = Path(args.out_dir or f"results/{args.kind}")
    tables = analyse(settings, out_dir)
    print(json.dumps({"out_dir": str(out_dir), "models": tables[args.kind]["models"]}, indent=2))
    return 0
