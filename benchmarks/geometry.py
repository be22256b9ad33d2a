"""One checkpoint's geometry (11 representations of S0's network, N points), two ways, on CPU:

- ours: k nearest neighbours once per layer, reused for TwoNN, Gride and the information
  imbalance; each distance computed once (symmetric blocks); at N = 5000 each layer's whole
  distance matrix is assembled and the lists and ranks read off it (kept until the layers
  searched after it are ranked), so no row is recomputed; one layer's points in memory at
  a time (`vae_core.analysis.layer_geometry`).
- dadapy full-distance route (the seed's): every representation held in memory, each one's
  full N x N neighbour matrix from dadapy (`Data(maxk=N-1)`), kept for the imbalance step,
  `compute_id_2NN`, `return_id_scaling_gride`, and dadapy's `_return_imbalance`.

Both compute the same quantities (IDs, Gride curves, II to first/last, consecutive II both
ways). Each route runs in its own process; peak memory is that process's maximum resident
set size minus its size before the work. Times are wall time and CPU time (all threads of
the process): on a shared machine the wall time follows the load, the CPU time much less.
Beside our time: the float32 GEMM floor of the exact distances, N^2/2 x (sum of layer
widths) x 2 flops at the float32 GEMM rate measured (with the product routine the code
uses, on its block shape; per wall second and per CPU second) in our route's process just
before it runs; the share of (target layer, point) pairs whose rank is not decided by the
target's k-list (what a search by lists alone would recompute), and the share of distance
rows recomputed here.

Data (--data):
- digits: the 1797 sklearn digits resized to 32x32, repeated with jitter up to N (every
  point distinct, but each has near-copies: nearly every rank is in the lists).
- hard: N distinct generated 3x32x32 images like CIFAR's: a random smooth map (sine
  features, then a sigmoid readout, bicubically upsampled from 8x8) of a 40-dimensional
  Gaussian latent, plus pixel noise (sd 0.01); TwoNN reads an ID of about 30 at N = 5000
  (printed).
- cifar10: the first N CIFAR-10 training images, when data/cifar10 holds them.
Usage: python benchmarks/geometry.py [--data digits|hard|cifar10] [--n 5000] [--epochs 0]
(a trained network ranks fewer neighbours inside the target's list).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HARD_LATENT, HARD_NOISE = 40, 0.01


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2 ** 20


def hard_images(n: int, seed: int = 0):
    """n distinct CIFAR-shaped images on a smooth HARD_LATENT-dimensional manifold, plus noise."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, HARD_LATENT, generator=generator)
    w1 = torch.randn(HARD_LATENT, 128, generator=generator) / HARD_LATENT ** 0.5
    phase = torch.rand(128, generator=generator) * 2 * torch.pi
    w2 = torch.randn(128, 3 * 8 * 8, generator=generator) / 128 ** 0.5
    coarse = torch.sigmoid(2 * torch.sin(z @ w1 + phase) @ w2).reshape(n, 3, 8, 8)
    images = torch.nn.functional.interpolate(coarse, size=32, mode="bicubic", align_corners=False)
    return (images + HARD_NOISE * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def _points(kind: str, n: int):
    """(training splits, the n points analysed) for a data kind; None when not on disk."""
    import torch

    from vae_core.data import DatasetMissingError, DatasetSplits, load_dataset

    if kind == "hard":
        x = hard_images(n + 2000)
        return DatasetSplits("hard", {}, x[n:n + 1000], x[n + 1000:], x[:n]), x[:n]
    if kind == "cifar10":
        try:
            data = load_dataset("cifar10", seed=0, val_fraction=0.2, resize=32)
        except DatasetMissingError as error:
            print(f"--data cifar10 skipped: {error}")
            return None
        return data, data.train[:n]
    data = load_dataset("digits", seed=0, val_fraction=0.2, resize=32)
    images = torch.cat([data.train, data.val, data.test])
    x = images[torch.arange(n) % len(images)]
    return data, (x + 0.05 * torch.rand(x.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)


def make_store(folder: Path, kind: str, n: int, epochs: int) -> bool:
    """S0's network (latent 16; initial weights, or trained `epochs` on the data) on n points."""
    import torch

    from vae_core.analysis.representations import capture, layer_spec
    from vae_core.models import build_model, model_config
    from vae_core.training.trainer import Trainer, TrainerConfig

    found = _points(kind, n)
    if found is None:
        return False
    data, x = found
    torch.manual_seed(0)
    model = build_model(model_config({"family": "vae", "arch": "conv32", "latent_size": 16}),
                        tuple(x.shape[1:]))
    Trainer(model, data, TrainerConfig(epochs=epochs, batch_size=256)).fit()
    store = capture(model, x, layer_spec(model), folder)
    (folder / "shapes.json").write_text(json.dumps(store.shapes))
    return True


def input_id(folder: Path) -> float:
    from vae_core.analysis.geometry import knn, twonn_id

    return twonn_id(knn(_load_store(folder).load("l00"), 10))


def gemm_rate(folder: Path) -> tuple[float, float]:
    """Best of three float32 GEMM rates of the product routine the code uses, on the block
    shape it uses for N points, at the widest layer's width: flop per second of wall time
    and flop per CPU second (all threads; on a shared machine the wall rate drifts with the
    load, the CPU rate much less)."""
    import torch

    from vae_core.analysis.distance_blocks import block_rows, gemm

    shapes = _load_store(folder).shapes.values()
    n, width = next(iter(shapes))[0], max(d for _, d in shapes)
    side = block_rows(n, torch.device("cpu"))
    a, b, bias = torch.randn(side, width), torch.randn(side, width), torch.randn(side)
    gemm(a, b, bias)
    wall, cpu = float("inf"), float("inf")
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        gemm(a, b, bias)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    flops = 2 * side * side * width
    return flops / wall, flops / cpu


def _load_store(folder: Path):
    from vae_core.analysis.representations import LayerStore

    store = LayerStore(folder)
    store.shapes = {k: tuple(v) for k, v in json.loads((folder / "shapes.json").read_text()).items()}
    return store


def route_ours(folder: Path) -> dict:
    from vae_core.analysis.layer_geometry import layer_geometry

    result = layer_geometry(_load_store(folder), k=64)
    return {"ids": list(result.ids.values()), "to_first": list(result.to_first.values()),
            "forward": list(result.forward.values()), "result": result}


def _row_shares(result) -> dict:
    """Shares of (target layer, point) pairs: `beyond`, some source layer's rank is not decided
    by the target's k-list (the rows a search by lists alone would recompute); `recomputed`,
    the rows recomputed here (the other ranks are counted in a layer's own pass)."""
    from vae_core.analysis.geometry import listed_ranks
    from vae_core.analysis.layer_geometry import _sources

    beyond = [np.mean(listed_ranks(np.stack([result.neighbours[s].nearest for s in src]),
                                   result.neighbours[target])[1].any(0))
              for target, src in _sources(result.layers).items()]
    n = len(result.neighbours[result.layers[0]].indices)
    return {"beyond": float(np.mean(beyond)),
            "recomputed": float(np.mean(list(result.recomputed_rows.values())) / n)}


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

    rate = gemm_rate(folder) if route == "ours" else None
    baseline = _current_rss_mib()
    start, start_cpu = time.perf_counter(), time.process_time()
    values = {"ours": route_ours, "dadapy": route_dadapy}[route](folder)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
    if "result" in values:  # counted after the clock stopped
        values.update(_row_shares(values.pop("result")))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mib": _rss_mib() - baseline,
                      "values": values, "gemm_rate": rate}))


