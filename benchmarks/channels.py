"""S1's pairwise channel analysis (information, NMI and VI of every pair of channels) for 50
models x 10 channels on a fingerprint of M = 300 and M = 1000 points, two ways, on CPU:

- ours (`vae_core.analysis.channels.pair_information`): chunks of fingerprint rows; per row
  the C x C sums sum_j A_U(i, j) A_V(i, j) of every pair as one batched matrix product.
- per-pair (the seed's route, with log-sum-exp): every channel's M x M Bhattacharyya matrix
  stored, then a double loop over the pairs U <= V, each with its own M x M log-sum-exp:
  "per-pair/scipy" calls scipy.special.logsumexp (the straightforward way), "per-pair/numpy"
  is a hand-written max-shifted numpy log-sum-exp (two to three times faster: the strongest
  per-pair baseline).

Data as hard as real ensembles: 5 ground-truth factors on M distinct fingerprint points
(a 3-valued shape, a scale, an angle, two positions); each model has 6 live channels (noisy
monotone maps of one factor or of a mix of two, per-point sigma between 0.05 and 0.5) and 4
dead ones (mu ~ 0, sigma ~ 1), in a random order per model.

Each route runs in its own process (threads fixed by --threads for both); peak memory is that
process's maximum resident set size minus its size before the work. Times: CPU seconds (the
ratio's basis: on a shared machine a one-thread route's CPU time is its work) and wall
seconds. Where a per-pair route would take too long (per-pair/scipy always; per-pair/numpy
above --full-up-to), it runs on all pairs of --sample-channels random channels, and its
seconds are extrapolated to all pairs (matrices: per channel; pairs: per pair); its memory is
then the C x M x M matrices it would store. Values are compared on the
pairs both computed: I(X;U) and VI on all of them, NMI where both channels carry at least
0.01 bits (for dead channels 2 I(X;U) - I(X;U,U') is of second order in D, and NMI is 0 / 0 in
rounding, in either route; the analysis drops them).

    .venv/bin/python benchmarks/channels.py [--m 300 1000] [--threads 1] [--full-up-to 300]
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
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS, PER_MODEL, LIVE = 50, 10, 6


def make_channels(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(M, 500) means and log variances of an ensemble on a fingerprint (see the module doc)."""
    rng = np.random.default_rng(seed)
    factors = np.column_stack([rng.integers(0, 3, m), rng.uniform(0.5, 1, m), rng.uniform(0, 2 * np.pi, m),
                               rng.uniform(0, 1, m), rng.uniform(0, 1, m)])
    factors = (factors - factors.mean(0)) / factors.std(0)
    mus, logvars = [], []
    for _ in range(MODELS):
        mu, logvar = np.empty((m, PER_MODEL)), np.empty((m, PER_MODEL))
        for k in range(LIVE):
            a, b = rng.choice(5, 2, replace=False)
            weight = rng.uniform(0.6, 1.0)
            signal = weight * factors[:, a] + (1 - weight) * factors[:, b]
            slope = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
            mu[:, k] = np.tanh(slope * signal) + 0.05 * rng.normal(size=m)
            logvar[:, k] = 2 * np.log(rng.uniform(0.05, 0.5)) + 0.3 * rng.normal(size=m)
        mu[:, LIVE:] = 0.01 * rng.normal(size=(m, PER_MODEL - LIVE))
        logvar[:, LIVE:] = 0.05 * rng.normal(size=(m, PER_MODEL - LIVE))
        order = rng.permutation(PER_MODEL)
        mus.append(mu[:, order])
        logvars.append(logvar[:, order])
    return np.concatenate(mus, 1), np.concatenate(logvars, 1)


def _numpy_logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.log(np.exp(x - top).sum(axis=axis)) + np.squeeze(top, axis)


LOGSUMEXP = {"per-pair/scipy": logsumexp, "per-pair/numpy": _numpy_logsumexp}


def _row_bits(neg_d: np.ndarray, lse: Callable[..., np.ndarray]) -> float:
    """-(1/M) sum_i log2[(1/M) sum_j exp(neg_d(i, j))], one M x M log-sum-exp."""
    return float(-(lse(neg_d, axis=1) - np.log(neg_d.shape[1])).mean() / np.log(2))


def _clock() -> np.ndarray:
    """(wall, CPU) seconds: on a shared machine the CPU time of a one-thread route is its work,
    the wall time also the other processes' share."""
    return np.array([time.perf_counter(), time.process_time()])


def per_pair(mu: np.ndarray, logvar: np.ndarray, channels: np.ndarray, lse: Callable[..., np.ndarray]
             ) -> dict[str, object]:
    """The seed's route on `channels`: store their matrices, then loop over pairs U <= V."""
    start = _clock()
    var = np.exp(logvar[:, channels])
    d = np.empty((len(channels), len(mu), len(mu)))
    for n, c in enumerate(channels):
        vs = var[:, n, None] + var[None, :, n]
        d[n] = (mu[:, c, None] - mu[None, :, c]) ** 2 / (4 * vs) + 0.5 * np.log(
            vs / (2 * np.sqrt(var[:, n, None] * var[None, :, n])))
    matrices = _clock() - start
    info = np.array([_row_bits(-x, lse) for x in d])
    twice = np.array([_row_bits(-2 * x, lse) for x in d])
    nmi, vi = np.zeros((len(d), len(d))), np.zeros((len(d), len(d)))
    for u in range(len(d)):
        for v in range(u, len(d)):
            joint = _row_bits(-(d[u] + d[v]), lse)
            nmi[u, v] = nmi[v, u] = (info[u] + info[v] - joint) / np.sqrt((2 * info[u] - twice[u])
                                                                          * (2 * info[v] - twice[v]))
            vi[u, v] = vi[v, u] = 2 * joint - twice[u] - twice[v]
    return {"matrices_s": matrices.tolist(), "pairs_s": (_clock() - start - matrices).tolist(), "info": info,
            "nmi": nmi, "vi": vi}


