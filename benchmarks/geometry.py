"""One checkpoint's geometry (11 representations of S0's network, N points), two ways, on CPU:

- ours: k nearest neighbours once per layer, reused for TwoNN, Gride and the information
  imbalance; ranks beyond the neighbour list counted from chunked distance rows; one layer in
  memory at a time (`vae_core.analysis.layer_geometry`).
- dadapy full-distance route (the seed's): every representation held in memory, each one's
  full N x N neighbour matrix from dadapy (`Data(maxk=N-1)`), kept for the imbalance step,
  `compute_id_2NN`, `return_id_scaling_gride`, and dadapy's `_return_imbalance`.

Both compute the same quantities (IDs, Gride curves, II to first/last, consecutive II both
ways). Each route runs in its own process; peak memory is that process's maximum resident
set size minus its size before the work. Usage: python benchmarks/geometry.py [--n 5000]
[--epochs 0] (a trained network ranks fewer neighbours inside the target's list, so more
distance rows are recomputed).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2 ** 20


def make_store(folder: Path, n: int, epochs: int) -> None:
    """S0's network (latent 16; initial weights, or trained `epochs` on digits) on n digit
    images resized to 32x32, jittered so that every image is distinct."""
    import torch

    from vae_core.analysis.representations import capture, layer_spec
    from vae_core.data import load_dataset
    from vae_core.models import ModelSpec, build_model
    from vae_core.training.trainer import Trainer, TrainerConfig

    data = load_dataset("digits", seed=0, val_fraction=0.2, resize=32)
    images = torch.cat([data.train, data.val, data.test])
    generator = torch.Generator().manual_seed(0)
    x = images[torch.arange(n) % len(images)]
    x = (x + 0.05 * torch.rand(x.shape, generator=generator)).clamp(0, 1)
    torch.manual_seed(0)
    model = build_model(ModelSpec(family="vae", arch="conv32", latent_size=16), tuple(x.shape[1:]))
    Trainer(model, data, TrainerConfig(epochs=epochs, batch_size=256)).fit()
    store = capture(model, x, layer_spec(model), folder)
    (folder / "shapes.json").write_text(json.dumps(store.shapes))


def _load_store(folder: Path):
    from vae_core.analysis.representations import LayerStore

    store = LayerStore(folder)
    store.shapes = {k: tuple(v) for k, v in json.loads((folder / "shapes.json").read_text()).items()}
    return store


def route_ours(folder: Path) -> dict:
    from vae_core.analysis.layer_geometry import layer_geometry

    result = layer_geometry(_load_store(folder), k=64)
    return {"ids": list(result.ids.values()), "to_first": list(result.to_first.values()),
            "forward": list(result.forward.values()), "unlisted": _unlisted_rows(result)}


def _unlisted_rows(result) -> float:
    """Share of (target layer, point) pairs whose distance row was recomputed: some source
    layer's nearest neighbour was not in the target's k-list."""
    from vae_core.analysis.layer_geometry import _sources

    shares = []
    for target, sources in _sources(result.layers).items():
        listed = result.neighbours[target].indices[:, 1:]
        nearest = np.stack([result.neighbours[s].nearest for s in sources])
        shares.append(np.mean(~(listed[None] == nearest[:, :, None]).any(-1).all(0)))
    return float(np.mean(shares))


def route_dadapy(folder: Path) -> dict:
    from dadapy import Data
    from dadapy._utils.metric_comparisons import _return_imbalance

    store = _load_store(folder)
    reps = {layer: store.load(layer) for layer in store.layers}  # the seed kept every layer
    indices, ids = {}, []
    for layer, x in reps.items():
        data = Data(coordinates=x, maxk=len(x) - 1, verbose=False)
        data.compute_distances()
        ids.append(data.compute_id_2NN()[0])
        data.return_id_scaling_gride(range_max=64)
        indices[layer] = data.dist_indices
        del data
    rng = np.random.default_rng(0)
    layers = store.layers
    first, last = indices[layers[0]], indices[layers[-1]]
    to_first = [_return_imbalance(indices[layer], first, rng) for layer in layers]
    _ = [_return_imbalance(indices[layer], last, rng) for layer in layers]
    forward = [_return_imbalance(indices[a], indices[b], rng) for a, b in zip(layers[:-1], layers[1:])]
    _ = [_return_imbalance(indices[b], indices[a], rng) for a, b in zip(layers[:-1], layers[1:])]
    return {"ids": ids, "to_first": to_first, "forward": forward}


def child(route: str, folder: Path) -> None:
    import dadapy  # noqa: F401
    import torch  # noqa: F401  (imports counted in the baseline for both routes)

    import vae_core.analysis.layer_geometry  # noqa: F401

    baseline = _current_rss_mib()
    start = time.perf_counter()
    values = {"ours": route_ours, "dadapy": route_dadapy}[route](folder)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mib": _rss_mib() - baseline, "values": values}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=0, help="train the network first (0: initial weights)")
    parser.add_argument("--route", default="")
    parser.add_argument("--folder", default="")
    args = parser.parse_args()
    if args.route:
        child(args.route, Path(args.folder))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_store(folder, args.n, args.epochs)
        dims = json.loads((folder / "shapes.json").read_text())
        print(f"N = {args.n}; network trained {args.epochs} epochs; "
              f"layer widths: {[d for _, d in dims.values()]}")
        results = {}
        for route in ("ours", "dadapy"):
            out = subprocess.run([sys.executable, __file__, "--route", route, "--folder", str(folder)],
                                 capture_output=True, text=True, check=True)
            results[route] = json.loads(out.stdout.strip().splitlines()[-1])
    ours, ref = results["ours"], results["dadapy"]
    id_gap = np.max(np.abs(np.subtract(ours["values"]["ids"], ref["values"]["ids"])))
    ii_gap = np.max(np.abs(np.subtract(ours["values"]["to_first"] + ours["values"]["forward"],
                                       ref["values"]["to_first"] + ref["values"]["forward"])))
    print(f"{'':22}{'ours':>12}{'dadapy full':>14}{'ratio':>10}")
    print(f"{'time (s)':22}{ours['seconds']:12.1f}{ref['seconds']:14.1f}"
          f"{ref['seconds'] / ours['seconds']:9.1f}x")
    print(f"{'peak memory (MiB)':22}{ours['peak_mib']:12.0f}{ref['peak_mib']:14.0f}"
          f"{ref['peak_mib'] / ours['peak_mib']:9.1f}x")
    print(f"max |ID difference| {id_gap:.2e}; max |II difference| {ii_gap:.2e}; "
          f"distance rows recomputed for ranks beyond k: {100 * ours['values']['unlisted']:.1f}%")


if __name__ == "__main__":
    main()