def report(results: dict, n: int, widths: list[int]) -> None:
    ours, ref = results["ours"], results["dadapy"]
    id_gap = np.max(np.abs(np.subtract(ours["values"]["ids"], ref["values"]["ids"])))
    ii_gap = np.max(np.abs(np.subtract(ours["values"]["to_first"] + ours["values"]["forward"],
                                       ref["values"]["to_first"] + ref["values"]["forward"])))
    flops = n * n / 2 * sum(widths) * 2
    print(f"{'':22}{'ours':>12}{'dadapy full':>14}{'ratio':>10}{'GEMM floor':>13}{'ours/floor':>12}")
    for label, key, rate in (("wall time (s)", "seconds", ours["gemm_rate"][0]),
                             ("CPU time (s)", "cpu_seconds", ours["gemm_rate"][1])):
        print(f"{label:22}{ours[key]:12.1f}{ref[key]:14.1f}{ref[key] / ours[key]:9.1f}x"
              f"{flops / rate:13.1f}{ours[key] * rate / flops:11.2f}x")
    print(f"{'peak memory (MiB)':22}{ours['peak_mib']:12.0f}{ref['peak_mib']:14.0f}"
          f"{ref['peak_mib'] / ours['peak_mib']:9.1f}x")
    print(f"float32 GEMM rate {ours['gemm_rate'][0] / 1e9:.0f} GFLOP/s wall, "
          f"{ours['gemm_rate'][1] / 1e9:.0f} GFLOP per CPU second; max |ID difference| {id_gap:.2e}; "
          f"max |II difference| {ii_gap:.2e}")
    shares = ours["values"]
    print(f"(target layer, point) pairs with a rank beyond the k-list: {100 * shares['beyond']:.1f}%; "
          f"distance rows recomputed: {100 * shares['recomputed']:.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="digits", choices=["digits", "hard", "cifar10"])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=0, help="train the network first (0: initial weights)")
    parser.add_argument("--route", default="")
    parser.add_argument("--folder", default="")
    args = parser.parse_args()
    if args.route:
        child(args.route, Path(args.folder))
        return
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not make_store(folder, args.data, args.n, args.epochs):
            return
        widths = [d for _, d in json.loads((folder / "shapes.json").read_text()).values()]
        print(f"data {args.data}, N = {args.n}; network trained {args.epochs} epochs; layer widths: "
              f"{widths}; TwoNN ID of the input: {input_id(folder):.1f}")
        results = {}
        for route in ("ours", "dadapy"):
            out = subprocess.run([sys.executable, __file__, "--route", route, "--folder", str(folder)],
                                 capture_output=True, text=True, check=True)
            results[route] = json.loads(out.stdout.strip().splitlines()[-1])
    report(results, args.n, widths)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