def _current_rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2 ** 20


def child(route: str, m: int, sample: int, threads: int, out: Path) -> None:
    import torch

    from vae_core.analysis.channels import pair_information

    torch.set_num_threads(threads)
    mu, logvar = make_channels(m)
    channels = np.arange(mu.shape[1])
    if route != "ours" and sample < len(channels):
        channels = np.sort(np.random.default_rng(1).choice(channels, sample, replace=False))
    before = _current_rss_mib()
    start = _clock()
    if route == "ours":
        information = pair_information(mu, logvar)
        pairs = information.pairs()
        result = {"seconds": (_clock() - start).tolist(), "info": information.info, "nmi": pairs["nmi"],
                  "vi": pairs["vi"]}
    else:
        result = per_pair(mu, logvar, channels, LOGSUMEXP[route])
        result["seconds"] = (np.add(result["matrices_s"], result["pairs_s"])).tolist()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    np.savez(out, channels=channels, **{key: result.pop(key) for key in ("info", "nmi", "vi")})
    out.with_suffix(".json").write_text(json.dumps({**result, "peak_mib": peak}))


def run(route: str, m: int, sample: int, threads: int, folder: Path) -> tuple[dict, dict]:
    out = folder / f"{route.replace('/', '_')}_{m}.npz"
    env = {**os.environ, **{k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                      "MKL_NUM_THREADS")}}
    subprocess.run([sys.executable, __file__, "--child", route, "--m", str(m), "--sample-channels",
                    str(sample), "--threads", str(threads), "--out", str(out)], check=True, env=env)
    return json.loads(out.with_suffix(".json").read_text()), dict(np.load(out))


def _reference_line(m: int, route: str, ours: dict, ours_values: dict, full: bool, sample: int, threads: int,
                    folder: Path) -> str:
    c = MODELS * PER_MODEL
    ref, ref_values = run(route, m, c if full else sample, threads, folder)
    picked = ref_values["channels"]
    block = np.ix_(picked, picked)
    live = ref_values["info"] >= 0.01  # NMI of dead channels is 0 / 0 in rounding, in both routes
    d_nmi = np.abs(ours_values["nmi"][block] - ref_values["nmi"])[np.ix_(live, live)].max()
    d_vi = max(np.abs(ours_values["vi"][block] - ref_values["vi"]).max(),
               np.abs(ours_values["info"][picked] - ref_values["info"]).max())
    if full:
        ref_seconds, ref_mib = np.array(ref["seconds"]), ref["peak_mib"]
        note = f"all {c * (c + 1) // 2} pairs"
    else:
        n, total = len(picked), c * (c + 1) // 2
        ref_seconds = (np.array(ref["matrices_s"]) * c / n
                       + np.array(ref["pairs_s"]) * total / (n * (n + 1) // 2))
        ref_mib = c * m * m * 8 / 2 ** 20
        note = (f"EXTRAPOLATED from all {n * (n + 1) // 2} pairs of {n} random channels "
                f"(measured {ref['seconds'][1]:.1f} CPU s); memory = the {c} stored matrices")
    ratio = ref_seconds / np.array(ours["seconds"])
    return (f"{m:>5}  {route:<15} {ref_seconds[1]:>9.1f} {ref_seconds[0]:>9.1f} {ref_mib:>9.0f}   "
            f"{d_nmi:>9.1e} {d_vi:>10.1e}   x{ratio[1]:>6.1f} (wall x{ratio[0]:.1f})   {note}")


def benchmark(m: int, threads: int, full: bool, sample: int, folder: Path) -> None:
    ours, ours_values = run("ours", m, MODELS * PER_MODEL, threads, folder)
    print(f"{m:>5}  {'ours':<15} {ours['seconds'][1]:>9.2f} {ours['seconds'][0]:>9.2f} "
          f"{ours['peak_mib']:>9.0f}", flush=True)
    for route in LOGSUMEXP:  # scipy's is the slower: sampled always (its per-pair cost is steady)
        complete = full and route == "per-pair/numpy"
        print(_reference_line(m, route, ours, ours_values, complete, sample, threads, folder), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, nargs="+", default=[300, 1000])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full-up-to", type=int, default=300,
                        help="largest M whose per-pair/numpy run is complete")
    parser.add_argument("--sample-channels", type=int, default=40)
    parser.add_argument("--child", choices=["ours", *LOGSUMEXP])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.m[0], args.sample_channels, args.threads, args.out)
        return
    print(f"S1 pairwise analysis, {MODELS} models x {PER_MODEL} channels (C = {MODELS * PER_MODEL}), "
          f"{args.threads} thread(s) per route, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    header = ("M", "route", "CPU s", "wall s", "peak MiB", "max|dNMI|", "max|dI,VI|")
    print("{:>5}  {:<15} {:>9} {:>9} {:>9}   {:>9} {:>10}   ratio of CPU s".format(*header))
    with tempfile.TemporaryDirectory() as folder:
        for m in args.m:
            benchmark(m, args.threads, m <= args.full_up_to, args.sample_channels, Path(folder))


if __name__ == "__main__":
    main()
